// A customer's position in one journey (kept next to their state, one item per customer and journey)
// and the timers its waits arm. Pure data and names; lib/core/journeys/evaluate.ts moves it.
import { hash } from 'node:crypto';
import type { Channel } from '../../../events/catalog.ts';
import type { Outcome } from '../decide.ts';

export type InstanceStatus = 'active' | 'completed' | 'exited' | 'converted';

/** What became of one send: the arbitration's outcome for it (decide's candidate), and the answer's times. */
export interface SendRecord {
  /** The send step, or `<wait>.<handler>` for a meanwhile send. */
  readonly stepId: string;
  readonly decisionId: string;
  readonly channel: Channel;
  readonly at: string;
  /** `chosen` or `deferred` (held by quiet hours): queued; anything else: not sent, and why. */
  readonly outcome: Outcome | 'pending';
  readonly reason?: string;
  readonly convertedAt?: string;
}

export interface PathEntry {
  readonly stepId: string;
  readonly at: string;
  /** What happened there, for `baton customer show` and `journeys simulate` (no customer data). */
  readonly what: string;
}

export interface JourneyInstance {
  readonly instanceId: string;
  readonly journeyId: string;
  /** The journey version the customer runs on until it ends or is migrated. */
  readonly version: number;
  readonly customerId: string;
  /** How many times this customer has entered the journey (this instance's number). */
  readonly entry: number;
  readonly status: InstanceStatus;
  /** The wait step the customer is in while active. */
  readonly stepId?: string;
  /** Counts the waits entered: part of the timer's name, so each wait's schedule is new. */
  readonly visit: number;
  /** When the wait times out (ISO, whole seconds). */
  readonly dueAt?: string;
  /** The schedule armed for the wait. */
  readonly timer?: string;
  /** Bumped on every write: the commit is conditional on the one read (0 = not stored yet). */
  readonly seq: number;
  readonly enteredAt: string;
  readonly updatedAt: string;
  readonly endedAt?: string;
  readonly endReason?: 'goal' | 'exit-step' | 'end' | 'stuck';
  /** The last step applied: a goal reached counts for it. */
  readonly lastStepId?: string;
  readonly sends: readonly SendRecord[];
  /** Meanwhile handlers already fired in the current wait. */
  readonly fired: readonly string[];
  readonly path: readonly PathEntry[];
}

/** The most path entries an instance keeps (the newest). */
export const MAX_PATH = 100;

/** The detail of a JourneyTimerDue event: which wait of which instance timed out. */
export interface TimerDetail {
  readonly journeyId: string;
  readonly version: number;
  readonly instanceId: string;
  readonly customerId: string;
  readonly stepId: string;
  readonly dueAt: string;
}

/** A schedule to create or delete, written in the same transaction as the step (the timer outbox). */
export type TimerRequest =
  | {
      readonly op: 'create';
      readonly name: string;
      /** Wall-clock `YYYY-MM-DDThh:mm:ss` in `timeZone`, for Scheduler's `at(...)`. */
      readonly at: string;
      readonly timeZone: string;
      readonly detail: TimerDetail;
    }
  | { readonly op: 'delete'; readonly name: string };

export const instanceIdFor = (journeyId: string, customerId: string, entry: number): string =>
  `${journeyId}.${entry}.${hash('sha256', customerId, 'hex').slice(0, 16)}`;

const SAFE = /^[0-9A-Za-z_.-]{1,64}$/;

/** A Scheduler-safe schedule name ([0-9A-Za-z-_.], at most 64): the text itself, or a prefix and a hash. */
export function scheduleName(text: string): string {
  if (SAFE.test(text)) return text;
  const cleaned = text.replace(/[^0-9A-Za-z_.-]/g, '_').slice(0, 39);
  return `${cleaned}-${hash('sha256', text, 'hex').slice(0, 24)}`;
}

export const timerName = (instanceId: string, stepId: string, visit: number): string => scheduleName(`${instanceId}-${stepId}-${visit}`);

/** The event id a timer's schedule carries: the same for every fire of it, so a repeat is a duplicate. */
export function timerEventId(name: string): string {
  const h = hash('sha256', `timer\u0000${name}`, 'hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const isSent = (r: SendRecord): boolean => r.outcome === 'chosen' || r.outcome === 'deferred';
