// The whole of Baton on one machine: DynamoDB Local, the local SES, the local bus, the queue and
// stream stand-ins, and the real handlers in-process. Used by `npm start` and by the tests.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SETTING_DEFAULTS, type Settings } from '../lib/contract/config.ts';
import { tableNames, type TableNames } from '../lib/contract/tables.ts';
import { BUS_NAME, type RouteTarget } from '../lib/contract/routes.ts';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, SQSEvent } from 'aws-lambda';
import { evaluateHandler } from '../functions/evaluate.ts';
import { dispatchHandler } from '../functions/dispatch.ts';
import { decisionsApiHandler } from '../functions/decisions-api.ts';
import { decisionApiDeps } from '../lib/wiring/decision-api.ts';
import { dispatchDeps } from '../lib/wiring/dispatch.ts';
import { ingestDeps } from '../lib/wiring/ingest.ts';
import { segmentsRefreshDeps } from '../lib/wiring/segments.ts';
import { refreshSegments, type RefreshReport } from '../lib/app/segments-refresh.ts';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { documentClient } from '../lib/adapters/dynamo/client.ts';
import type { ObservabilityOptions } from '../lib/wiring/observability.ts';
import type { ChannelSender, DeadLetterEntry, HeldMessages } from '../lib/app/ports.ts';
import { startDynamoDbLocal, startSesLocal, freePort, type RunningServer } from './servers.ts';
import { createTables, streamArn } from './tables.ts';
import { LocalBus, type HttpExtension, type RawHttpExtension } from './bus.ts';
import { LocalQueue } from './queue.ts';
import { LocalStreamPoller } from './streams.ts';
import { LocalSesFeedback } from './ses-feedback.ts';
import { localInspection, LocalMessages } from './inspection.ts';
import { LocalSns } from './sns.ts';
import { LocalIot } from './iot.ts';
import { localContext } from './lambda-context.ts';
import { LiveSummary } from './summary.ts';
import { DEFAULT_PORTS, LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STAGE } from './constants.ts';

