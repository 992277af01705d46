// An outbound run (docs/campaigns.md): a campaign sent to every member of a segment at a time, in
// UTC or in each member's own wall clock. Pure: the item, its states, the run's event that the
// campaign's rule matches, the key that makes each member's decision happen once, what a decision
// counts as, and each member's due time in their own time zone.
import { z } from 'zod';
import { BatonError } from '../../contract/errors.ts';
import type { Decision } from '../decide.ts';
import type { Campaign } from '../campaigns/campaign.ts';
import { isTimeZone } from '../campaigns/quiet-hours.ts';

/** The source of the event a run decides each member on; a campaign's rule names it in `when`. */
export const RUN_SOURCE = 'baton.runs';
export const RUN_DETAIL_TYPE = 'RunMemberDue';

export const RUN_STATES = ['scheduled', 'running', 'paused', 'cancelled', 'done'] as const;
export type RunState = (typeof RUN_STATES)[number];

/** A pass over the membership: members due in (`after`, `at`] are decided in it (epoch ms). */
export interface RunPass {
  readonly at: number;
  /** The previous pass's `at`: members due by then were decided in an earlier pass. */
  readonly after?: number;
}

/** Where a pass stands in one membership bucket. */
export interface BucketCheckpoint {
  /** The membership page cursor after the last page fully decided; absent before the first. */
  readonly cursor?: string;
  readonly done: boolean;
  /** The earliest due time of a member seen not yet due in this pass (local-time runs). */
  readonly nextDue?: number;
}

export interface Run {
  readonly runId: string;
  readonly campaignId: string;
  readonly segmentId: string;
  /** `--at`: an instant (UTC run) or a wall-clock time `YYYY-MM-DDTHH:MM` (local-time run). */
  readonly at: string;
  readonly localTime: boolean;
  /** Customers per second at most (the run's own rate; capacity may lower it, see `pace`). */
  readonly rate: number;
  readonly state: RunState;
  readonly createdAt: string;
  readonly pass: RunPass;
  /** One checkpoint per membership bucket of the current pass. */
  readonly buckets: readonly BucketCheckpoint[];
  readonly finishedAt?: string;
}

/** What a member's decision counts as in the run's figures. */
export type Tally = 'sent' | 'deferred' | `suppressed:${string}`;

export interface RunCounts {
  readonly decided: number;
  readonly sent: number;
  readonly deferred: number;
  readonly suppressed: Readonly<Record<string, number>>;
}

/** Bad input or a command the run's state does not allow; the message names the field, never a value. */
export class RunError extends BatonError<'invalid-run' | 'run-not-found' | 'segment-not-found' | 'wrong-state' | 'run-contention'> {}

const WALL_CLOCK = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/;
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

export const runRequestSchema = z.object({
  campaignId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a campaign id such as spring-renewal'),
  segmentId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a segment id such as gold'),
  at: z.string(),
  localTime: z.boolean().default(false),
  rate: z.number().positive('a positive number of customers per second').max(100_000, 'at most 100000 customers per second').default(100),
}).superRefine((r, ctx) => {
  if (r.localTime ? !WALL_CLOCK.test(r.at) || Number.isNaN(Date.parse(`${r.at}Z`)) : !INSTANT.test(r.at) || Number.isNaN(Date.parse(r.at))) {
    ctx.addIssue({
      code: 'custom',
      path: ['at'],
      message: r.localTime ? 'with --local-time, a wall-clock time without offset such as 2026-03-10T10:00' : 'an ISO 8601 time with its offset such as 2026-03-10T10:00:00Z (or --local-time for each customer\'s own clock)',
    });
  }
});
export type RunRequest = z.input<typeof runRequestSchema>;

/** Validates a run request; the error names the field and what was expected, never the value. */
export function newRun(input: RunRequest, runId: string, now: Date, buckets: number): Run {
  const parsed = runRequestSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new RunError('invalid-run', `${issue.path.join('.') || 'run'}: expected ${issue.message}`);
  }
  const r = parsed.data;
  return {
    runId,
    campaignId: r.campaignId,
    segmentId: r.segmentId,
    at: r.at,
    localTime: r.localTime,
    rate: r.rate,
    state: 'scheduled',
    createdAt: now.toISOString(),
    // A local-time run starts where the wall-clock time comes first (UTC+14), UTC ones at their instant.
    pass: { at: r.localTime ? dueAt(r.at, true, 'Pacific/Kiritimati') : Date.parse(r.at) },
    buckets: Array.from({ length: buckets }, () => ({ done: false })),
  };
}

/** The decision of one member in one run: keyed by both, so a resumed run never decides them twice. */
export function runMemberEventId(runId: string, customerId: string): string {
  return `run:${runId}:${customerId}`;
}

