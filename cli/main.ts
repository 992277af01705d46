// `baton`: the marketer's, agent's and operator's command line (commander). The local stack by
// default; AWS with --cloud. Each command's work is in cli/commands/; this file is the command
// tree: names, arguments, options, help, and how errors become exit codes (EXIT in ./io.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { REJECTION_CODES } from '../events/validate.ts';
import { console_, EXIT, UsageError, type CliFlags } from './basics.ts';
import { SIMULATION_KINDS, SIMULATIONS } from './commands/simulations.ts';
import type { ItemsContext } from './commands/items.ts';
import type { TemplateAction } from './commands/templates.ts';
import { registerSegments } from './commands/segments-command.ts';
import { registerRuns } from './commands/runs-command.ts';
import { registerJourneys } from './commands/journeys.ts';
import { registerLoyalty } from './commands/loyalty.ts';
import { registerReport } from './commands/report.ts';
import { registerExport } from './commands/export.ts';

// Commands load when run, so `baton --help` and a command's help need none of the AWS clients.
const io = () => import('./io.ts');
const commands = {
  rules: () => import('./commands/rules.ts'),
  campaigns: () => import('./commands/campaigns.ts'),
  destinations: () => import('./commands/destinations.ts'),
  templates: () => import('./commands/templates.ts'),
  customer: () => import('./commands/customer.ts'),
  explain: () => import('./commands/explain.ts'),
  simulate: () => import('./commands/simulate.ts'),
  quarantine: () => import('./commands/quarantine.ts'),
  erasures: () => import('./commands/erasures.ts'),
  schemas: () => import('./commands/schemas.ts'),
  send: () => import('./commands/send.ts'),
};

const VERSION = (JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as { version: string }).version;

const EPILOGUE = `
Targets: the local stack by default (npm start: bus on 127.0.0.1:4010, DynamoDB on :8000, or the
ports in BATON_BUS_PORT and BATON_DYNAMODB_PORT); --endpoint URL for another one (the bus for send
and simulate, DynamoDB for the others); --cloud for AWS with your credentials (stage dev unless
--stage says otherwise). --bus NAME alone also means AWS.

Output: text for people; with --json, stdout holds exactly one JSON document (the result, also for
the verdicts of exit code 1) and every message goes to stderr.

Exit codes:
  0  done
  1  done, and the answer is no: invalid items (nothing written), not found, an event refused by
     the bus, a quarantined event still invalid, a concurrent change (nothing written), nothing to
     roll back to, a message with nothing to simulate on
  2  the command line is wrong: unknown command, option or option value, a missing argument,
     an unreadable or malformed file
  3  could not finish: the local stack or AWS unreachable (is npm start running?), or AWS refused
     the call (credentials, permissions, a missing table)

Every command has its own help: baton <command> --help, baton help <command>.`;

/** Option values commander checks itself; the message names the option and what was expected. */
const whole = (option: string, min: number, max: number) => (value: string) => {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`${option} must be a whole number from ${min} to ${max}.`);
  return Number(value);
};

