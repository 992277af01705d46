// A report from aggregates: the figures per day or week, their totals, the rates, and the uplift
// against control where the campaign has one. Pure; lib/app/reports.ts reads the cells.
import { uplift as upliftOf, type Uplift } from '../campaigns/uplift.ts';
import { addCounts, dayOf, type Counts, type Dimension } from './aggregates.ts';

export type Period = 'day' | 'week';

export interface Rates {
  /** delivered / sent */
  readonly delivery: number | undefined;
  /** opened / delivered */
  readonly open: number | undefined;
  /** clicked / delivered */
  readonly click: number | undefined;
  /** bounced / sent */
  readonly bounce: number | undefined;
  /** complained / delivered */
  readonly complaint: number | undefined;
  /** unsubscribed / delivered */
  readonly unsubscribe: number | undefined;
}

export interface ReportRow {
  /** The day (yyyy-mm-dd) or the Monday that starts the ISO week. */
  readonly period: string;
  readonly counts: Counts;
}

export interface DimensionReport {
  readonly dimension: Dimension;
  readonly from: string;
  readonly to: string;
  readonly by: Period;
  readonly rows: readonly ReportRow[];
  readonly total: Counts;
  readonly rates: Rates;
  /** Where the campaign had a control group (holdout or global control) in the period. */
  readonly uplift?: Uplift;
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined => (b ? (a ?? 0) / b : undefined);

export function ratesOf(c: Counts): Rates {
  return {
    delivery: ratio(c.delivered, c.sent),
    open: ratio(c.opened, c.delivered),
    click: ratio(c.clicked, c.delivered),
    bounce: ratio(c.bounced, c.sent),
    complaint: ratio(c.complained, c.delivered),
    unsubscribe: ratio(c.unsubscribed, c.delivered),
  };
}

/** The Monday of the day's ISO week. */
export function weekOf(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d.toISOString().slice(0, 10);
}

/** Every day from `from` to `to`, both included. */
export function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`); ms <= Date.parse(`${to}T00:00:00Z`); ms += 86_400_000) out.push(new Date(ms).toISOString().slice(0, 10));
  return out;
}

export function parseDay(value: string, option: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || dayOf(`${value}T00:00:00Z`) !== value) throw new RangeError(`${option} must be a day as yyyy-mm-dd`);
  return value;
}

/** Builds the report from the cells of one dimension (one per day, any order, days outside ignored). */
export function buildReport(
  dimension: Dimension,
  cells: Iterable<{ day: string; counts: Counts }>,
  range: { from: string; to: string; by: Period },
): DimensionReport {
  const rows = new Map<string, Counts>();
  const total: Counts = {};
  for (const cell of cells) {
    if (cell.day < range.from || cell.day > range.to) continue;
    const period = range.by === 'week' ? weekOf(cell.day) : cell.day;
    rows.set(period, addCounts(rows.get(period) ?? {}, cell.counts));
    addCounts(total, cell.counts);
  }
  const control = total.control ?? 0;
  const treatment = total.treatment ?? 0;
  return {
    dimension,
    from: range.from,
    to: range.to,
    by: range.by,
    rows: [...rows].sort(([a], [b]) => a.localeCompare(b)).map(([period, counts]) => ({ period, counts })),
    total,
    rates: ratesOf(total),
    ...(control > 0 && treatment > 0
      ? {
          uplift: upliftOf(
            { customers: treatment, conversions: Math.min(treatment, total.converted ?? 0), revenue: total.revenue ?? 0 },
            { customers: control, conversions: Math.min(control, total.controlConverted ?? 0), revenue: total.controlRevenue ?? 0 },
          ),
        }
      : {}),
  };
}
