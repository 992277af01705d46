// The whole of Baton on one machine: DynamoDB Local, the local SES, the local bus, the local
// Scheduler, the queue and stream stand-ins, and the real handlers in-process, all on one clock
// (real time unless told otherwise). Used by `npm start` and by the tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SETTING_DEFAULTS, type Settings } from '../lib/contract/config.ts';
import { documentClient } from '../lib/adapters/dynamo/client.ts';
import { tableNames, type TableNames } from '../lib/contract/tables.ts';
import { BUS_NAME, type RouteTarget } from '../lib/contract/routes.ts';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSEvent } from 'aws-lambda';
import { evaluateHandler } from '../functions/evaluate.ts';
import { dispatchHandler } from '../functions/dispatch.ts';
import { aggregatesHandler } from '../functions/aggregates.ts';
import { aggregatorFor } from '../lib/wiring/reports.ts';
import { decisionsApiHandler } from '../functions/decisions-api.ts';
import { decisionApiDeps } from '../lib/wiring/decision-api.ts';
import { consoleApiHandler } from '../functions/console-api.ts';
import { consoleDeps } from '../lib/wiring/console.ts';
import { localConsole } from './console.ts';
import { dispatchDeps } from '../lib/wiring/dispatch.ts';
import { ingestDeps } from '../lib/wiring/ingest.ts';
import { segmentsRefreshDeps } from '../lib/wiring/segments.ts';
import { refreshSegments, type RefreshReport } from '../lib/app/segments-refresh.ts';
import { createRuns, type Runs } from '../lib/app/runs.ts';
import { runDeps } from '../lib/wiring/runs.ts';
import { LocalRunWorker } from './runs.ts';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { ObservabilityOptions } from '../lib/wiring/observability.ts';
import type { ChannelSender, DeadLetterEntry, HeldMessages } from '../lib/app/ports.ts';
import { startDynamoDbLocal, startSesLocal, freePort, type RunningServer } from './servers.ts';
import { createSchedulesTable, createTables, schedulesTableName, streamArn } from './tables.ts';
import { LocalBus, type HttpExtension, type RawHttpExtension } from './bus.ts';
import { LocalQueue } from './queue.ts';
import { LocalStreamPoller } from './streams.ts';
import { LocalSesFeedback } from './ses-feedback.ts';
import { localInspection, LocalMessages } from './inspection.ts';
import { LocalSns } from './sns.ts';
import { LocalIot } from './iot.ts';
import { LocalDestinationDelivery, LocalWebhooks } from './webhooks.ts';
import { DynamoDestinationSource } from '../lib/adapters/dynamo/destinations.ts';
import { DynamoDecisionStore } from '../lib/adapters/dynamo/decisions.ts';
import { localContext } from './lambda-context.ts';
import { timerRelayDeps } from '../lib/wiring/journeys.ts';
import { SWEEP_EVENT } from '../lib/contract/journeys.ts';
import { LiveSummary } from './summary.ts';
import { LocalClock, clockExtension } from './clock.ts';
import { LocalScheduler } from './scheduler.ts';
import { DEFAULT_PORTS, LOCAL_ACCOUNT, LOCAL_CREDENTIALS, LOCAL_EXPORT_SECRET, LOCAL_REGION, LOCAL_STAGE } from './constants.ts';
import { exportHandler } from '../functions/export.ts';
import { exporterFor } from '../lib/wiring/export.ts';
import { EXPORT_TABLES } from '../lib/contract/export.ts';

export interface LocalStackOptions {
  /** 0 picks a free port (tests). Defaults: bus 4010, DynamoDB 8000, SES 8005, Scheduler 4011 (`npm start` reads BATON_*_PORT). */
  readonly busPort?: number;
  readonly dynamodbPort?: number;
  readonly sesPort?: number;
  readonly schedulerPort?: number;
  /**
   * The one clock of the stack: every use case and the Scheduler read it. Simulated seconds per
   * real second (3600: an hour a second); 0 stands still until POST /local/clock/advance. @default 1
   */
  readonly clockSpeed?: number;
  /** Or a clock of the caller's own (tests), instead of one made from `clockSpeed`. */
  readonly clock?: LocalClock;
  /** Keep DynamoDB data in this directory between runs; in memory when undefined. */
  readonly persistDir?: string;
  /**
   * A DynamoDB Local already running (the tests' shared one), used instead of starting a JVM: the
   * stack creates its stage's tables there and leaves the server running when it stops. Give each
   * such stack a stage of its own, so its tables are its own. `dynamodbPort` and `persistDir` are then ignored.
   */
  readonly dynamodbEndpoint?: string;
  readonly stage?: string;
  /** Show every handler log line (Powertools JSON) and their metrics; warnings only by default. */
  readonly verbose?: boolean;
  /** The handlers' log level when not verbose. @default 'WARN' */
  readonly logLevel?: 'WARN' | 'ERROR';
  /** How often the handlers re-read rules and campaigns. @default the sources' own (10 s) */
  readonly rulesRefreshMs?: number;
  /**
   * The analytical export, off unless asked for: it needs streams on the customers and ledger
   * tables and three more stream pollers, which slow every DynamoDB-heavy caller (the tests' shared
   * stack leaves it off; `npm start` turns it on). Its Parquet files go under `dir`.
   */
  readonly export?: { readonly dir: string };
}

