// The `baton segments` command tree (names, arguments, options, help); the work loads when run
// (./segments.ts), so `baton --help` needs no AWS client. cli/main.ts registers it in one line.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliFlags } from '../basics.ts';

type Act = <A extends unknown[]>(work: (flags: CliFlags, ...args: A) => Promise<number> | number) => (...params: unknown[]) => Promise<void>;
/** Runs `baton segments <args>` on the tables of the flags' target. */
type Run = (flags: CliFlags, args: string[]) => Promise<number>;

const whole = (option: string, min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`${option} must be a whole number from ${min} to ${max}.`);
  return Number(value);
};

export function registerSegments(root: Command, act: Act, run: Run): Command {
  const group = root.command('segments').description('audiences: dynamic segments follow an "if" pattern over the customer view, static ones are imported');
  const by = () => new Option('--by <name>', 'who makes the change, kept on the version (default: $USER)');
  group
    .command('validate')
    .description('check segment files (JSON or YAML): each field, and the pattern')
    .argument('<files...>')
    .action(act((flags, files: string[]) => run(flags, ['validate', ...files])));
  group.command('put').description('validate, then write each segment as its next version').argument('<files...>').addOption(by()).action(act((flags, files: string[]) => run(flags, ['put', ...files])));
  group.command('list').description('the live segments with their member counts').action(act((flags) => run(flags, ['list'])));
  group
    .command('show')
    .description('one segment: its definition, member count and the first members')
    .argument('<segmentId>')
    .addOption(new Option('--limit <n>', 'how many members to show').default(20).argParser(whole('--limit', 0, 1000)))
    .action(act((flags, id: string) => run(flags, ['show', id])));
  group.command('diff').description('field by field, the files against the live segments').argument('<files...>').action(act((flags, files: string[]) => run(flags, ['diff', ...files])));
  group.command('rollback').description('the newest earlier valid version with other content becomes the next version').argument('<segmentId>').addOption(by()).action(act((flags, id: string) => run(flags, ['rollback', id])));
  group
    .command('import')
    .description('add the customers of a CSV of external ids to a static segment; reports the ids not found')
    .argument('<segmentId>')
    .argument('<file>', 'rows "kind,value" (e.g. crmId,CRM-100234), or a file with a header and --column')
    .option('--column <name>', 'the column holding the ids (the first line is the header)')
    .option('--kind <kind>', 'with --column: the kind of id in it (default: the column name)')
    .action(act((flags, id: string, file: string) => run(flags, ['import', id, file])));
  group
    .command('refresh')
    .description('the daily re-evaluation now: time alone moves customers in and out (daysSinceLastPurchase, daysToNextLicenseExpiry)')
    .option('--at <time>', 'evaluate as of this time (ISO 8601) instead of now')
    .action(act((flags) => run(flags, ['refresh'])));
  return group;
}
