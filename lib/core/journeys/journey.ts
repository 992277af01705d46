// A journey as marketers keep it in the campaigns table beside its campaign (docs/journeys.md): an
// entry, a list of steps (send, wait, branch, setState, action, exit) and a goal. Validated with zod
// and then as a graph (every step reachable, no cycle without a wait, targets exist) at write, and
// again at load (an invalid item is skipped with its reason; the last good version stays).
import { z } from 'zod';
import { MESSAGE_CHANNELS, type Channel } from '../../../events/catalog.ts';
import { itemDescription, itemIdSchema as id, itemPriority, itemVersion, patternSchema as pattern } from '../rules/item.ts';
import { isTimeZone } from '../campaigns/quiet-hours.ts';


/** Step ids name positions in the journey; like item ids, so they fit schedule names. */
export const STEP_ID = /^[a-z0-9][a-z0-9-]{0,39}$/;
const stepId = z.string().regex(STEP_ID, 'a step id: lower-case letters, digits and dashes, at most 40');

export const durationSchema = z
  .object({
    days: z.number().int().min(0).max(365).optional(),
    hours: z.number().int().min(0).max(24 * 365).optional(),
    minutes: z.number().int().min(0).max(60 * 24 * 365).optional(),
  })
  .strict()
  .refine((d) => (d.days ?? 0) + (d.hours ?? 0) + (d.minutes ?? 0) > 0, 'a duration of at least one minute: days, hours and/or minutes');
export type Duration = z.infer<typeof durationSchema>;

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a wall-clock time HH:MM, 00:00 to 23:59');

/** What a send asks the arbitration for: the same fields as a rule's `then`. */
export const sendSpec = {
  // A journey step sends a message; booking a call is a rule's (`channel: call`, docs/channels.md).
  channel: z.enum(MESSAGE_CHANNELS),
  template: id,
  offer: z.string().min(1).max(64).optional(),
  /** Transactional messages skip marketing consent, caps and quiet hours (stated explicitly). */
  transactional: z.boolean().default(false),
  /** Ranks the send against rules and other journeys of the same campaign priority; the journey's when absent. */
  priority: itemPriority.optional(),
};

const sendStep = z
  .object({
    id: stepId,
    type: z.literal('send'),
    ...sendSpec,
    /** An event matching it after the send makes the send's answer `converted`. */
    conversion: pattern.optional(),
    next: stepId.optional(),
  })
  .strict();

const meanwhile = z
  .object({
    id: stepId,
    /** An event matching it while the customer waits in this step sends the message, once per wait. */
    event: pattern,
    send: z.object(sendSpec).strict(),
  })
  .strict();

const waitStep = z
  .object({
    id: stepId,
    type: z.literal('wait'),
    /** Wait this long (the timeout when `event` is given). */
    duration: durationSchema.optional(),
    /** Wait until the next time the customer's wall clock shows this time (their time zone). */
    until: z.object({ time: hhmm }).strict().optional(),
    /** Wait for an event matching it; the duration or `until` is then the timeout. */
    event: pattern.optional(),
    /** Where the awaited event leads (default: the next step). */
    next: stepId.optional(),
    /** Where the timeout leads when `event` is given (default: `next`). */
    timeoutNext: stepId.optional(),
    meanwhile: z.array(meanwhile).max(10).optional(),
  })
  .strict()
  .refine((w) => (w.duration ? 1 : 0) + (w.until ? 1 : 0) === 1, { message: 'a wait needs exactly one of duration or until (the timeout when waiting for an event)', path: ['duration'] })
  .refine((w) => w.event !== undefined || w.timeoutNext === undefined, { message: 'timeoutNext only goes with event', path: ['timeoutNext'] });

/** What a customer may have answered to an earlier send. */
export const ANSWERS = ['delivered', 'opened', 'clicked', 'converted', 'bounced', 'no-answer', 'not-sent'] as const;
export type Answer = (typeof ANSWERS)[number];

const branchStep = z
  .object({
    id: stepId,
    type: z.literal('branch'),
    /** Branch on the customer's answer to this earlier send step. */
    answerOf: stepId.optional(),
    /** Tried in order; the first that holds is taken. */
    cases: z
      .array(z.union([z.object({ answer: z.enum(ANSWERS), next: stepId }).strict(), z.object({ state: pattern, next: stepId }).strict()]))
      .max(20)
      .optional(),
    /** A deterministic random split (A/B): shares in percent summing to 100, per customer and entry. */
    split: z.array(z.object({ share: z.number().int().min(1).max(100), next: stepId }).strict()).min(2).max(10).optional(),
    otherwise: stepId.optional(),
  })
  .strict()
  .superRefine((b, ctx) => {
    const kinds = (b.cases ? 1 : 0) + (b.split ? 1 : 0);
    if (kinds !== 1) ctx.addIssue({ code: 'custom', message: 'a branch needs exactly one of cases or split', path: ['cases'] });
    if (b.split && b.split.reduce((s, c) => s + c.share, 0) !== 100) ctx.addIssue({ code: 'custom', message: 'split shares must sum to 100', path: ['split'] });
    if (b.split && b.otherwise) ctx.addIssue({ code: 'custom', message: 'a split takes no otherwise', path: ['otherwise'] });
    const answers = b.cases?.filter((c) => 'answer' in c).length ?? 0;
    if (answers > 0 && answers !== b.cases!.length) ctx.addIssue({ code: 'custom', message: 'cases are all answers or all state patterns, not both', path: ['cases'] });
    if (answers > 0 && !b.answerOf) ctx.addIssue({ code: 'custom', message: 'answer cases need answerOf, the send step they ask about', path: ['answerOf'] });
    if (answers === 0 && b.answerOf) ctx.addIssue({ code: 'custom', message: 'answerOf goes with answer cases', path: ['answerOf'] });
    if (b.cases && !b.otherwise) ctx.addIssue({ code: 'custom', message: 'a branch with cases needs otherwise, where no case holds', path: ['otherwise'] });
  });

