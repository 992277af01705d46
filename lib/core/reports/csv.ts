// The reports as comma-separated rows: `baton report … --csv` prints them, the console's Reports
// page offers them as a download (docs/reports.md). One row per dimension and period.
import type { DimensionReport } from './report.ts';

/** The figures of a report row, with the CLI table's short headers. */
export const REPORT_COLUMNS = [
  ['decided', 'decided'],
  ['chosen', 'chosen'],
  ['deferred', 'deferred'],
  ['sent', 'sent'],
  ['delivered', 'delivered'],
  ['opened', 'opened'],
  ['clicked', 'clicked'],
  ['bounced', 'bounced'],
  ['complained', 'complained'],
  ['unsubscribed', 'unsub'],
  ['treatment', 'treatment'],
  ['control', 'control'],
  ['converted', 'converted'],
  ['controlConverted', 'ctl-conv'],
] as const;

export function reportCsv(reports: readonly DimensionReport[]): string[] {
  const suppressed = [...new Set(reports.flatMap((r) => Object.keys(r.total).filter((k) => k.startsWith('suppressed.'))))].sort();
  const figures = [...REPORT_COLUMNS.map(([f]) => f as string), 'revenue', 'controlRevenue', 'pointsEarned', 'pointsSpent', ...suppressed];
  const quote = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = [['kind', 'id', 'period', ...figures].join(',')];
  for (const r of reports) {
    for (const row of r.rows) lines.push([r.dimension.kind, r.dimension.id, row.period, ...figures.map((f) => String((row.counts as Record<string, number>)[f] ?? 0))].map(quote).join(','));
  }
  return lines;
}
