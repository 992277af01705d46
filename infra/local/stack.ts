// The whole of Baton on one machine: DynamoDB Local, the local SES, the local bus, the queue and
// stream stand-ins, and the real handlers in-process. Used by `npm start` and by the tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ENV } from '../../lib/config.ts';
import { tableEnvVar, tableNames, TABLE_KEYS, type TableNames } from '../../lib/tables.ts';
import { BUS_NAME, type RouteTarget } from '../../lib/routes.ts';
import { evaluateHandler } from '../../functions/evaluate.ts';
import { dispatchHandler } from '../../functions/dispatch.ts';
import { startDynamoDbLocal, startSesLocal, freePort, type RunningServer } from './servers.ts';
import { createTables, streamArn } from './tables.ts';
import { LocalBus, type HttpExtension } from './bus.ts';
import { LocalQueue } from './queue.ts';
import { LocalStreamPoller } from './streams.ts';
import { LocalSesFeedback } from './ses-feedback.ts';
import { localInspection } from './inspection.ts';
import { DEFAULT_PORTS, LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STAGE } from './constants.ts';

export interface LocalStackOptions {
  /** 0 picks a free port (tests). Defaults: bus 4010, DynamoDB 8000, SES 8005, or env BATON_*_PORT. */
  readonly busPort?: number;
  readonly dynamodbPort?: number;
  readonly sesPort?: number;
  /** Keep DynamoDB data in this directory between runs; in memory when undefined. */
  readonly persistDir?: string;
  readonly stage?: string;
  /** Show every handler log line (Powertools JSON); warnings only by default. */
  readonly verbose?: boolean;
}

export interface LocalEndpoints {
  readonly bus: string;
  readonly dynamodb: string;
  readonly ses: string;
}

export interface LocalStack {
  readonly endpoints: LocalEndpoints;
  readonly tables: TableNames;
  readonly bus: LocalBus;
  readonly queue: LocalQueue;
  readonly stream: LocalStreamPoller;
  readonly sesFeedback: LocalSesFeedback;
  /** Waits until every event published so far was evaluated, dispatched and answered. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const LOCAL_SENDER = 'offers@baton.example';
const LOCAL_UNSUBSCRIBE_SECRET = 'local-only-secret';

const port = async (given: number | undefined, envVar: string, fallback: number): Promise<number> => {
  const value = given ?? (process.env[envVar] ? Number(process.env[envVar]) : fallback);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new Error(`${envVar} must be a port number; got ${process.env[envVar]}`);
  return value === 0 ? freePort() : value;
};

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stage = options.stage ?? LOCAL_STAGE;
  const [busPort, dynamodbPort, sesPort] = await Promise.all([
    port(options.busPort, 'BATON_BUS_PORT', DEFAULT_PORTS.bus),
    port(options.dynamodbPort, 'BATON_DYNAMODB_PORT', DEFAULT_PORTS.dynamodb),
    port(options.sesPort, 'BATON_SES_PORT', DEFAULT_PORTS.ses),
  ]);
  const started: RunningServer[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  };
  try {
    const [dynamodb, ses] = await Promise.all([
      startDynamoDbLocal({ port: dynamodbPort, ...(options.persistDir ? { persistDir: options.persistDir } : {}) }).then((s) => {
        started.push(s);
        return s;
      }),
      startSesLocal({ port: sesPort }).then((s) => {
        started.push(s);
        return s;
      }),
    ]);
    const tables = tableNames(stage);
    const ddb = new DynamoDBClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stoppers.push(async () => ddb.destroy());
    await createTables(ddb, tables);

    const busEndpoint = `http://127.0.0.1:${busPort}`;
    // The handlers read their configuration from the environment, exactly as on Lambda.
    Object.assign(process.env, {
      AWS_REGION: LOCAL_REGION,
      AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      POWERTOOLS_LOG_LEVEL: options.verbose ? 'INFO' : 'WARN',
      POWERTOOLS_METRICS_DISABLED: options.verbose ? 'false' : 'true',
      [ENV.stage]: stage,
      [ENV.busName]: BUS_NAME,
      [ENV.sender]: LOCAL_SENDER,
      [ENV.unsubscribeBaseUrl]: `${busEndpoint}/unsubscribe`,
      [ENV.unsubscribeSecret]: LOCAL_UNSUBSCRIBE_SECRET,
      [ENV.dynamodbEndpoint]: dynamodb.endpoint,
      [ENV.sesEndpoint]: ses.endpoint,
      [ENV.busEndpoint]: busEndpoint,
      ...Object.fromEntries(TABLE_KEYS.map((k) => [tableEnvVar(k), tables[k]])),
    });

    const queue = new LocalQueue({ name: `baton-${stage}-inbound`, handler: evaluateHandler() as never });
    stoppers.push(() => queue.stop());
    const queues: Record<RouteTarget, LocalQueue> = { evaluate: queue };

    const stream = new LocalStreamPoller(dynamodb.endpoint, await streamArn(ddb, tables.decisions), dispatchHandler() as never, {
      name: `baton-${stage}-dispatch`,
    });
    stream.start();
    stoppers.push(() => stream.stop());

    const extensions: HttpExtension[] = [];
    const bus = new LocalBus({ port: busPort, deliver: (target, body) => queues[target].send(body), extensions });
    await bus.start();
    stoppers.push(() => bus.stop());

    const sesFeedback = new LocalSesFeedback(ses.endpoint, bus, LOCAL_UNSUBSCRIBE_SECRET);
    sesFeedback.start();
    stoppers.push(() => sesFeedback.stop());
    extensions.push(localInspection({ bus, queue, stream, sesFeedback }));

    const endpoints = { bus: bus.endpoint, dynamodb: dynamodb.endpoint, ses: ses.endpoint };
    return {
      endpoints,
      tables,
      bus,
      queue,
      stream,
      sesFeedback,
      async settled(timeoutMs = 20_000) {
        const deadline = Date.now() + timeoutMs;
        // Quiet means: queue empty, stream idle and SES feedback read, twice in a row.
        let quiet = 0;
        while (quiet < 2) {
          if (Date.now() > deadline) throw new Error(`local stack did not settle within ${timeoutMs} ms`);
          await queue.drained();
          await sesFeedback.poll();
          await new Promise((r) => setTimeout(r, 150));
          quiet = queue.depth === 0 && stream.isIdle ? quiet + 1 : 0;
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