const setStateStep = z
  .object({
    id: stepId,
    type: z.literal('setState'),
    set: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/), z.union([z.string().max(256), z.number(), z.boolean()])),
    next: stepId.optional(),
  })
  .strict();

const actionStep = z
  .object({
    id: stepId,
    type: z.literal('action'),
    action: z.string().min(1).max(128),
    payload: z.record(z.string(), z.unknown()).optional(),
    next: stepId.optional(),
  })
  .strict();

const exitStep = z.object({ id: stepId, type: z.literal('exit') }).strict();

export const stepSchema = z.discriminatedUnion('type', [sendStep, waitStep, branchStep, setStateStep, actionStep, exitStep]);

export const reEntrySchema = z.union([
  z.object({ policy: z.literal('never') }).strict(),
  z.object({ policy: z.literal('always') }).strict(),
  z.object({ policy: z.literal('after'), days: z.number().int().min(1).max(3650) }).strict(),
]);

export const entrySchema = z
  .object({
    /** An event matching it enters the customer (EventBridge pattern, as a rule's `when`). */
    event: pattern.optional(),
    /** Entering this segment enters the customer (the segments' SegmentEntered event). */
    segment: id.optional(),
    /** Only customers whose view matches it enter (as a rule's `if`). */
    state: pattern.optional(),
    reEntry: reEntrySchema.default({ policy: 'never' }),
  })
  .strict()
  .refine((e) => (e.event ? 1 : 0) + (e.segment ? 1 : 0) === 1, { message: 'an entry needs exactly one of event or segment', path: ['event'] });

export const goalSchema = z
  .object({ event: pattern.optional(), state: pattern.optional() })
  .strict()
  .refine((g) => g.event !== undefined || g.state !== undefined, { message: 'a goal needs an event or a state pattern', path: ['event'] });

export const JOURNEY_STATUSES = ['active', 'paused'] as const;

export const journeySchema = z
  .object({
    journeyId: id,
    campaignId: id,
    description: itemDescription,
    /** Paused: no one enters, customers inside stay where they are (goals still exit them). */
    status: z.enum(JOURNEY_STATUSES).default('active'),
    /** The sends' priority against rules of the same campaign priority (higher wins). */
    priority: itemPriority.default(0),
    /** Share (0..0.5) of entering customers held out of every send as a control group. */
    holdout: z.number().min(0).max(0.5).default(0),
    /** The time zone waits use when the customer's profile has none. */
    timeZone: z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin').default('UTC'),
    entry: entrySchema,
    goal: goalSchema.optional(),
    steps: z.array(stepSchema).min(1).max(100),
    version: itemVersion,
  })
  .strict();

export type Journey = z.infer<typeof journeySchema>;
export type JourneyInput = z.input<typeof journeySchema>;
export type Step = z.infer<typeof stepSchema>;
export type SendStep = Extract<Step, { type: 'send' }>;
export type WaitStep = Extract<Step, { type: 'wait' }>;
export type BranchStep = Extract<Step, { type: 'branch' }>;
export type SendSpec = Pick<SendStep, 'channel' | 'template' | 'offer' | 'transactional' | 'priority'>;

/** The event a segment entry listens for (published by the segments' membership step). */
export const SEGMENT_ENTERED = { source: 'baton.segments', detailType: 'SegmentEntered' } as const;

/** The entry as one event pattern: a segment entry is the segment's SegmentEntered event. */
export function entryPattern(journey: Journey): Record<string, unknown> {
  if (journey.entry.event) return journey.entry.event;
  return { source: [SEGMENT_ENTERED.source], 'detail-type': [SEGMENT_ENTERED.detailType], detail: { segmentId: [journey.entry.segment] } };
}

/** The steps each step may lead to, in order (undefined = the journey ends there). */
export function successors(journey: Journey, index: number): string[] {
  const step = journey.steps[index]!;
  const following = journey.steps[index + 1]?.id;
  const out: (string | undefined)[] = [];
  switch (step.type) {
    case 'send':
    case 'setState':
    case 'action':
      out.push(step.next ?? following);
      break;
    case 'wait':
      out.push(step.next ?? following);
      if (step.event) out.push(step.timeoutNext ?? step.next ?? following);
      break;
    case 'branch':
      for (const c of step.cases ?? []) out.push(c.next);
      for (const s of step.split ?? []) out.push(s.next);
      if (step.otherwise) out.push(step.otherwise);
      break;
    case 'exit':
      break;
  }
  return out.filter((s): s is string => s !== undefined);
}

export const channelsOf = (journey: Journey): Channel[] => [
  ...new Set(
    journey.steps.flatMap((s) => (s.type === 'send' ? [s.channel] : s.type === 'wait' ? (s.meanwhile ?? []).map((m) => m.send.channel) : [])),
  ),
];