function program(codes: { exit: number }): Command {
  const root = new Command('baton')
    .description('Baton on the command line: rules, campaigns, contact policy, templates, events, customers, decisions, feedback')
    .version(VERSION, '-V, --version', 'print the version')
    .option('--endpoint <url>', 'the local stack endpoint to use (see Targets)')
    .option('--cloud', 'AWS, with your credentials and region')
    .option('--region <region>', 'the AWS region (with --cloud)')
    .option('--bus <name>', 'the event bus (default baton; alone, it implies --cloud)')
    .option('--stage <stage>', 'the table stage (default local; dev with --cloud)')
    .option('--json', 'print one JSON document on stdout instead of text')
    .configureHelp({ showGlobalOptions: true })
    .showHelpAfterError('(baton <command> --help shows the usage)')
    .addHelpText('after', EPILOGUE)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void process.stdout.write(s), writeErr: (s) => void process.stderr.write(s) });

  /** The action runner: the flags of every level merged, the command's exit code kept. */
  const act =
    <A extends unknown[]>(work: (flags: CliFlags, ...args: A) => Promise<number> | number) =>
    async (...params: unknown[]) => {
      const cmd = params.at(-1) as Command;
      codes.exit = await work(cmd.optsWithGlobals() as CliFlags, ...(params.slice(0, -2) as A));
    };
  /** Runs `work` with the tables of the flags' target (closed after) and the console. */
  const on = async (flags: CliFlags, work: (ctx: ItemsContext & typeof console_) => Promise<number>) =>
    (await io()).withTables(flags, (t) => work({ ...t, ...console_ }));
  type Run = (args: string[], flags: CliFlags, ctx: ItemsContext) => Promise<number>;
  const by = () => new Option('--by <name>', 'who makes the change, kept on the version (default: $USER)');

  root
    .command('send')
    .description('publish events: files (a JSON object, a JSON array or JSON lines) or sample names such as baton.pos/SaleCompleted, in batches of 10')
    .argument('[events...]', 'files or sample names')
    .action(act(async (flags, refs: string[]) => (await commands.send()).send(refs, flags, console_)));

  // rules, campaigns and policies share one workflow (cli/commands/items.ts).
  const versioned = (name: 'rules' | 'campaigns' | 'policies' | 'destinations', noun: string, runner: () => Promise<Run>, toggles: boolean) => {
    const group = root.command(name).description(`manage ${name} from JSON or YAML files; every write is a new version`);
    const sub = (args: string[], flags: CliFlags) => on(flags, async (ctx) => (await runner())(args, flags, ctx));
    group
      .command('validate')
      .description(`check ${noun} files: each field, and${name === 'policies' || name === 'destinations' ? '' : ` what they name in other tables (${name === 'rules' ? 'the template on the rule\'s channel, the offer it shows' : 'the contact policy'})`}`)
      .argument('<files...>')
      .option('--offline', 'check the files only, not the tables')
      .action(
        act(async (flags, files: string[]) =>
          // Offline needs no table: no client is made.
          flags.offline ? (await runner())(['validate', ...files], flags, { db: undefined as never, names: undefined as never, ...console_ }) : sub(['validate', ...files], flags),
        ),
      );
    group.command('put').description(`validate, then write each ${noun} as its next version`).argument('<files...>').addOption(by()).action(act((flags, files: string[]) => sub(['put', ...files], flags)));
    group.command('list').description(`the live ${name}, with their version and whether they are valid`).action(act((flags) => sub(['list'], flags)));
    group.command('diff').description(`field by field, the files against the live ${name}`).argument('<files...>').action(act((flags, files: string[]) => sub(['diff', ...files], flags)));
    if (toggles) {
      group.command('enable').description(`a new version with enabled: true`).argument(`<${noun}Id>`).addOption(by()).action(act((flags, id: string) => sub(['enable', id], flags)));
      group.command('disable').description(`a new version with enabled: false`).argument(`<${noun}Id>`).addOption(by()).action(act((flags, id: string) => sub(['disable', id], flags)));
    }
    group
      .command('rollback')
      .description('the newest earlier valid version with other content becomes the next version')
      .argument(`<${noun}Id>`)
      .addOption(by())
      .action(act((flags, id: string) => sub(['rollback', id], flags)));
    return group;
  };
  versioned('rules', 'rule', async () => (await commands.rules()).runRules, true)
    .command('test')
    .description('dry run: decide the file\'s rules over events with the customers in the table; sends and writes nothing')
    .argument('<file>', 'a rule file')
    .requiredOption('--events <file>', 'events: a JSON object, a JSON array or JSON lines')
    .action(act((flags, file: string) => on(flags, async (ctx) => (await commands.rules()).runRules(['test', file], flags, ctx))));
  versioned('campaigns', 'campaign', async () => (await commands.campaigns()).runCampaigns, true);
  versioned('policies', 'policy', async () => (await commands.campaigns()).runPolicies, false);
  // Other systems' HTTP APIs that bus actions name (docs/destinations.md).
  versioned('destinations', 'destination', async () => (await commands.destinations()).runDestinations, false);
  registerSegments(root, act, (flags, args) => on(flags, async (ctx) => (await import('./commands/segments.ts')).runSegments(args, flags, ctx)));
  registerRuns(root, act, (flags, args) => on(flags, async (ctx) => (await import('./commands/runs.ts')).runRuns(args, flags, ctx)));

  const templates = root.command('templates').description('Liquid message templates: check every field they read, store them, render one');
  for (const [sub, what] of [
    ['validate', 'check templates: parse, and every field they read must be one a message has'],
    ['put', 'validate, then store templates (per template, channel and locale)'],
    ['preview', 'validate, then render templates for a customer (or a sample one)'],
  ] as const) {
    const c = templates.command(sub).description(what).argument('<file>', 'a JSON or YAML template file: one template or a list');
    if (sub === 'preview') c.option('--customer <id>', 'any external id or customerId');
    c.action(act(async (flags, file: string) => (await commands.templates()).runTemplates(sub as TemplateAction, file, flags, console_)));
  }

  registerJourneys(root, act, on);
  registerLoyalty(root, act, on);
  registerReport(root, act, on);
  registerExport(root, act, on);

  root
    .command('customer')
    .description('look a customer up')
    .command('show')
    .description('one page: the profile, consent with where and when, contact counts, recent decisions and what became of each message')
    .argument('<id>', 'crmId, loyalty card, licenseId, deviceId, email or customerId')
    .addOption(new Option('--limit <n>', 'how many recent decisions').default(5).argParser(whole('--limit', 1, 100)))
    .action(act((flags, ref: string) => on(flags, async (ctx) => (await commands.customer()).showCustomer(ref, flags, ctx, Number(flags.limit)))));

  root
    .command('explain')
    .description('why a decision chose or suppressed each rule, and what became of its messages (sent, delivered, opened, clicked…)')
    .argument('[decisionId]')
    .option('--customer <id>', "the customer's newest decisions instead (any external id or customerId)")
    .addOption(new Option('--limit <n>', 'how many decisions with --customer').default(3).argParser(whole('--limit', 1, 50)))
    .action(
      act((flags, decisionId: string | undefined) => {
        const customer = typeof flags.customer === 'string' ? flags.customer : undefined;
        if (!decisionId === !customer) throw new UsageError('usage: baton explain <decisionId> | baton explain --customer <id> [--limit N]');
        return on(flags, async (ctx) => {
          const { explain, explainCustomer } = await commands.explain();
          return customer ? explainCustomer(customer, flags, ctx, Number(flags.limit)) : explain(decisionId!, flags, ctx);
        });
      }),
    );

  root
    .command('simulate')
    .description('local stack only: publish the feedback a channel would report for a sent message')
    .argument('<id>', 'a decisionId, an SES message id, or a device message id (<decisionId>@<deviceId>)')
    .addArgument(new Argument('<kind>', SIMULATION_KINDS.map((k) => `${k} (${SIMULATIONS[k].join(', ')})`).join(', ')).choices(SIMULATION_KINDS))
    .addOption(new Option('--channel <channel>', 'which message of the decision, when it has several').choices(['email', 'device', 'sms']))
    .option('--link <url>', 'clicked: the link followed (default: the first tracked link of the mail)')
    .addHelpText('after', '\nExamples:\n  baton simulate dec-3f2a… opened\n  baton simulate dec-3f2a… clicked --link https://example.com/renew\n  baton simulate dec-3f2a… bounced\n  baton simulate dec-3f2a… displayed --channel device')
    .action(
      act(async (flags, ref: string, kind: string) => {
        const { localStack, simulate } = await commands.simulate();
        const stack = localStack(flags);
        // DynamoDB from the local stack's ports: --endpoint names the stack's HTTP port here.
        return (await io()).withTables({ region: flags.region, stage: flags.stage }, (t) => simulate(ref, kind, flags, { ...t, ...console_, stack }));
      }),
    );

  const quarantine = root.command('quarantine').description('events that failed validation; replay reprocesses them after a fix');
  const quarantineOptions = (c: Command) =>
    c
      .addOption(new Option('--days <n>', 'how many days back').default(7).argParser(whole('--days', 1, 30)))
      .addOption(new Option('--code <code>', 'only this rejection code').choices(REJECTION_CODES));
  quarantineOptions(quarantine.command('list').description('what was quarantined, with the reason')).action(
    act((flags) => on(flags, async (ctx) => (await commands.quarantine()).listQuarantine({ days: Number(flags.days), code: flags.code as string | undefined }, flags, ctx))),
  );
  quarantineOptions(quarantine.command('replay').description('the original events through ingest again; those that now pass are removed')).action(
    act((flags) => on(flags, async (ctx) => (await commands.quarantine()).replayQuarantine({ days: Number(flags.days), code: flags.code as string | undefined }, flags, ctx))),
  );

  root
    .command('erasures')
    .description('erasure after a restore')
    .command('reapply')
    .description('erase again every restored customer whose id has a tombstone')
    .action(act((flags) => on(flags, async (ctx) => (await commands.erasures()).reapplyErasures(flags, ctx))));

  root
    .command('schemas')
    .description('the event catalog as JSON Schema')
    .command('export')
    .description('write JSON Schema for every event type')
    .argument('<dir>')
    .action(act(async (flags, dir: string) => (await commands.schemas()).exportSchemas(dir, flags, console_)));

  return root;
}

