// `baton report campaign <id> | channel | offer | segment | journey <id> | rebuild`: what each
// marketing activity achieved, read from the report aggregates (docs/reports.md). The command
// tree is registered here; the work loads when a report runs.
import { InvalidArgumentError, Option, type Command } from 'commander';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../../lib/contract/tables.ts';
import type { DimensionKind } from '../../lib/core/reports/aggregates.ts';
import type { DimensionReport, Period } from '../../lib/core/reports/report.ts';
import { report, UsageError, type CliFlags, type Printer } from '../basics.ts';
import { REPORT_COLUMNS, reportCsv } from '../../lib/core/reports/csv.ts';

type Act = <A extends unknown[]>(work: (flags: CliFlags, ...args: A) => Promise<number> | number) => (...params: unknown[]) => Promise<void>;
export interface ReportContext extends Printer {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
}
type On = (flags: CliFlags, work: (ctx: ReportContext & Required<Printer>) => Promise<number>) => Promise<number>;

const day = (option: string) => (value: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new InvalidArgumentError(`${option} must be a day as yyyy-mm-dd.`);
  return value;
};

/** Registers `baton report …` on the program (cli/main.ts). */
export function registerReport(root: Command, act: Act, on: On): Command {
  const g = root.command('report').description('what campaigns, channels, offers, segments and journeys achieved, from the report aggregates (docs/reports.md)');
  const shape = (c: Command) =>
    c
      .addOption(new Option('--from <day>', 'first day (yyyy-mm-dd, UTC; default 30 days before --to)').argParser(day('--from')))
      .addOption(new Option('--to <day>', 'last day (yyyy-mm-dd, UTC; default today)').argParser(day('--to')))
      .addOption(new Option('--by <period>', 'one row per day or per ISO week').choices(['day', 'week']).default('day'))
      .option('--csv', 'comma-separated rows on stdout instead of a table');
  shape(g.command('campaign').description('one campaign per day or week: decided, suppressed by reason, sends and feedback, rates, treatment and control, uplift with its 95 % interval').argument('<campaignId>')).action(
    act((flags, id: string) => on(flags, (ctx) => runReport('campaign', id, flags, ctx))),
  );
  for (const [kind, what] of [
    ['channel', 'every channel'],
    ['offer', 'every offer'],
    ['segment', 'every segment the messages were sent to'],
  ] as const) {
    shape(g.command(kind).description(`${what}: totals, rates and uplift`)).action(act((flags) => on(flags, (ctx) => runReport(kind, undefined, flags, ctx))));
  }
  shape(g.command('journey').description('one journey as a funnel: every step with its sends and feedback').argument('<journeyId>')).action(
    act((flags, id: string) => on(flags, (ctx) => runReport('step', id, flags, ctx))),
  );
  g.command('rebuild')
    .description('recompute every aggregate from the stored decisions and their feedback (after a restore, or for a new figure); pause the aggregates consumer first')
    .action(act((flags) => on(flags, (ctx) => runRebuild(flags, ctx))));
  return g;
}

export function rangeOf(flags: CliFlags, today = new Date()): { from: string; to: string; by: Period } {
  const to = typeof flags.to === 'string' ? flags.to : today.toISOString().slice(0, 10);
  const from = typeof flags.from === 'string' ? flags.from : new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
  if (from > to) throw new UsageError('--from must be on or before --to');
  return { from, to, by: flags.by === 'week' ? 'week' : 'day' };
}

async function runReport(kind: DimensionKind, id: string | undefined, flags: CliFlags, ctx: ReportContext): Promise<number> {
  const range = rangeOf(flags);
  const { reportsFor } = await import('../../lib/wiring/reports.ts');
  const reports = reportsFor(ctx.db, ctx.names);
  const result =
    kind === 'campaign' ? [await reports.one('campaign', id!, range)] : kind === 'step' ? await reports.all('step', range, `${id}/`) : await reports.all(kind, range);
  if (flags.csv) {
    for (const line of csv(result)) ctx.out(line);
  } else {
    report(flags, ctx, kind === 'campaign' ? result[0] : result, () => text(kind, id, result, range));
  }
  return 0;
}

// ---- output ----

