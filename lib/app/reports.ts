// Reports: the aggregates kept as decisions and feedback happen (from the decisions table's
// stream), goals counted as conversions, the reports read from them, and the rebuild that
// recomputes every cell from the stored decisions (docs/reports.md).
import type { BatonEvent } from '../../events/catalog.ts';
import type { AggregatesPort } from './ports.ts';
import {
  countChange,
  conversionIncrements,
  exposureIncrements,
  fold,
  type Counts,
  type DimensionKind,
  type Exposure,
  type Increment,
  type ItemChange,
} from '../core/reports/aggregates.ts';
import { buildReport, type DimensionReport, type Period } from '../core/reports/report.ts';

/** One change of a decisions-table item: the stream record's id and its images (plain objects). */
export interface DecisionChange extends ItemChange {
  readonly id: string;
  readonly newItem?: Record<string, unknown> | undefined;
  readonly oldItem?: Record<string, unknown> | undefined;
  /** Removed by DynamoDB's TTL (the stream says so), not by Baton: an erasure is Baton's removal. */
  readonly expired?: boolean;
}

/** Counts one change exactly once, however often the stream delivers it. */
export function createAggregator(deps: { aggregates: AggregatesPort }): (change: DecisionChange) => Promise<MessageOutcome | undefined> {
  return async function aggregate(change) {
    // A decision removed by Baton is an erasure (the only path that deletes decisions): the
    // customer's exposures go with it, so their hashed id links to nothing. The stream orders a
    // decision's removal after its insert, so no exposure can be made again after this.
    if (!change.newItem && change.oldItem && change.kind === 'decision' && !change.expired) {
      const customerId = change.oldItem.customerId;
      const campaigns = ((change.oldItem.candidates ?? []) as { campaignId?: unknown }[]).map((c) => c.campaignId).filter((c): c is string => typeof c === 'string');
      if (typeof customerId === 'string' && campaigns.length) await deps.aggregates.forgetExposures(customerId, campaigns);
      return undefined;
    }
    const { increments, exposures } = countChange(change);
    const added = increments.length ? await deps.aggregates.add(change.id, increments) : 'already';
    for (const exposure of exposures) await deps.aggregates.expose(exposure);
    if (added !== 'added' || change.kind !== 'message') return undefined;
    const of = (kind: string) => increments.find((i) => i.dimension.kind === kind)?.dimension.id;
    return { channel: of('channel') ?? 'unknown', campaignId: of('campaign') ?? 'unknown', counts: increments[0]!.counts };
  };
}

/** What one message change counted, newly: the dashboard's per channel and campaign metrics. */
export interface MessageOutcome {
  readonly channel: string;
  readonly campaignId: string;
  readonly counts: Counts;
}

/** The goal a conversion is: a completed sale within the window after the customer's first decision in the campaign. */
export const GOAL = { detailType: 'SaleCompleted', windowDays: 7 } as const;

/** Counts a goal event (after it was applied to the customer) as a conversion of each open exposure. */
export function createConversions(deps: { aggregates: AggregatesPort; windowDays?: number }) {
  return async function conversions(event: BatonEvent, applied: { customerId: string } | undefined): Promise<number> {
    if (!applied || event['detail-type'] !== GOAL.detailType) return 0;
    const detail = event.detail as { occurredAt?: string; total?: number };
    return deps.aggregates.convert(applied.customerId, detail.occurredAt ?? event.time, Number(detail.total ?? 0), deps.windowDays ?? GOAL.windowDays);
  };
}

export interface ReportRange {
  readonly from: string;
  readonly to: string;
  readonly by: Period;
}

export function createReports(deps: { aggregates: AggregatesPort }) {
  async function one(kind: DimensionKind, id: string, range: ReportRange): Promise<DimensionReport> {
    return buildReport({ kind, id }, await deps.aggregates.cells(kind, id, range.from, range.to), range);
  }
  return {
    one,
    /** Every id counted under the kind (`prefix`: a journey's steps), with at least one figure in the range. */
    async all(kind: DimensionKind, range: ReportRange, prefix = ''): Promise<DimensionReport[]> {
      const ids = (await deps.aggregates.ids(kind)).filter((id) => id.startsWith(prefix));
      const reports = await Promise.all(ids.map((id) => one(kind, id, range)));
      return reports.filter((r) => r.rows.length > 0);
    },
  };
}

/** What the rebuild needs: the stored decisions, and the aggregates' own rebuild writes. */
export interface RebuildDeps {
  /** Every decisions-table item, page by page, as a change with no old image. */
  readonly scanDecisions: (onPage: (items: ItemChange[]) => void | Promise<void>) => Promise<void>;
  /** Roughly how many items the decisions table holds, for progress. */
  readonly decisionItems?: () => Promise<number>;
  readonly aggregates: {
    clearCells(): Promise<number>;
    putCells(cells: readonly Increment[]): Promise<void>;
    exposures(): AsyncIterable<{ group: string; day: string; dimensions: Exposure['dimensions']; campaignId: string; convertedAt?: string; revenue?: number }>;
  };
}

/**
 * Recomputes every cell: decision and message figures and group sizes from the decisions (each
 * item as if just written, with all its feedback), conversions from the stored exposures. Run it
 * with the stream consumer paused (or on a quiet table): changes counted meanwhile may be lost.
 */
export async function rebuildAggregates(deps: RebuildDeps, onProgress: (done: number, total: number) => void = () => undefined) {
  const total = (await deps.decisionItems?.()) ?? 0;
  const increments: Increment[] = [];
  // The first decision of each customer in each campaign makes their group (as `expose` does live).
  const first = new Map<string, Exposure>();
  let done = 0;
  await deps.scanDecisions((items) => {
    for (const item of items) {
      const counted = countChange(item);
      increments.push(...counted.increments);
      for (const e of counted.exposures) {
        const key = `${e.customerId}\u0000${e.campaignId}`;
        const seen = first.get(key);
        if (!seen || e.at < seen.at) first.set(key, e);
      }
    }
    done += items.length;
    onProgress(done, Math.max(total, done));
  });
  for (const e of first.values()) increments.push(...exposureIncrements(e));
  let conversions = 0;
  for await (const e of deps.aggregates.exposures()) {
    if (e.convertedAt === undefined) continue;
    conversions++;
    increments.push(...conversionIncrements({ group: e.group as Exposure['group'], day: e.day, dimensions: e.dimensions }, e.revenue ?? 0));
  }
  const cells = fold(increments);
  const removed = await deps.aggregates.clearCells();
  await deps.aggregates.putCells(cells);
  return { decisionItems: done, cells: cells.length, removed, exposures: first.size, conversions };
}
