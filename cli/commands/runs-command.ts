// The `baton runs` command tree (names, arguments, options, help); the work loads when run
// (./runs.ts), so `baton --help` needs no AWS client. cli/main.ts registers it in one line.
import { Command, InvalidArgumentError, Option } from 'commander';
import type { CliFlags } from '../basics.ts';

type Act = <A extends unknown[]>(work: (flags: CliFlags, ...args: A) => Promise<number> | number) => (...params: unknown[]) => Promise<void>;
/** Runs `baton runs <args>` on the tables of the flags' target. */
type Run = (flags: CliFlags, args: string[]) => Promise<number>;

const rate = (value: string) => {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > 100_000) throw new InvalidArgumentError('--rate must be a number of customers per second, more than 0 and at most 100000.');
  return n;
};

export function registerRuns(root: Command, act: Act, run: Run): Command {
  const group = root.command('runs').description('outbound runs: a campaign sent to every member of a segment, decided through the same arbitration as live events');
  group
    .command('start')
    .description('schedule a run of the campaign\'s rule (its "when" matches source baton.runs) for every member of the segment')
    .argument('<campaignId>')
    .requiredOption('--segment <segmentId>', 'the audience')
    .requiredOption('--at <time>', 'when: an ISO 8601 time with offset (2026-03-10T10:00:00Z), or with --local-time a wall-clock time (2026-03-10T10:00)')
    .option('--local-time', 'the --at time is read on each member\'s own clock (their profile\'s time zone)')
    .addOption(new Option('--rate <n>', 'customers per second at most (the campaign\'s hourly capacity may lower it)').default(100).argParser(rate))
    .action(act((flags, campaignId: string) => run(flags, ['start', campaignId])));
  group
    .command('status')
    .description('where a run stands: state, progress, sent, deferred and suppressed by reason (a progress bar in a terminal)')
    .argument('<runId>')
    .action(act((flags, id: string) => run(flags, ['status', id])));
  group.command('list').description('every run, newest first').action(act((flags) => run(flags, ['list'])));
  for (const [command, what] of [
    ['pause', 'stop after the pages being decided; resume carries on from the checkpoint'],
    ['resume', 'carry on a paused run from its checkpoint'],
    ['cancel', 'stop for good: members not decided yet get nothing'],
  ] as const) {
    group.command(command).description(what).argument('<runId>').action(act((flags, id: string) => run(flags, [command, id])));
  }
  return group;
}