export interface LocalEndpoints {
  readonly bus: string;
  readonly dynamodb: string;
  readonly ses: string;
  /** The local Scheduler (EventBridge Scheduler's API). */
  readonly scheduler?: string;
}

/** The journey timers' settings (BATON_SCHEDULER_* on Lambda): group, the role Scheduler assumes, target, DLQ. */
export interface SchedulerSettings {
  readonly group: string;
  readonly roleArn: string;
  readonly targetArn: string;
  readonly deadLetterArn: string;
}

/** The settings of the local handlers: Baton's, with the journey timers' and the Scheduler endpoint. */
export type LocalSettings = Settings & {
  readonly scheduler?: SchedulerSettings;
  readonly aws: Settings['aws'] & { readonly endpoints: Settings['aws']['endpoints'] & { readonly scheduler?: string } };
};

/** The local stand-ins of what the cloud stack creates for journey timers (infra/constructs/journeys.ts). */
export const localSchedulerSettings = (stage: string): SchedulerSettings => ({
  group: `baton-${stage}-journeys`,
  roleArn: `arn:aws:iam::${LOCAL_ACCOUNT}:role/baton-${stage}-scheduler`,
  targetArn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:baton-${stage}-inbound`,
  deadLetterArn: `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:baton-${stage}-timers-dlq`,
});

export interface LocalStack {
  readonly endpoints: Required<LocalEndpoints>;
  readonly tables: TableNames;
  readonly bus: LocalBus;
  readonly queue: LocalQueue;
  readonly stream: LocalStreamPoller;
  /** Journey timers: one-time schedules fired into the evaluate queue on the stack's clock. */
  readonly scheduler: LocalScheduler;
  /** The stack's one clock (GET /local/clock, POST /local/clock/advance). */
  readonly clock: LocalClock;
  readonly sesFeedback: LocalSesFeedback;
  /** The analytical export's folder, kind=<kind>/day=<day>/part-….parquet (docs/reports.md); undefined when the export is off. */
  readonly exportDir: string | undefined;
  /** What the SNS and IoT stand-ins received, joined with the decisions they were sent for. */
  readonly messages: LocalMessages;
  readonly sns: LocalSns;
  /** Permanent send failures (the cloud's dispatch DLQ), also at GET /local/dead-letters. */
  readonly sendFailures: DeadLetterEntry[];
  /** Running figures (events, decisions, messages, quarantine, dead letters, skipped rules). */
  readonly summary: LiveSummary;
  /** Outbound runs (docs/campaigns.md); a worker on the stack's clock executes the due ones. */
  readonly runs: Runs;
  /** The daily segment refresh (it also runs once a day while the stack is up), as of `at` (default now). */
  refreshSegments(at?: Date): Promise<RefreshReport>;
  /** Waits until every event published so far was evaluated, dispatched and answered; throws after `timeoutMs` without progress. */
  settled(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export const LOCAL_SENDER = 'offers@baton.example';
const LOCAL_UNSUBSCRIBE_SECRET = 'local-only-secret';

/**
 * The settings the handlers run with on this machine, as a Lambda function would read them from
 * its environment, plus what only the laptop has: endpoints, region, dummy credentials, and the
 * unsubscribe key as a value (there is no Secrets Manager here).
 */
export function localSettings(
  { endpoints, tables, stage = LOCAL_STAGE, rulesRefreshMs }: { endpoints: LocalEndpoints; tables: TableNames; stage?: string; rulesRefreshMs?: number | undefined },
): LocalSettings {
  return {
    stage,
    tables,
    aws: {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      // SNS (SMS, push) and IoT (device messages) stand-ins are served on the bus port.
      endpoints: {
        dynamodb: endpoints.dynamodb,
        ses: endpoints.ses,
        bus: endpoints.bus,
        sns: endpoints.bus,
        iot: endpoints.bus,
        ...(endpoints.scheduler ? { scheduler: endpoints.scheduler } : {}),
      },
    },
    ...(endpoints.scheduler ? { scheduler: localSchedulerSettings(stage) } : {}),
    busName: BUS_NAME,
    ...(rulesRefreshMs ? { rulesRefreshMs } : {}),
    email: { from: LOCAL_SENDER },
    sms: { monthlyBudgetUsd: SETTING_DEFAULTS.smsMonthlyBudgetUsd, costPerPartUsd: SETTING_DEFAULTS.smsCostPerPartUsd },
    // One in-process dispatch instance here: SES's production rate, not a fifth of it.
    channelRates: { email: 14, sms: 10, push: 50, device: 50, bus: 100 },
    deliverabilityGuard: true,
    unsubscribe: { baseUrl: `${endpoints.bus}/unsubscribe`, secret: { value: LOCAL_UNSUBSCRIBE_SECRET } },
    // The two queues have no local server: the stack replaces both ports (see dispatch below).
    queues: {},
  };
}

const port = async (given: number | undefined, fallback: number): Promise<number> => {
  const value = given ?? fallback;
  return value === 0 ? freePort() : value;
};

export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stage = options.stage ?? LOCAL_STAGE;
  const [busPort, dynamodbPort, sesPort, schedulerPort] = await Promise.all([
    port(options.busPort, DEFAULT_PORTS.bus),
    port(options.dynamodbPort, DEFAULT_PORTS.dynamodb),
    port(options.sesPort, DEFAULT_PORTS.ses),
    // A stack on a free bus port (tests, benchmarks) gets a free Scheduler port too, unless told one.
    port(options.schedulerPort ?? (options.busPort === 0 ? 0 : undefined), DEFAULT_PORTS.scheduler),
  ]);
  const clock = options.clock ?? new LocalClock({ speed: options.clockSpeed ?? 1 });
  const started: RunningServer[] = [];
  const stoppers: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stoppers.reverse()) await stop().catch(() => undefined);
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
  };
  try {
    const [dynamodb, ses] = await Promise.all([
      options.dynamodbEndpoint
        ? Promise.resolve({ endpoint: options.dynamodbEndpoint })
        : startDynamoDbLocal({ port: dynamodbPort, ...(options.persistDir ? { persistDir: options.persistDir } : {}) }).then((s) => {
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
    stoppers.push(async () => clock.stop());
    const timersTable = schedulesTableName(stage);
    // No TTL: DynamoDB Local deletes expired items by the real clock, and the stack's clock may be
    // simulated (a start in the past, a speed, advance()): an hour's capacity counter, kept "a day
    // after its hour" of the stack's clock, would vanish at once and its hour's capacity with it.
    await Promise.all([createTables(ddb, tables, { timeToLive: false, exportStreams: options.export !== undefined }), createSchedulesTable(ddb, timersTable)]);

    const busEndpoint = `http://127.0.0.1:${busPort}`;
    const schedulerEndpoint = `http://127.0.0.1:${schedulerPort}`;
    // The handlers get their settings as an object, built as a Lambda function's are (never process.env).
    const settings = localSettings({
      endpoints: { bus: busEndpoint, dynamodb: dynamodb.endpoint, ses: ses.endpoint, scheduler: schedulerEndpoint },
      tables,
      stage,
      rulesRefreshMs: options.rulesRefreshMs,
    });
    const observe: ObservabilityOptions = { logLevel: options.verbose ? 'INFO' : (options.logLevel ?? 'WARN'), metrics: options.verbose ?? false };

    // The handlers' metrics are counted on their way to Powertools, for the live summary; every
    // use case reads the stack's clock.
    const summary = new LiveSummary();
    const evaluate = evaluateHandler(
      (o) => ({ ...ingestDeps(settings, { port: summary.tap(o.port), logger: o.logger }, undefined, clock.now), clock: clock.now }),
      observe,
      (o) => timerRelayDeps(settings, { port: summary.tap(o.port), logger: o.logger }),
    );
    const queue = new LocalQueue({ name: `baton-${stage}-inbound`, handler: evaluate as never });
    stoppers.push(() => queue.stop());
    const queues: Record<RouteTarget, LocalQueue> = { evaluate: queue };

    // Journey timers: Scheduler's one-time schedules, delivered to the evaluate queue as the cloud's
    // Scheduler sends them to the inbound SQS queue.
    const timersDb = documentClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stoppers.push(async () => timersDb.destroy());
    const timerSettings = settings.scheduler!;
    const scheduler = new LocalScheduler({
      port: schedulerPort,
      clock,
      db: timersDb,
      table: timersTable,
      groups: [timerSettings.group],
      targets: { [timerSettings.targetArn]: (input) => void queue.send(input) },
    });
    await scheduler.start();
    stoppers.push(() => scheduler.stop());
    // The timer outbox's sweep, as the cloud's recurring schedule puts it on the inbound queue: at start
    // (timers a stopped stack left with --persist) and every five real minutes.
    const sweep = () => void queue.send(JSON.stringify(SWEEP_EVENT));
    sweep();
    const sweeps = setInterval(sweep, 5 * 60_000);
    sweeps.unref();
    stoppers.push(async () => clearInterval(sweeps));

    // Dispatch as on Lambda, with the two ports that have no local server replaced: quiet-hours
    // holds are timers (the cloud uses an SQS queue with a delay) and permanent failures go to a
    // list (the cloud's dispatch DLQ). Senders are wrapped to note which decision each message was.
    const messages = new LocalMessages();
    const sendFailures: DeadLetterEntry[] = [];
    let dispatch: ReturnType<typeof dispatchHandler>;
    const held: HeldMessages = {
      async hold(key) {
        // As the cloud's held queue: back after at most 15 minutes (of the stack's clock), re-held if still early.
        const at = Math.min(Date.parse(key.notBefore), clock.nowMs() + 15 * 60_000);
        clock.setTimer(at, () => {
          const event = { Records: [{ eventSource: 'aws:sqs', messageId: randomUUID(), body: JSON.stringify(key) }] } as unknown as SQSEvent;
          void (dispatch as unknown as (e: SQSEvent, c: unknown) => Promise<unknown>)(event, localContext(`baton-${stage}-dispatch`)).catch(() => undefined);
        });
      },
    };
    dispatch = dispatchHandler(async (o) => {
      const deps = await dispatchDeps(settings, { ...o, port: summary.tap(o.port) });
      const senders = Object.fromEntries(
        Object.entries(deps.senders).map(([channel, sender]) => [channel, annotated(sender!, messages)]),
      ) as typeof deps.senders;
      return { ...deps, senders, held, deadLetters: { put: async (entry) => void sendFailures.push(entry) }, clock: clock.now };
    }, observe);
    const stream = new LocalStreamPoller(dynamodb.endpoint, await streamArn(ddb, tables.decisions), dispatch as never, {
      name: `baton-${stage}-dispatch`,
    });
    stream.start();
    stoppers.push(() => stream.stop());
    // The report aggregates read the same stream, as a second consumer does in the cloud.
    const aggregatesDb = documentClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const aggregates = new LocalStreamPoller(dynamodb.endpoint, await streamArn(ddb, tables.decisions), aggregatesHandler(() => aggregatorFor(aggregatesDb, tables), observe) as never, {
      name: `baton-${stage}-aggregates`,
    });
    aggregates.start();
    stoppers.push(async () => {
      await aggregates.stop();
      aggregatesDb.destroy();
    });
    // The analytical export, when asked for: the same handler as the cloud's, on the three tables' streams, writing to a folder.
    const exportDir = options.export?.dir;
    const exporters: LocalStreamPoller[] = [];
    if (exportDir !== undefined) {
      const exportDb = documentClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      const exportSettings = { ...settings, export: { folder: exportDir, secret: { value: LOCAL_EXPORT_SECRET } } };
      const exporting = exportHandler(async () => ({ tables, run: await exporterFor(exportSettings, exportDb) }), observe);
      for (const t of EXPORT_TABLES) {
        exporters.push(new LocalStreamPoller(dynamodb.endpoint, await streamArn(ddb, tables[t]), exporting as never, { name: `baton-${stage}-export-${t}` }));
      }
      for (const e of exporters) e.start();
      stoppers.push(async () => {
        await Promise.all(exporters.map((e) => e.stop()));
        exportDb.destroy();
      });
    }

    // Destinations (docs/destinations.md): bus actions that name one go to its URL, here usually the
    // webhook stand-in on the bus port, with the destination's retry policy and a dead-letter list.
    const destinationsDb = documentClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stoppers.push(async () => destinationsDb.destroy());
    const destinationMetrics = summary.tap({ count: () => undefined });
    const delivery = new LocalDestinationDelivery({
      destinations: new DynamoDestinationSource(destinationsDb, tables.templates, ({ destinationId, reason }) => {
        console.warn(`destination ${destinationId} skipped: ${reason}`);
        destinationMetrics.count('DestinationsRejected');
      }, 300),
      outbox: new DynamoDecisionStore(destinationsDb, tables.decisions),
      metrics: destinationMetrics,
      clock: clock.now,
    });
    const webhooks = new LocalWebhooks();
    const extensions: HttpExtension[] = [webhooks.extension(), delivery.extension()];
    const bus = new LocalBus({
      onEvent: (event) => delivery.onEvent(event),
      port: busPort,
      deliver: (target, body) => queues[target].send(body),
      extensions,
      rawExtensions: [
        decisionApi(decisionsApiHandler(async (o) => ({ ...(await decisionApiDeps(settings, o)), clock: clock.now }), observe)),
        // The console (docs/console.md): its page, bundle and API on this port, built on first use.
        localConsole(
          consoleApiHandler(
            () =>
              consoleDeps(settings, { tenant: stage, fourEyes: true }, {
                overview: async () => ({ ...summary.figures() }),
                // What every channel sent, as /local/messages has it (email with its HTML).
                messages: async (customerId) =>
                  ((await (await fetch(`${busEndpoint}/local/messages${customerId ? `?customer=${encodeURIComponent(customerId)}` : ''}`)).json()) as { messages: Record<string, unknown>[] }).messages,
                clock: clock.now,
              }),
            observe,
          ),
          stage,
        ),
      ],
      clock: clock.now,
    });
    await bus.start();
    stoppers.push(() => bus.stop());
    summary.attach({ bus, queue, stream, messages, sendFailures, scheduler, clock });

    const sesFeedback = new LocalSesFeedback(ses.endpoint, bus, LOCAL_UNSUBSCRIBE_SECRET, (id) => messages.metaOf(id));
    sesFeedback.start();
    stoppers.push(() => sesFeedback.stop());
    const sns = new LocalSns(messages);
    const iot = new LocalIot(messages);
    extensions.push(
      localInspection({
        bus,
        queue,
        stream,
        sesFeedback,
        sesEndpoint: ses.endpoint,
        messages,
        sendFailures,
        summary,
        timerDeadLetters: scheduler.deadLetters,
        stats: () => ({ sns: sns.stats, iot: iot.stats, scheduler: scheduler.figures() }),
      }),
      clockExtension(clock),
      sesFeedback.extension(),
      sns.extension(),
      iot.extension(),
    );

    // The cloud runs the segment refresh on a daily schedule; here a timer on the stack's clock does
    // (so a simulated clock admits "no purchase in 90 days" on its 90th day), and tests pass their own time.
    const refreshDb = documentClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const refreshBus = new EventBridgeClient({ endpoint: bus.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stoppers.push(async () => {
      refreshDb.destroy();
      refreshBus.destroy();
    });
    const refresh = (at?: Date) =>
      refreshSegments(segmentsRefreshDeps({ db: refreshDb, bus: refreshBus, tables, metrics: summary.tap({ count: () => undefined }), clock: at ? () => at : clock.now }));
    const daily = () => clock.setTimer(clock.nowMs() + 86_400_000, () => {
      void refresh().catch(() => undefined);
      daily();
    });
    daily();

    // Outbound runs: decided through the same step as ingest, paced on the stack's clock; a run the
    // stack was working on when it died carries on from its checkpoint when it starts again.
    const runsDb = documentClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const runsBus = new EventBridgeClient({ endpoint: bus.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const runsLog = { warn: (message: string, attributes: Record<string, unknown>) => console.warn(message, attributes) };
    const runs = createRuns(
      runDeps(settings, { port: summary.tap({ count: () => undefined }), logger: runsLog }, {
        clients: { dynamodb: () => runsDb, bus: () => runsBus },
        clock: clock.now,
        sleep: (ms) => new Promise<void>((r) => clock.setTimer(clock.nowMs() + ms, r)),
      }),
    );
    const runWorker = new LocalRunWorker(runs, clock, (runId, error) => console.warn(`run ${runId}: ${(error as Error).message}; carrying on from its checkpoint`));
    runWorker.start();
    stoppers.push(async () => {
      runWorker.stop();
      runsDb.destroy();
      runsBus.destroy();
    });

    const endpoints = { bus: bus.endpoint, dynamodb: dynamodb.endpoint, ses: ses.endpoint, scheduler: scheduler.endpoint };
    return {
      endpoints,
      tables,
      bus,
      queue,
      stream,
      scheduler,
      clock,
      sesFeedback,
      exportDir,
      messages,
      sns,
      sendFailures,
      summary,
      refreshSegments: refresh,
      runs,
      async settled(timeoutMs = 20_000) {
        // The time allowed runs from the last sign of progress, not from the call: on a slow, busy
        // machine a long replay keeps moving and is waited for; a stack stuck for that long is not.
        let deadline = Date.now() + timeoutMs;
        let seen = '';
        // Quiet means: no timer due, queue empty, stream idle and SES feedback read, twice in a row.
        let quiet = 0;
        while (quiet < 2) {
          const progress = `${summary.line()}|${queue.depth}|${scheduler.due}`;
          if (progress !== seen) (seen = progress), (deadline = Date.now() + timeoutMs);
          if (Date.now() > deadline) throw new Error(`local stack did not settle: no progress for ${timeoutMs} ms`);
          await scheduler.idle();
          await queue.drained();
          await sesFeedback.poll();
          // A fresh poll of every stream: what was committed before this line has been read since.
          await Promise.all([stream, aggregates, ...exporters].map((p) => p.caughtUp()));
          quiet = queue.depth === 0 && stream.isIdle && aggregates.isIdle && exporters.every((e) => e.isIdle) && scheduler.due === 0 && delivery.idle ? quiet + 1 : 0;
        }
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** Notes which decision and customer each provider message id belongs to, for /local/messages. */
function annotated(sender: ChannelSender, messages: LocalMessages): ChannelSender {
  return {
    async send(message) {
      const out = await sender.send(message);
      messages.annotate(out.providerMessageId, {
        channel: message.channel,
        decisionId: message.decisionId,
        customerId: message.recipient.customerId,
        ruleId: message.ruleId,
        campaignId: message.campaignId,
        ...(message.channel === 'bus' ? { text: JSON.stringify({ action: message.action, payload: message.payload ?? {} }), to: 'baton' } : {}),
        // A call-list entry: the team it is for and the agent's brief.
        ...(message.channel === 'call' ? { text: message.content.text, to: `team:${message.team ?? ''}` } : {}),
      });
      return out;
    },
  };
}

/** API Gateway HTTP API's payload limit: it refuses larger bodies before the function sees them. */
const API_GATEWAY_MAX_BODY_BYTES = 10 * 1024 * 1024;

/**
 * The decision API (POST /v1/decisions) and the unsubscribe page (/unsubscribe) on the bus port,
 * through the real Lambda handler with the event API Gateway's HTTP API (payload 2.0) would send.
 * It reads its own body, so the bus's PutEvents limit does not answer for it.
 */
function decisionApi(handler: ReturnType<typeof decisionsApiHandler>): RawHttpExtension {
  return async (req, res) => {
    const [path = '', query = ''] = (req.url ?? '').split('?');
    if (!(path === '/v1/decisions' || path.startsWith('/v1/decisions/') || path === '/unsubscribe')) return false;
    // Past API Gateway's limit the rest is read and dropped: the handler refuses the body on its size anyway.
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      if (size <= API_GATEWAY_MAX_BODY_BYTES) chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
    const event = {
      version: '2.0',
      routeKey: `${req.method} ${path}`,
      rawPath: path,
      rawQueryString: query,
      headers,
      ...(query ? { queryStringParameters: Object.fromEntries(new URLSearchParams(query)) } : {}),
      requestContext: { http: { method: req.method ?? 'GET', path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: headers['user-agent'] ?? '' }, requestId: randomUUID(), routeKey: `${req.method} ${path}`, stage: '$default', timeEpoch: Date.now() },
      body,
      isBase64Encoded: false,
    } as unknown as APIGatewayProxyEventV2;
    const out = (await (handler as unknown as (e: APIGatewayProxyEventV2, c: unknown) => Promise<APIGatewayProxyStructuredResultV2>)(event, localContext('decisions-api'))) ?? {};
    const text = typeof out.body === 'string' ? out.body : '';
    res.writeHead(out.statusCode ?? 200, { ...(out.headers as Record<string, string>), 'content-length': Buffer.byteLength(text) });
    res.end(text);
    return true;
  };
}
