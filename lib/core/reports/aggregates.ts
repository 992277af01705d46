// Report aggregates: what each campaign, rule, offer, channel, segment, journey step and run
// achieved per day, counted from the changes of the decisions table (a decision with its
// candidates; an outbox message as dispatch and feedback update it). Pure: the app layer feeds it
// the stream's old and new images (or, for a rebuild, every stored item as new), the repository
// adds the increments.
//
// How each figure is counted (docs/reports.md):
// - decided: one per candidate (a rule that matched), on the decision's day;
// - chosen / deferred / suppressed.<outcome>: the candidate's arbitration outcome;
// - sent, failed: the outbox message's status becoming `sent` / `failed`;
// - delivered, opened, clicked, bounced, complained, displayed, unsubscribed: the first time the
//   message gets that time (feedback keeps only the first, so duplicated feedback changes nothing
//   and is not counted again). Every message figure counts on the message's creation day, the
//   send's day: an open two days later still counts on the day of the send;
// - treatment / control: customers, counted once per campaign on their first decision in it
//   (chosen or deferred: treatment; holdout or global control: control) — the repository keeps
//   the exposure that makes it once;
// - converted / revenue (and controlConverted / controlRevenue): a goal reached within the window
//   after the exposure, counted on the exposure's day;
// - pointsEarned / pointsSpent: added by loyalty through the same increments;
// - attributedSales / attributedRevenue: a POS sale attributed to the decision (docs/loyalty.md),
//   kept on the decision item (`attributions`, a list, one entry per sale), counted when its entry appears,
//   on the sale's day, under the attributed campaign and offer.
import { OUTCOMES, type Outcome } from '../decide.ts';

/**
 * What a figure is counted under. New kinds plug in by name: a run, a segment or a journey step
 * are read from the candidate or message attributes `runId`, `segmentId`, `journeyId`+`stepId`.
 */
export const DIMENSION_KINDS = ['campaign', 'rule', 'offer', 'channel', 'segment', 'journey', 'step', 'run'] as const;
export type DimensionKind = (typeof DIMENSION_KINDS)[number];
export interface Dimension {
  readonly kind: DimensionKind;
  readonly id: string;
}

export const SUPPRESSED = OUTCOMES.filter((o): o is Exclude<Outcome, 'chosen' | 'deferred'> => o !== 'chosen' && o !== 'deferred');
export type SuppressedReason = (typeof SUPPRESSED)[number];

export const MESSAGE_FIGURES = ['sent', 'failed', 'delivered', 'opened', 'clicked', 'bounced', 'complained', 'displayed', 'unsubscribed'] as const;
export const FIGURES = [
  'decided',
  'chosen',
  'deferred',
  ...MESSAGE_FIGURES,
  'treatment',
  'control',
  'converted',
  'revenue',
  'controlConverted',
  'controlRevenue',
  'pointsEarned',
  'pointsSpent',
  'attributedSales',
  'attributedRevenue',
] as const;
export type Figure = (typeof FIGURES)[number] | `suppressed.${SuppressedReason}`;
export type Counts = Partial<Record<Figure, number>>;

/** Figures to add to one dimension's cell for one day. */
export interface Increment {
  readonly dimension: Dimension;
  /** The UTC day the figures count on (yyyy-mm-dd). */
  readonly day: string;
  readonly counts: Counts;
}

/** The message time that makes each message figure, and the status for sent/failed. */
export const FIELD_FIGURE = {
  deliveredAt: 'delivered',
  openedAt: 'opened',
  clickedAt: 'clicked',
  bouncedAt: 'bounced',
  complainedAt: 'complained',
  displayedAt: 'displayed',
  unsubscribedAt: 'unsubscribed',
} as const satisfies Record<string, (typeof MESSAGE_FIGURES)[number]>;