const COLUMNS = REPORT_COLUMNS;
const RATES = ['delivery', 'open', 'click', 'bounce', 'complaint', 'unsubscribe'] as const;

const pct = (v: number | undefined, digits = 1) => (v === undefined ? '-' : `${(v * 100).toFixed(digits)} %`);
const points = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}`;

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

export function text(kind: DimensionKind, id: string | undefined, reports: readonly DimensionReport[], range: { from: string; to: string; by: Period }): string[] {
  const noun = kind === 'step' ? `journey ${id}` : kind === 'campaign' ? `campaign ${id}` : `every ${kind}`;
  const out = [`${noun}, ${range.from} to ${range.to}, by ${range.by}`];
  const nothing = reports.every((r) => r.rows.length === 0);
  if (nothing) return [...out, 'nothing counted in this period'];
  const header = [kind === 'campaign' ? range.by : kind === 'step' ? 'step' : kind, ...COLUMNS.map(([, h]) => h)];
  const cells = (c: DimensionReport['total']) => COLUMNS.map(([f]) => String(c[f] ?? 0));
  if (kind === 'campaign') {
    const r = reports[0]!;
    out.push(...table(header, [...r.rows.map((row) => [row.period, ...cells(row.counts)]), ['total', ...cells(r.total)]]));
  } else {
    out.push(...table(header, reports.map((r) => [kind === 'step' ? r.dimension.id.slice(`${id}/`.length) : r.dimension.id, ...cells(r.total)])));
  }
  for (const r of reports) {
    const who = kind === 'campaign' ? '' : `${kind === 'step' ? r.dimension.id.slice(`${id}/`.length) : r.dimension.id}: `;
    out.push(`${who}rates: ${RATES.map((k) => `${k} ${pct(r.rates[k])}`).join(', ')}`);
    const suppressed = Object.entries(r.total)
      .filter(([k, v]) => k.startsWith('suppressed.') && v)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k.slice('suppressed.'.length)} ${v}`);
    if (suppressed.length) out.push(`${who}suppressed: ${suppressed.join(', ')}`);
    // Only where a POS sale was attributed (docs/loyalty.md): other reports read as before.
    if (r.total.attributedSales) out.push(`${who}attributed: ${r.total.attributedSales} sales, revenue ${(r.total.attributedRevenue ?? 0).toFixed(2)}`);
    if (r.uplift) {
      const u = r.uplift;
      out.push(
        `${who}treatment ${u.treatment.customers} customers, ${u.treatment.conversions} converted (${pct(u.treatment.rate, 2)}); control ${u.control.customers} customers, ${u.control.conversions} converted (${pct(u.control.rate, 2)})`,
        `${who}uplift ${points(u.uplift)} points, 95 % CI [${u.interval ? `${points(u.interval[0])}, ${points(u.interval[1])}` : '-'}]; revenue per customer ${u.treatment.revenuePerCustomer.toFixed(2)} vs ${u.control.revenuePerCustomer.toFixed(2)}`,
      );
    }
  }
  return out;
}

export const csv = reportCsv;

// ---- rebuild ----

async function runRebuild(flags: CliFlags, ctx: ReportContext): Promise<number> {
  const { rebuildDepsFor } = await import('../../lib/wiring/reports.ts');
  const { rebuildAggregates } = await import('../../lib/app/reports.ts');
  const count = async () => Number((await ctx.db.send(new DescribeTableCommand({ TableName: ctx.names.decisions }))).Table?.ItemCount ?? 0);
  const tty = process.stderr.isTTY === true && !flags.json;
  const bar = (done: number, total: number) => {
    if (!tty) return;
    const width = 30;
    const filled = Math.round((Math.min(done, total) / Math.max(total, 1)) * width);
    process.stderr.write(`\rrebuilding [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} items`);
  };
  const result = await rebuildAggregates(rebuildDepsFor(ctx.db, ctx.names, count), bar);
  if (tty) process.stderr.write('\n');
  report(flags, ctx, result, (r) => [
    `rebuilt ${r.cells} aggregate cells from ${r.decisionItems} decision items (${r.exposures} customers in campaigns, ${r.conversions} conversions); ${r.removed} old cells removed`,
  ]);
  return 0;
}