export interface LocalStackOptions {
  /** 0 picks a free port (tests). Defaults: bus 4010, DynamoDB 8000, SES 8005 (`npm start` reads BATON_*_PORT). */
  readonly busPort?: number;
  readonly dynamodbPort?: number;
  readonly sesPort?: number;
  /** Keep DynamoDB data in this directory between runs; in memory when undefined. */
  readonly persistDir?: string;
  readonly stage?: string;
  /** Show every handler log line (Powertools JSON) and their metrics; warnings only by default. */
  readonly verbose?: boolean;
  /** The handlers' log level when not verbose. @default 'WARN' */
  readonly logLevel?: 'WARN' | 'ERROR';
  /** How often the handlers re-read rules and campaigns. @default the sources' own (10 s) */
  readonly rulesRefreshMs?: number;
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
  /** What the SNS and IoT stand-ins received, joined with the decisions they were sent for. */
  readonly messages: LocalMessages;
  readonly sns: LocalSns;
  /** Permanent send failures (the cloud's dispatch DLQ), also at GET /local/dead-letters. */
  readonly sendFailures: DeadLetterEntry[];
  /** Running figures (events, decisions, messages, quarantine, dead letters, skipped rules). */
  readonly summary: LiveSummary;
  /** The daily segment refresh (it also runs once a day while the stack is up), as of `at` (default now). */
  refreshSegments(at?: Date): Promise<RefreshReport>;
  /** Waits until every event published so far was evaluated, dispatched and answered. */
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
): Settings {
  return {
    stage,
    tables,
    aws: {
      region: LOCAL_REGION,
      credentials: LOCAL_CREDENTIALS,
      // SNS (SMS, push) and IoT (device messages) stand-ins are served on the bus port.
      endpoints: { dynamodb: endpoints.dynamodb, ses: endpoints.ses, bus: endpoints.bus, sns: endpoints.bus, iot: endpoints.bus },
    },
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
  const [busPort, dynamodbPort, sesPort] = await Promise.all([
    port(options.busPort, DEFAULT_PORTS.bus),
    port(options.dynamodbPort, DEFAULT_PORTS.dynamodb),
    port(options.sesPort, DEFAULT_PORTS.ses),
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
    // The handlers get their settings as an object, built as a Lambda function's are (never process.env).
    const settings = localSettings({ endpoints: { bus: busEndpoint, dynamodb: dynamodb.endpoint, ses: ses.endpoint }, tables, stage, rulesRefreshMs: options.rulesRefreshMs });
    const observe: ObservabilityOptions = { logLevel: options.verbose ? 'INFO' : (options.logLevel ?? 'WARN'), metrics: options.verbose ?? false };

    // The handlers' metrics are counted on their way to Powertools, for the live summary.
    const summary = new LiveSummary();
    const evaluate = evaluateHandler((o) => ingestDeps(settings, { port: summary.tap(o.port), logger: o.logger }), observe);
    const queue = new LocalQueue({ name: `baton-${stage}-inbound`, handler: evaluate as never });
    stoppers.push(() => queue.stop());
    const queues: Record<RouteTarget, LocalQueue> = { evaluate: queue };

    // Dispatch as on Lambda, with the two ports that have no local server replaced: quiet-hours
    // holds are timers (the cloud uses an SQS queue with a delay) and permanent failures go to a
    // list (the cloud's dispatch DLQ). Senders are wrapped to note which decision each message was.
    const messages = new LocalMessages();
    const sendFailures: DeadLetterEntry[] = [];
    const timers = new Set<NodeJS.Timeout>();
    let dispatch: ReturnType<typeof dispatchHandler>;
    const held: HeldMessages = {
      async hold(key) {
        const wait = Math.max(0, Math.min(15 * 60_000, Date.parse(key.notBefore) - Date.now()));
        const timer = setTimeout(() => {
          timers.delete(timer);
          const event = { Records: [{ eventSource: 'aws:sqs', messageId: randomUUID(), body: JSON.stringify(key) }] } as unknown as SQSEvent;
          void (dispatch as unknown as (e: SQSEvent, c: unknown) => Promise<unknown>)(event, localContext(`baton-${stage}-dispatch`)).catch(() => undefined);
        }, wait);
        timer.unref();
        timers.add(timer);
      },
    };
    stoppers.push(async () => timers.forEach(clearTimeout));
    dispatch = dispatchHandler(async (o) => {
      const deps = await dispatchDeps(settings, { ...o, port: summary.tap(o.port) });
      const senders = Object.fromEntries(
        Object.entries(deps.senders).map(([channel, sender]) => [channel, annotated(sender!, messages)]),
      ) as typeof deps.senders;
      return { ...deps, senders, held, deadLetters: { put: async (entry) => void sendFailures.push(entry) } };
    }, observe);
    const stream = new LocalStreamPoller(dynamodb.endpoint, await streamArn(ddb, tables.decisions), dispatch as never, {
      name: `baton-${stage}-dispatch`,
    });
    stream.start();
    stoppers.push(() => stream.stop());

    const extensions: HttpExtension[] = [];
    const bus = new LocalBus({ port: busPort, deliver: (target, body) => queues[target].send(body), extensions, rawExtensions: [decisionApi(decisionsApiHandler((o) => decisionApiDeps(settings, o), observe))] });
    await bus.start();
    stoppers.push(() => bus.stop());
    summary.attach({ bus, queue, stream, messages, sendFailures });

    const sesFeedback = new LocalSesFeedback(ses.endpoint, bus, LOCAL_UNSUBSCRIBE_SECRET, (id) => messages.metaOf(id));
    sesFeedback.start();
    stoppers.push(() => sesFeedback.stop());
    const sns = new LocalSns(messages);
    const iot = new LocalIot(messages);
    extensions.push(
      localInspection({ bus, queue, stream, sesFeedback, sesEndpoint: ses.endpoint, messages, sendFailures, summary, stats: () => ({ sns: sns.stats, iot: iot.stats }) }),
      sesFeedback.extension(),
      sns.extension(),
      iot.extension(),
    );

    // The cloud runs the segment refresh on a daily schedule; here a timer does, and tests call it with their own clock.
    const refreshDb = documentClient({ endpoint: dynamodb.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const refreshBus = new EventBridgeClient({ endpoint: bus.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    stoppers.push(async () => {
      refreshDb.destroy();
      refreshBus.destroy();
    });
    const refresh = (at?: Date) =>
      refreshSegments(segmentsRefreshDeps({ db: refreshDb, bus: refreshBus, tables, metrics: summary.tap({ count: () => undefined }), ...(at ? { clock: () => at } : {}) }));
    const daily = setInterval(() => void refresh().catch(() => undefined), 86_400_000);
    daily.unref();
    stoppers.push(async () => clearInterval(daily));

    const endpoints = { bus: bus.endpoint, dynamodb: dynamodb.endpoint, ses: ses.endpoint };
    return {
      endpoints,
      tables,
      bus,
      queue,
      stream,
      sesFeedback,
      messages,
      sns,
      sendFailures,
      summary,
      refreshSegments: refresh,
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
