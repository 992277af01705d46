// `baton export --kind decisions --from --to --out <dir>`: a one-off analytical export of what the
// tables hold now, as the same pseudonymised Parquet the streams write (docs/reports.md).
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { CliFlags } from '../basics.ts';
import { UsageError, report } from '../basics.ts';
import type { ReportContext } from './report.ts';

type Act = <A extends unknown[]>(work: (flags: CliFlags, ...args: A) => Promise<number> | number) => (...params: unknown[]) => Promise<void>;
type On = (flags: CliFlags, work: (ctx: ReportContext & { out(line: string): void }) => Promise<number>) => Promise<number>;

const KINDS = ['decisions', 'messages', 'feedback', 'ledger', 'states'] as const;
const TABLE_OF = { decisions: 'decisions', messages: 'decisions', feedback: 'decisions', ledger: 'ledger', states: 'customers' } as const;
const day = (option: string) => (value: string) => {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(`${value}T00:00:00Z`))) throw new InvalidArgumentError(`${option} must be a day as yyyy-mm-dd.`);
  return value;
};

export function registerExport(root: Command, act: Act, on: On): Command {
  return root
    .command('export')
    .description('write the analytical export once (pseudonymised Parquet, kind=<kind>/day=<day>/) from what the tables hold now')
    .addOption(new Option('--kind <kind>', 'what to export').choices([...KINDS]).makeOptionMandatory())
    .addOption(new Option('--from <day>', 'first day (yyyy-mm-dd, UTC)').argParser(day('--from')))
    .addOption(new Option('--to <day>', 'last day (yyyy-mm-dd, UTC)').argParser(day('--to')))
    .requiredOption('--out <dir>', 'the folder to write the files under')
    .option('--secret-arn <arn>', 'the pseudonym secret in Secrets Manager (the stack output ExportSecretArn); default: the local stack\'s')
    .action(act((flags) => on(flags, (ctx) => runExport(flags, ctx))));
}

async function runExport(flags: CliFlags, ctx: ReportContext & { out(line: string): void }): Promise<number> {
  const kind = String(flags.kind) as (typeof KINDS)[number];
  const from = typeof flags.from === 'string' ? flags.from : undefined;
  const to = typeof flags.to === 'string' ? flags.to : undefined;
  if (from && to && from > to) throw new UsageError('--from must be on or before --to');
  const { exportOnce } = await import('../../lib/wiring/export.ts');
  const { LOCAL_EXPORT_SECRET } = await import('../../local/constants.ts');
  const secretArn = typeof flags.secretArn === 'string' ? flags.secretArn : undefined;
  const result = await exportOnce({
    db: ctx.db,
    tables: ctx.names,
    table: TABLE_OF[kind],
    folder: String(flags.out),
    secret: secretArn ? { arn: secretArn } : { value: LOCAL_EXPORT_SECRET },
    filter: { kinds: [kind], ...(from ? { from } : {}), ...(to ? { to } : {}) },
  });
  report(flags, ctx, result, (r) => [`exported ${r.rows} ${kind} rows in ${r.files.length} file(s) under ${String(flags.out)}`]);
  return 0;
}