export const dayOf = (iso: string): string => {
  const ms = Date.parse(iso);
  if (!Number.isFinite(ms)) throw new RangeError('a report time must be an ISO 8601 time');
  return new Date(ms).toISOString().slice(0, 10);
};

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Journey sends are rules named `journey:<journeyId>:<stepId>` (lib/core/journeys/evaluate.ts). */
function journeyOf(item: Record<string, unknown>, ruleId: string | undefined): { journeyId: string; stepId: string } | undefined {
  const journeyId = text(item.journeyId);
  const stepId = text(item.stepId);
  if (journeyId && stepId) return { journeyId, stepId };
  const m = ruleId ? /^journey:([^:]+):(.+)$/.exec(ruleId) : null;
  return m ? { journeyId: m[1]!, stepId: m[2]! } : undefined;
}

/** Every dimension a candidate or message (with its decision's attributes) counts under. */
export function dimensionsOf(item: Record<string, unknown>, decision: Record<string, unknown> = {}): Dimension[] {
  const out: Dimension[] = [];
  const add = (kind: DimensionKind, id: string | undefined) => id && out.push({ kind, id });
  const ruleId = text(item.ruleId);
  add('campaign', text(item.campaignId));
  add('rule', ruleId);
  add('channel', text(item.channel));
  add('offer', text(item.offer));
  add('segment', text(item.segmentId) ?? text(decision.segmentId));
  add('run', text(item.runId) ?? text(decision.runId));
  const journey = journeyOf(item, ruleId);
  if (journey) {
    add('journey', journey.journeyId);
    add('step', `${journey.journeyId}/${journey.stepId}`);
  }
  return out;
}

export type Group = 'treatment' | 'control';

/** Which group a candidate puts its customer in for its campaign, if any. */
export function groupOf(outcome: string): Group | undefined {
  if (outcome === 'chosen' || outcome === 'deferred') return 'treatment';
  if (outcome === 'holdout' || outcome === 'global-control') return 'control';
  return undefined;
}

/** A campaign a decision exposed its customer to, as treatment or control. */
export interface Exposure {
  readonly customerId: string;
  readonly campaignId: string;
  readonly group: Group;
  readonly day: string;
  readonly at: string;
  readonly dimensions: readonly Dimension[];
}

/** What a decisions-table item is (the repository tells from its key): a decision, or an outbox message. */
export type ItemKind = 'decision' | 'message';

export interface ItemChange {
  readonly kind: ItemKind | undefined;
  readonly newItem?: Record<string, unknown> | undefined;
  readonly oldItem?: Record<string, unknown> | undefined;
}

/** What one change of a decisions-table item adds: increments, and the exposures it may start. */
export function countChange(change: ItemChange): { increments: Increment[]; exposures: Exposure[] } {
  const item = change.newItem;
  if (!item) return { increments: [], exposures: [] };
  if (change.kind === 'decision') {
    const attributed = countAttributions(item, change.oldItem);
    if (change.oldItem) return { increments: attributed, exposures: [] };
    const counted = countDecision(item);
    return { increments: [...counted.increments, ...attributed], exposures: counted.exposures };
  }
  if (change.kind === 'message') return { increments: countMessage(item, change.oldItem), exposures: [] };
  return { increments: [], exposures: [] };
}

function countDecision(decision: Record<string, unknown>): { increments: Increment[]; exposures: Exposure[] } {
  const at = String(decision.at);
  const day = dayOf(at);
  const increments: Increment[] = [];
  const exposures = new Map<string, Exposure>();
  for (const c of (decision.candidates ?? []) as Record<string, unknown>[]) {
    const outcome = String(c.outcome);
    const counts: Counts = { decided: 1 };
    if (outcome === 'chosen' || outcome === 'deferred') counts[outcome] = 1;
    else if ((SUPPRESSED as readonly string[]).includes(outcome)) counts[`suppressed.${outcome as SuppressedReason}`] = 1;
    const dimensions = dimensionsOf(c, decision);
    for (const dimension of dimensions) increments.push({ dimension, day, counts });
    const group = groupOf(outcome);
    const campaignId = text(c.campaignId);
    // The first candidate of a campaign in the decision stands for it (the highest priority).
    if (group && campaignId && !exposures.has(campaignId)) {
      exposures.set(campaignId, { customerId: String(decision.customerId), campaignId, group, day, at, dimensions });
    }
  }
  return { increments, exposures: [...exposures.values()] };
}