/** An error as one line a person can act on, and its exit code. */
function failure(err: unknown): { code: number; message?: string } {
  if (err instanceof CommanderError) return { code: err.exitCode === 0 ? EXIT.ok : EXIT.usage }; // commander printed it
  if (err instanceof UsageError) return { code: EXIT.usage, message: err.message };
  // Someone else's write came first (lib/adapters/dynamo/versioned.ts): nothing was written.
  if ((err as { code?: unknown }).code === 'version-conflict') return { code: EXIT.problem, message: (err as Error).message };
  const e = err as Error & { code?: string; cause?: unknown; $metadata?: unknown };
  const detail = `${e.message} ${String(e.cause ?? '')} ${e.code ?? ''}`;
  if (/ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET/.test(detail)) {
    return { code: EXIT.failed, message: 'cannot reach Baton: is the local stack running (npm start)? For AWS use --cloud.' };
  }
  if (e.name === 'ResourceNotFoundException') return { code: EXIT.failed, message: `baton: ${e.message} (is --stage right?)` };
  return { code: EXIT.failed, message: `baton: ${e.name ?? 'Error'}: ${e.message}` };
}

// `baton … | head` closes stdout early: stop quietly, as a Unix tool does.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(EXIT.ok);
  throw err;
});

const codes = { exit: EXIT.ok as number };
program(codes)
  .parseAsync(process.argv.slice(2), { from: 'user' })
  .then(
    () => {
      process.exitCode = codes.exit;
    },
    (err: unknown) => {
      const { code, message } = failure(err);
      if (message) process.stderr.write(`${message}\n`);
      process.exitCode = code;
    },
  );