/** The event the run decides a member on: what the campaign's rule matches (`when`). */
export function runEvent(run: Pick<Run, 'runId' | 'campaignId' | 'segmentId'>, customerId: string, now: Date) {
  return {
    version: '0',
    id: runMemberEventId(run.runId, customerId),
    source: RUN_SOURCE,
    'detail-type': RUN_DETAIL_TYPE,
    time: now.toISOString(),
    detail: { runId: run.runId, campaignId: run.campaignId, segmentId: run.segmentId, customerId },
  } as const;
}

/** What the decision counts as for the run's campaign: sent, deferred (quiet hours) or suppressed and why. */
export function tallyOf(decision: Decision | undefined, campaignId: string): Tally {
  if (!decision) return 'suppressed:no-rule';
  const message = decision.messages.find((m) => m.campaignId === campaignId);
  if (message) return message.notBefore ? 'deferred' : 'sent';
  const own = decision.candidates.filter((c) => c.campaignId === campaignId);
  // The first suppressed candidate of the campaign is the one arbitration ranked highest.
  const why = own.find((c) => c.outcome !== 'chosen' && c.outcome !== 'deferred')?.outcome;
  return `suppressed:${why ?? (own.length ? 'other-channel' : 'no-rule')}`;
}

export function addTally(counts: RunCounts, tally: Tally, n = 1): RunCounts {
  if (tally === 'sent') return { ...counts, decided: counts.decided + n, sent: counts.sent + n };
  if (tally === 'deferred') return { ...counts, decided: counts.decided + n, deferred: counts.deferred + n };
  const reason = tally.slice('suppressed:'.length);
  return { ...counts, decided: counts.decided + n, suppressed: { ...counts.suppressed, [reason]: (counts.suppressed[reason] ?? 0) + n } };
}

export const NO_COUNTS: RunCounts = { decided: 0, sent: 0, deferred: 0, suppressed: {} };

/** The instant a wall-clock time `YYYY-MM-DDTHH:MM` is in a time zone (an hour skipped by DST moves on). */
export function wallClockIn(wall: string, timeZone: string): number {
  const asUtc = Date.parse(`${wall.length === 16 ? `${wall}:00` : wall}Z`);
  // Two rounds of "subtract the zone's offset at the guess" settle on the instant (DST included).
  let guess = asUtc;
  for (let i = 0; i < 2; i++) guess = asUtc - offsetMs(timeZone, guess);
  return guess;
}

function offsetMs(timeZone: string, atMs: number): number {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' }).formatToParts(atMs);
  const get = (type: string) => Number(parts.find((p) => p.type === type)!.value);
  return Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second')) - Math.floor(atMs / 1000) * 1000;
}

/** When a member is due: the run's instant, or its wall-clock time in the member's zone (else `fallbackZone`). */
export function dueAt(at: string, localTime: boolean, timeZone: string | undefined, fallbackZone = 'UTC'): number {
  if (!localTime) return Date.parse(at);
  return wallClockIn(at, timeZone && isTimeZone(timeZone) ? timeZone : fallbackZone);
}

/** Where a due member stands in the current pass. */
export function placeInPass(pass: RunPass, due: number): 'earlier-pass' | 'now' | 'later' {
  if (pass.after !== undefined && due <= pass.after) return 'earlier-pass';
  return due <= pass.at ? 'now' : 'later';
}

/**
 * Customers per second the run goes at: its own rate, and no faster than the campaign's smallest
 * hourly capacity allows, so members are not decided into a window that is already full.
 */
export function pace(run: Pick<Run, 'rate'>, campaign: Pick<Campaign, 'capacityPerHour'> | undefined): number {
  const capacities = Object.values(campaign?.capacityPerHour ?? {}).filter((c): c is number => typeof c === 'number' && c > 0);
  return Math.min(run.rate, ...capacities.map((c) => c / 3600));
}

/** The next pass after every bucket is done, or undefined when no member is left to be due. */
export function nextPass(run: Pick<Run, 'pass' | 'buckets'>): RunPass | undefined {
  const next = Math.min(...run.buckets.map((b) => b.nextDue ?? Infinity));
  return Number.isFinite(next) ? { at: next, after: run.pass.at } : undefined;
}

const MOVES: Record<'pause' | 'resume' | 'cancel', { from: readonly RunState[]; to: RunState }> = {
  pause: { from: ['scheduled', 'running'], to: 'paused' },
  resume: { from: ['paused'], to: 'scheduled' },
  cancel: { from: ['scheduled', 'running', 'paused'], to: 'cancelled' },
};

/** The states a control command may move a run from, and to. */
export function move(command: keyof typeof MOVES): { from: readonly RunState[]; to: RunState } {
  return MOVES[command];
}