function countMessage(item: Record<string, unknown>, old: Record<string, unknown> | undefined): Increment[] {
  const created = text(item.createdAt);
  if (!created) return [];
  const counts: Counts = {};
  const became = (status: string) => item.status === status && old?.status !== status;
  if (became('sent')) counts.sent = 1;
  if (became('failed')) counts.failed = 1;
  for (const [field, figure] of Object.entries(FIELD_FIGURE)) {
    if (item[field] !== undefined && old?.[field] === undefined) counts[figure] = 1;
  }
  if (!Object.keys(counts).length) return [];
  const day = dayOf(created);
  // Decision-level attributes (run, segment) are copied onto the message by whoever sets them.
  return dimensionsOf(item).map((dimension) => ({ dimension, day, counts }));
}

/** A sale attributed to a decision, as the attribution store keeps it on the decision item. */
export interface AttributionOnDecision {
  readonly saleId: string;
  readonly campaignId: string;
  readonly offer?: string;
  readonly revenue: number;
  /** When the sale happened: the figures count on its day. */
  readonly at: string;
}

/** The sales newly attributed to a decision (entries of `attributions` the old image did not have). */
function countAttributions(item: Record<string, unknown>, old: Record<string, unknown> | undefined): Increment[] {
  const now = (Array.isArray(item.attributions) ? item.attributions : []) as AttributionOnDecision[];
  const before = new Set((Array.isArray(old?.attributions) ? old.attributions : []).map((a: AttributionOnDecision) => a.saleId));
  return now
    .filter((a) => !before.has(a.saleId))
    .flatMap((a) => {
      const day = dayOf(a.at);
      const counts: Counts = { attributedSales: 1, attributedRevenue: Number(a.revenue) };
      return dimensionsOf({ campaignId: a.campaignId, offer: a.offer }).map((dimension) => ({ dimension, day, counts }));
    });
}

/** The increments a reached goal adds for one exposure. */
export function conversionIncrements(exposure: Pick<Exposure, 'group' | 'day' | 'dimensions'>, revenue: number): Increment[] {
  const counts: Counts = exposure.group === 'treatment' ? { converted: 1, revenue } : { controlConverted: 1, controlRevenue: revenue };
  return exposure.dimensions.map((dimension) => ({ dimension, day: exposure.day, counts }));
}

/** The group-size increments of an exposure counted for the first time. */
export function exposureIncrements(exposure: Exposure): Increment[] {
  return exposure.dimensions.map((dimension) => ({ dimension, day: exposure.day, counts: { [exposure.group]: 1 } }));
}

const cellKey = (i: Pick<Increment, 'dimension' | 'day'>) => `${i.dimension.kind}\u0000${i.dimension.id}\u0000${i.day}`;

export function addCounts(into: Counts, more: Counts): Counts {
  const target = into as Record<string, number>;
  for (const [k, v] of Object.entries(more)) if (v) target[k] = (target[k] ?? 0) + v;
  return into;
}

/** Increments folded into one per dimension and day (the order does not matter). */
export function fold(increments: Iterable<Increment>): Increment[] {
  const cells = new Map<string, { dimension: Dimension; day: string; counts: Counts }>();
  for (const i of increments) {
    const key = cellKey(i);
    const cell = cells.get(key) ?? { dimension: i.dimension, day: i.day, counts: {} };
    addCounts(cell.counts, i.counts);
    cells.set(key, cell);
  }
  return [...cells.values()];
}
