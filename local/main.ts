// `npm start`: the whole stack on this machine, the demo replayed through the bus, a live summary.
//   npm start                    stack + demo (rules, templates, ~50 customers, a day of events)
//   npm start -- --no-demo       the empty stack
//   npm start -- --persist DIR   keep DynamoDB data in DIR between runs
//   npm start -- --export DIR    the analytical export's Parquet files go to DIR (default: DIR/export
//                                of --persist, else .baton/export); --no-export turns the export off
//   npm start -- --verbose       every handler log line
//   npm start -- --clock-speed 3600   the stack's clock runs an hour per real second (journey
//                                waits in minutes); POST /local/clock/advance {"by":"7d"} jumps ahead
//   npm start -- --clock-start 2026-03-10T06:00:00Z   the stack's clock starts there (a restart
//                                carries on where the last one stopped: the clock never goes back)
//   BATON_BUS_PORT, BATON_DYNAMODB_PORT, BATON_SES_PORT, BATON_SCHEDULER_PORT   other ports than 4010, 8000, 8005 and 4011
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { documentClient } from '../lib/adapters/dynamo/client.ts';
import { publishEvents } from '../lib/adapters/aws/publisher.ts';
import { BUS_NAME } from '../lib/contract/routes.ts';
import { startLocalStack, type LocalStack } from './stack.ts';
import { LocalClock } from './clock.ts';
import { demoEvents, seedJourneys, seedRulesAndTemplates } from './demo.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants.ts';

// Node 20 is what the README promises; the SDK's notice about its own future needs is noise here.
// (A process entry point may write process.env; nothing below it does: lib/contract/config.ts.)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** A port from the environment (0 picks a free one); undefined leaves the default. */
function portFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${name} must be a port number (0 to 65535); got ${raw}`);
  return value;
}

const { values } = parseArgs({
  options: {
    demo: { type: 'boolean', default: true },
    'no-demo': { type: 'boolean' },
    persist: { type: 'string' },
    export: { type: 'string' },
    'no-export': { type: 'boolean' },
    verbose: { type: 'boolean' },
    'clock-speed': { type: 'string' },
    'clock-start': { type: 'string' },
  },
});

/** --clock-speed: simulated seconds per real second; 0 stands still until advanced. */
function clockSpeed(raw: string | undefined): number {
  if (raw === undefined) return 1;
  const speed = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(speed) || speed < 0) {
    throw new Error('--clock-speed: expected simulated seconds per real second, such as 3600 (an hour a second), 1 (real time) or 0 (only /local/clock/advance moves it)');
  }
  return speed;
}

const startedAt = Date.now();
let stack: LocalStack | undefined;
let stopping = false;

async function shutdown(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    console.log('\nstopping the local stack…');
    await stack?.stop();
  }
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// npm runs this script through `sh -c`, which does not pass SIGTERM on: when that shell goes,
// this process is re-parented, and that is the signal to stop everything.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart) void shutdown(0);
}, 500).unref();
process.on('uncaughtException', (err) => {
  console.error('local stack failed:', err);
  void shutdown(1);
});

async function main(): Promise<void> {
  const ports = {
    busPort: portFromEnv('BATON_BUS_PORT'),
    dynamodbPort: portFromEnv('BATON_DYNAMODB_PORT'),
    sesPort: portFromEnv('BATON_SES_PORT'),
    schedulerPort: portFromEnv('BATON_SCHEDULER_PORT'),
  };
  const speed = clockSpeed(values['clock-speed']);
  const start = values['clock-start'] === undefined ? undefined : new Date(values['clock-start']);
  if (start && Number.isNaN(start.getTime())) throw new Error('--clock-start: expected an ISO 8601 time such as 2026-03-10T06:00:00Z');
  // The export is on here (the tests' shared stack leaves it off); its files sit with --persist's data.
  const exportDir = values['no-export'] ? undefined : resolve(values.export ?? (values.persist ? join(values.persist, 'export') : join('.baton', 'export')));
  stack = await startLocalStack({
    ...Object.fromEntries(Object.entries(ports).filter(([, p]) => p !== undefined)),
    ...(values.persist ? { persistDir: values.persist } : {}),
    ...(exportDir ? { export: { dir: exportDir } } : {}),
    verbose: values.verbose ?? false,
    clockSpeed: speed,
    ...(start ? { clock: new LocalClock({ speed, start }) } : {}),
  });
  const { endpoints, tables } = stack;
  const seconds = ((Date.now() - startedAt) / 1000).toFixed(1);
  console.log(
    `Baton local stack ready in ${seconds}s · bus ${endpoints.bus} · DynamoDB ${endpoints.dynamodb} · SES ${endpoints.ses} (sent mail: ${endpoints.ses}/) · Scheduler ${endpoints.scheduler}`,
  );
  if (speed !== 1) {
    console.log(`clock: ${speed === 0 ? 'stands still' : `×${speed} (${describeSpeed(speed)})`}; move it with POST ${endpoints.bus}/local/clock/advance {"by":"7d"}, read it at GET ${endpoints.bus}/local/clock`);
  }
  console.log(`tables: ${Object.values(tables).join(', ')}`);
  console.log(
    stack.exportDir
      ? `analytical export: Parquet files under ${stack.exportDir} (kind=<kind>/day=<day>/; --export <dir> to choose, --no-export for none)`
      : 'analytical export: off (--no-export)',
  );
  console.log(`console: ${endpoints.bus}/console (local sign-in: pick viewer, marketer, approver or admin; docs/console.md)`);
  // The figures stay in view while the stack runs; dead letters get a line as they happen.
  stack.summary.report(process.stdout);

  if (values.demo && !values['no-demo']) {
    const db = documentClient({ endpoint: endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await seedRulesAndTemplates(db, tables);
    await seedJourneys(db, tables);
    db.destroy();
    const { setup, dayEvents } = demoEvents();
    const bus = new EventBridgeClient({ endpoint: endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    console.log(`demo: ${setup.length} events set up 50 customers, then ${dayEvents.length} events replay a day…`);
    await publishEvents(bus, BUS_NAME, setup);
    await stack.settled(60_000);
    const results = await publishEvents(bus, BUS_NAME, dayEvents);
    await stack.settled(60_000);
    bus.destroy();
    const refused = results.filter((r) => r.errorCode).length;
    console.log(`${process.stdout.isTTY ? '\r\x1b[2K' : ''}demo replayed${refused ? ` (${refused} refused by the bus)` : ''}: ${stack.summary.line()}`);
    console.log(`read the demo's emails at ${endpoints.ses}/ · pipeline stats at ${endpoints.bus}/local/stats`);
  }
  console.log('listening; Ctrl-C stops every process');
  setInterval(() => undefined, 1 << 30);
}

/** 3600 → "1 real second = 1 simulated hour". */
function describeSpeed(speed: number): string {
  const units: [number, string][] = [[86_400, 'day'], [3_600, 'hour'], [60, 'minute'], [1, 'second']];
  const [size, unit] = units.find(([s]) => speed >= s) ?? [1, 'second'];
  const n = Number((speed / size).toFixed(2));
  return `1 real second = ${n} simulated ${unit}${n === 1 ? '' : 's'}`;
}

main().catch((err) => {
  console.error(`could not start the local stack: ${(err as Error).message}`);
  void shutdown(1);
});
