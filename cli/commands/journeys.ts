// `baton journeys validate|put|list|show|pause|resume|migrate|simulate`: journeys as marketers keep
// them (JSON or YAML, docs/journeys.md), versioned in the campaigns table beside their campaign.
// The commands' work loads when one runs (./journeys-work.ts), as for the other commands.
import { Option, type Command } from 'commander';
import { console_, type CliFlags } from '../basics.ts';
import type { JourneysContext } from './journeys-work.ts';

const work = () => import('./journeys-work.ts');

type Act = <A extends unknown[]>(work: (flags: CliFlags, ...args: A) => Promise<number> | number) => (...params: unknown[]) => Promise<void>;
type On = (flags: CliFlags, work: (ctx: JourneysContext) => Promise<number>) => Promise<number>;

/** Registers `baton journeys …` on the program (cli/main.ts). */
export function registerJourneys(root: Command, act: Act, on: On): void {
  const by = () => new Option('--by <name>', 'who makes the change, kept on the version (default: $USER)');
  const g = root.command('journeys').description('journeys: sequences of hits with waits, branches on the answers and a goal (docs/journeys.md)');
  g.command('validate')
    .description('check journey files: each step and field, the graph, and (unless --offline) that every template exists on its channel')
    .argument('<files...>')
    .option('--offline', 'check the files only, not the tables')
    .action(act((flags, files: string[]) => work().then((w) => (flags.offline ? w.validate(files, flags, console_) : on(flags, (ctx) => w.validate(files, flags, ctx))))));
  g.command('put').description('validate, then write each journey as its next version').argument('<files...>').addOption(by()).action(act((flags, files: string[]) => on(flags, async (ctx) => (await work()).put(files, flags, ctx))));
  g.command('list').description('the live journeys with their version, status and customers inside').action(act((flags) => on(flags, async (ctx) => (await work()).list(flags, ctx))));
  g.command('show').description('one journey: its steps, versions, and how many customers wait in each step').argument('<journeyId>').action(act((flags, id: string) => on(flags, async (ctx) => (await work()).show(id, flags, ctx))));
  g.command('pause').description('a new version with status paused: nobody enters, nobody moves (goals still exit)').argument('<journeyId>').addOption(by()).action(act((flags, id: string) => on(flags, async (ctx) => (await work()).setStatus(id, 'paused', flags, ctx))));
  g.command('resume').description('a new version with status active').argument('<journeyId>').addOption(by()).action(act((flags, id: string) => on(flags, async (ctx) => (await work()).setStatus(id, 'active', flags, ctx))));
  g.command('migrate')
    .description('move the customers on version V to version W, step by step (--map old=new for renamed steps)')
    .argument('<journeyId>')
    .requiredOption('--from <version>', 'the version customers are on')
    .requiredOption('--to <version>', 'the version to move them to')
    .option('--map <pairs>', 'step mapping, e.g. wait-7d=wait-5d,email=email-v2 (unmapped steps keep their id)')
    .action(act((flags, id: string) => on(flags, async (ctx) => (await work()).migrate(id, flags, ctx))));
  g.command('simulate')
    .description('a dry run on a simulated clock over the real customer\'s state: the path, each decision and why; nothing is sent or written')
    .argument('<file>', 'the journey file')
    .requiredOption('--customer <id>', 'any external id or customerId')
    .option('--events <file>', 'events to feed in order (JSON array or JSON lines); each at its detail.occurredAt if later')
    .option('--advance <duration>', 'then let this much time pass, e.g. 10d, 36h, 90m', '0m')
    .action(act((flags, file: string) => on(flags, async (ctx) => (await work()).simulate(file, flags, ctx))));
}

