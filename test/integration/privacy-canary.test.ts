// Privacy canary: distinctive names, emails and phone numbers go through the real evaluate handler
// (middy, Powertools logger and metrics, the DynamoDB adapters on the local stack) in valid and
// invalid events, with faults on the way. None of them may show up in a log line, a metric line, a
// quarantine reason or an error message; they must show up in the stored profile (so they did go
// through). The quarantine `body` keeps the original payload by design and is left out.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { evaluateHandler } from '../../functions/evaluate.ts';
import { ingestDeps } from '../../lib/wiring/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import type { CustomerRepository, QuarantineStore } from '../../lib/app/ports.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { localContext } from '../../local/lambda-context.ts';
import { localSettings } from '../../local/stack.ts';
import { endpoints, profileByExternalId, quarantined, tables, unique } from '../support/local.ts';
import { FaultyCustomerRepository } from '../support/faulty.ts';
import { capture } from '../support/capture.ts';
import { inspect } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { FullBatchFailureError } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse } from 'aws-lambda';
import { LocalBus } from '../../local/bus.ts';
import { LocalQueue } from '../../local/queue.ts';
import { LocalStreamPoller } from '../../local/streams.ts';
import { LocalMessages } from '../../local/inspection.ts';
import { LiveSummary } from '../../local/summary.ts';
import { startLocalStack } from '../../local/stack.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { eventually, putRule, putTemplate } from '../support/local.ts';
import { freshTables } from '../support/tables.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { streamArn } from '../../local/tables.ts';

const FIRST = 'Zyxcanary';
const LAST = 'Quorvath';
const EMAIL = 'zyx.canary.7731@example.com';
const PHONE = '+4915550007731';
/** Every form a leak could take: whole, in parts, lower-cased, the phone without its plus. */
const CANARIES = [`${FIRST} ${LAST}`, FIRST, LAST, EMAIL, PHONE, PHONE.slice(1), 'zyx.canary', '7731@example'].flatMap((c) => [c, c.toLowerCase()]);

const leaksIn = (text: string): string[] => CANARIES.filter((c) => text.includes(c) || text.toLowerCase().includes(c.toLowerCase()));

/** Records the message of every error a port throws (and throws it on). */
function recording<T extends object>(inner: T, errors: string[]): T {
  return new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (...args: unknown[]) => {
        try {
          return await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        } catch (err) {
          errors.push(`${(err as Error).name}: ${(err as Error).message} ${String((err as Error).cause ?? '')}`);
          throw err;
        }
      };
    },
  });
}

function envelope(id: string, source: string, detailType: string, detail: unknown): Record<string, unknown> {
  return { version: '0', id, source, 'detail-type': detailType, time: new Date().toISOString(), account: '123456789012', region: 'eu-west-1', resources: [], detail };
}

function sqsRecord(body: string): SQSRecord {
  return {
    messageId: randomUUID(),
    receiptHandle: 'handle',
    body,
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.now()), SenderId: 'AIDA', ApproximateFirstReceiveTimestamp: String(Date.now()) },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:eu-west-1:123456789012:baton-test-inbound',
    awsRegion: 'eu-west-1',
  };
}

describe('privacy canary', () => {
  it('keeps names, emails and phone numbers out of logs, metrics, reasons and errors', async () => {
    // Prepare: valid events that carry the canaries into the profile, invalid ones that carry them
    // into every kind of rejection, and the real handler with metrics on and the most verbose log level.
    const run = unique('canary');
    const crmId = `CRM-${run}`;
    const at = new Date().toISOString();
    const ids = { crmId, loyaltyCard: `LC-${run}`, email: EMAIL };
    const profile = { firstName: FIRST, lastName: LAST, email: EMAIL, phone: PHONE, locale: 'en', tags: [`${FIRST}-${LAST}`] };
    const upserted = envelope(`${run}-upserted`, 'baton.crm', 'CustomerUpserted', { ids, occurredAt: at, profile });
    const valid = [
      upserted,
      envelope(`${run}-consent`, 'baton.crm', 'ConsentChanged', { ids: { email: EMAIL }, occurredAt: at, channel: 'email', granted: true, via: `${FIRST} ${LAST} by phone ${PHONE}` }),
      envelope(`${run}-sale`, 'baton.pos', 'SaleCompleted', {
        ids: { loyaltyCard: `LC-${run}` }, occurredAt: at, saleId: `S-${run}`, storeId: `store ${FIRST}`,
        items: [{ sku: `ENGRAVED-${LAST}`, category: 'gifts', quantity: 1, unitPrice: 10 }], total: 10, currency: 'EUR',
      }),
    ].map((e) => JSON.stringify(e));
    const invalidEvents: [string, string][] = [
      ['invalid email', JSON.stringify(envelope(`${run}-bad-email`, 'baton.crm', 'CustomerUpserted', { ids: { crmId, email: `${FIRST} ${LAST} <${EMAIL}>` }, occurredAt: at, profile: {} }))],
      ['invalid phone', JSON.stringify(envelope(`${run}-bad-phone`, 'baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { ...profile, phone: `${PHONE} (${FIRST})` } }))],
      ['wrong types', JSON.stringify(envelope(`${run}-bad-types`, 'baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { firstName: [FIRST], lastName: { [LAST]: EMAIL }, tier: `${FIRST} ${PHONE}` } }))],
      ['personal data as keys', JSON.stringify(envelope(`${run}-bad-keys`, 'aws.ses', 'Email Delivered', { eventType: 'Delivery', mail: { timestamp: at, messageId: run, destination: [EMAIL], tags: { [EMAIL]: 'x', [PHONE]: 'y' } }, delivery: { timestamp: at } }))],
      ['control character', JSON.stringify(envelope(`${run}-bad-control`, 'baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { ...profile, firstName: `${FIRST}\u0007${LAST}` } }))],
      ['forbidden key', JSON.stringify(envelope(`${run}-bad-proto`, 'baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile })).replace('"profile":{', `"profile":{"__proto__":{"name":"${FIRST} ${LAST}"},`)],
      ['not JSON', JSON.stringify(upserted).slice(0, -20).replace(`${run}-upserted`, `${run}-bad-json`)],
      ['too large', JSON.stringify(envelope(`${run}-bad-large`, 'baton.crm', 'CustomerUpserted', { ids, occurredAt: at, profile, note: `${FIRST} ${LAST} ${EMAIL} ${PHONE} `.repeat(4_500) }))],
      ['too deep', JSON.stringify(envelope(`${run}-bad-deep`, 'baton.crm', 'CustomerUpserted', { ids, occurredAt: at, profile, deep: JSON.parse(`${'{"a":'.repeat(40)}"${EMAIL}"${'}'.repeat(40)}`) as unknown }))],
      ['no customer id', JSON.stringify(envelope(`${run}-bad-ids`, 'baton.crm', 'CustomerUpserted', { ids: {}, occurredAt: at, profile }))],
      ['reused event id', JSON.stringify({ ...upserted, detail: { ids, occurredAt: at, profile: { ...profile, firstName: `${FIRST}a` } } })],
    ];

    const errors: string[] = [];
    let faulty: FaultyCustomerRepository<CustomerState> | undefined;
    const env = { POWERTOOLS_METRICS_DISABLED: 'false', POWERTOOLS_LOG_LEVEL: 'DEBUG', POWERTOOLS_DEV: undefined, POWERTOOLS_SERVICE_NAME: 'evaluate' };
    const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));

    // Act: the valid events first (the reused id needs its original), then every invalid one, with a
    // throttled call and a crash after a commit on the way; SQS redelivers the failed records.
    const { result, lines } = await capture(async () => {
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      try {
        const handler = evaluateHandler((o) => {
          const deps = ingestDeps(localSettings({ endpoints: endpoints(), tables: tables() }), o);
          faulty = new FaultyCustomerRepository(deps.customers as DynamoCustomerRepository<CustomerState>, { seed: 7731 });
          faulty.arm('throttle');
          faulty.arm('after-commit');
          return {
            ...deps,
            customers: recording<CustomerRepository<CustomerState>>(faulty, errors),
            quarantine: recording<QuarantineStore>(deps.quarantine, errors),
          };
        });
        const invoke = async (bodies: string[]) => {
          const records = bodies.map(sqsRecord);
          const response = (await handler({ Records: records } as SQSEvent, localContext('evaluate'))) as { batchItemFailures: { itemIdentifier: string }[] };
          return response.batchItemFailures.map((f) => records.find((r) => r.messageId === f.itemIdentifier)!.body);
        };
        const failures: number[] = [];
        for (const batch of [valid, invalidEvents.map(([, body]) => body)]) {
          let pending = batch;
          for (let attempt = 0; pending.length > 0; attempt++) {
            if (attempt > 5) throw new Error(`records still failing after 5 redeliveries: ${pending.length}`);
            pending = await invoke(pending);
            failures.push(pending.length);
          }
        }
        return { failures };
      } finally {
        for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
      }
    });

    // Assess: it really ran. The faults failed records (errors to check), logs and metrics were written.
    expect(result.failures.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(faulty?.injected.throttle).toBe(1);
    expect(faulty?.injected['after-commit']).toBe(1);
    expect(errors.length).toBeGreaterThanOrEqual(2);
    const logs = lines.filter((l) => l.includes('"message":"event"'));
    expect(logs.length).toBeGreaterThanOrEqual(valid.length + invalidEvents.length);
    expect(logs.some((l) => l.includes('"outcome":"quarantined"'))).toBe(true);
    const metricLines = lines.filter((l) => l.includes('"_aws"') && l.includes('"CloudWatchMetrics"'));
    expect(metricLines.join('\n')).toContain('EventsApplied');
    expect(metricLines.join('\n')).toContain('EventsQuarantined');

    // The canaries went through: they are in the stored profile.
    const stored = await profileByExternalId('crmId', crmId);
    const state = JSON.stringify(stored?.state ?? null);
    for (const c of [FIRST, LAST, EMAIL, PHONE]) expect(state).toContain(c);
    expect(stored?.identities).toContain(`email#${EMAIL}`);

    // Every invalid event was quarantined; its reason (and everything but the original body) is clean.
    const entries = (await quarantined()).filter((e) => typeof e.body === 'string' && e.body.includes(run));
    expect(entries.length).toBe(invalidEvents.length);
    expect(new Set(entries.map((e) => e.code)).size).toBeGreaterThanOrEqual(7);
    for (const e of entries) expect(leaksIn(JSON.stringify({ ...e, body: undefined })), `quarantine entry ${String(e.code)}: ${String(e.reason)}`).toEqual([]);

    // Not one line of log or metric output, nor an error message, holds a canary.
    expect(lines.flatMap((l) => leaksIn(l).map((c) => `${c} in ${l.slice(0, 300)}`))).toEqual([]);
    expect(errors.flatMap((m) => leaksIn(m).map((c) => `${c} in ${m.slice(0, 300)}`))).toEqual([]);
  }, 300_000);
});

describe('privacy canary on the local stack', () => {
  it('keeps them out of the local bus’s error log and its answers', async () => {
    // Prepare: a bus with an extension that fails on a body it cannot parse (the error quotes it).
    const bus = new LocalBus({
      port: 0,
      deliver: () => undefined,
      extensions: [
        async (req, _res, body) => {
          if (req.url?.startsWith('/v1/echo')) JSON.parse(body);
          return false;
        },
      ],
    });
    await bus.start();
    const person = `{"name":"${FIRST} ${LAST}","email":"${EMAIL}","phone":"${PHONE}"`;
    const put = (body: string) => fetch(bus.endpoint, { method: 'POST', headers: { 'x-amz-target': 'AWSEvents.PutEvents', 'content-type': 'application/x-amz-json-1.1' }, body });
    const entry = (over: Record<string, unknown>) => ({ Source: 'baton.crm', DetailType: 'CustomerUpserted', Detail: `${person}}`, EventBusName: 'baton', ...over });

    // Act: a body the extension chokes on, a request that is not JSON, and entries that fail
    // every check of the bus, each carrying the canaries.
    const { result: answers, lines } = await capture(async () => {
      const responses = [
        await fetch(`${bus.endpoint}/v1/echo?email=${encodeURIComponent(EMAIL)}&name=${FIRST}`, { method: 'POST', body: `${FIRST} ${LAST} <${EMAIL}> ${PHONE}` }),
        await put(person),
        await put(
          JSON.stringify({
            Entries: [
              entry({ Detail: person }),
              entry({ Detail: `{"a":${'['.repeat(5_000)}"${EMAIL}"${']'.repeat(5_000)}}` }),
              entry({ Source: `${FIRST}.${LAST}.${EMAIL}`.repeat(10) }),
              entry({ Time: `${FIRST} ${PHONE}` }),
              entry({ Resources: [EMAIL, 7] }),
              entry({ Source: `aws.${FIRST}` }),
            ],
          }),
        ),
      ];
      return Promise.all(responses.map(async (r) => ({ status: r.status, body: await r.text() })));
    });
    await bus.stop();

    // Assess: it really failed, and said so, by name and route.
    expect(answers.map((a) => a.status)).toEqual([500, 400, 200]);
    expect((JSON.parse(answers[2]!.body) as { FailedEntryCount: number }).FailedEntryCount).toBe(6);
    expect(lines.join('\n')).toContain('local bus: POST /v1/echo failed (SyntaxError)');
    expect(bus.history).toEqual([]);
    expect(answers.flatMap((a) => leaksIn(a.body).map((c) => `${c} in answer ${a.body.slice(0, 300)}`))).toEqual([]);
    expect(lines.flatMap((l) => leaksIn(l).map((c) => `${c} in ${l.slice(0, 300)}`))).toEqual([]);
  });

  it('a batch where every record fails: FullBatchFailureError carries every record’s error, none with personal data', async () => {
    // Prepare: the real evaluate handler behind the local queue, and DynamoDB throttling every call.
    const run = unique('canary-full');
    const at = new Date().toISOString();
    const bodies = [
      envelope(`${run}-1`, 'baton.crm', 'CustomerUpserted', { ids: { crmId: `CRM-${run}`, email: EMAIL }, occurredAt: at, profile: { firstName: FIRST, lastName: LAST, email: EMAIL, phone: PHONE } }),
      envelope(`${run}-2`, 'baton.crm', 'ConsentChanged', { ids: { email: EMAIL }, occurredAt: at, channel: 'email', granted: true, via: `${FIRST} ${LAST}` }),
      envelope(`${run}-3`, 'baton.pos', 'SaleCompleted', { ids: { email: EMAIL }, occurredAt: at, saleId: `S-${run}`, storeId: `store ${LAST}`, items: [{ sku: `ENGRAVED-${FIRST}`, category: 'gifts', quantity: 1, unitPrice: 10 }], total: 10, currency: 'EUR' }),
    ].map((e) => JSON.stringify(e));
    const thrown: unknown[] = [];
    const handler = evaluateHandler((o) => {
      const deps = ingestDeps(localSettings({ endpoints: endpoints(), tables: tables() }), o);
      return { ...deps, customers: new FaultyCustomerRepository(deps.customers as DynamoCustomerRepository<CustomerState>, { seed: 7732, throttle: 1 }) };
    });
    const queue = new LocalQueue({
      name: 'canary-inbound',
      batchSize: 10,
      maxReceiveCount: 2,
      retryDelayMs: () => 5,
      handler: async (event, context) => {
        try {
          return (await handler(event, context)) as SQSBatchResponse;
        } catch (err) {
          thrown.push(err);
          throw err;
        }
      },
    });
    const summary = new LiveSummary();
    const stream = new LocalStreamPoller('http://127.0.0.1:9', 'arn:aws:dynamodb:local:000000000000:table/none/stream/x', async () => undefined);
    summary.attach({ bus: new LocalBus({ port: 0, deliver: () => undefined }), queue, stream, messages: new LocalMessages(), sendFailures: [] });

    // Act: one batch, delivered twice, failed whole both times, then dead-lettered.
    const { lines } = await capture(async () => {
      for (const body of bodies) queue.send(body);
      await queue.drained();
      for (const line of summary.newDeadLetters()) console.log(line);
    });
    await queue.stop();

    // Assess: the whole batch failed with every record's error; the dead letters name the message ids.
    const full = thrown.filter((e): e is FullBatchFailureError => e instanceof FullBatchFailureError);
    expect(full.length).toBe(2);
    for (const e of full) expect(e.recordErrors.map((r) => r.name).every((n) => /Throttl|ProvisionedThroughput/.test(n))).toBe(true);
    expect(full.map((e) => e.recordErrors.length)).toEqual([3, 3]);
    expect(queue.deadLetters.map((d) => d.receiveCount)).toEqual([2, 2, 2]);
    expect(lines.filter((l) => l.startsWith('dead letter: evaluate-failed'))).toHaveLength(3);
    // Nothing anyone would print of it holds a canary: the errors whole, the reasons, the log.
    const printed = [...thrown.map((e) => inspect(e, { depth: Infinity, breakLength: Infinity })), ...queue.deadLetters.map((d) => d.reason), ...lines];
    expect(printed.flatMap((p) => leaksIn(p).map((c) => `${c} in ${p.slice(0, 300)}`))).toEqual([]);
  });

  it('a handler error that names the person: the local queue and stream dead-letter it under the error class only', async () => {
    // Prepare: handlers that fail with a message holding every canary, as a careless error would.
    const careless = () => Object.assign(new Error(`no template for ${FIRST} ${LAST} <${EMAIL}> ${PHONE}`), { name: 'TemplateMissing' });
    const queue = new LocalQueue({ name: 'canary-reasons', maxReceiveCount: 1, handler: async () => Promise.reject(careless()) });
    const names = await freshTables('canary-stream');
    const raw = new DynamoDBClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const stream = new LocalStreamPoller(endpoints().dynamodb, await streamArn(raw, names.decisions), async () => Promise.reject(careless()), { name: 'canary-dispatch', pollMs: 20, maxRetries: 0 });
    stream.start();

    // Act: one message through the queue, one item through the stream.
    queue.send(JSON.stringify({ note: 'x' }));
    await queue.drained();
    await documentClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }).send(
      new PutCommand({ TableName: names.decisions, Item: { pk: 'DEC#canary', sk: 'MSG#email', status: 'pending' } }),
    );
    await eventually('the stream record dead-lettered', async () => (stream.failures.length ? true : undefined));
    await Promise.all([queue.stop(), stream.stop()]);
    raw.destroy();

    // Assess: each is dead-lettered with the error's class, and nothing of the message.
    expect(queue.deadLetters.map((d) => d.reason)).toEqual(['handler threw TemplateMissing']);
    expect(stream.failures.map((f) => f.reason)).toEqual(['handler threw TemplateMissing']);
    const reasons = [...queue.deadLetters.map((d) => d.reason), ...stream.failures.map((f) => f.reason)];
    expect(reasons.flatMap((r) => leaksIn(r).map((c) => `${c} in ${r}`))).toEqual([]);
  });

  it('keeps them out of dispatch, the decision API, dead letters and the live summary of a running stack', { timeout: 900_000 }, async () => {
    // Prepare: a stack of its own, every handler line at INFO and metrics on, so that all of it is captured.
    const written: string[] = [];
    const { result, lines } = await capture(async () => {
      const stack = await startLocalStack({ busPort: 0, dynamodbEndpoint: endpoints().dynamodb, sesPort: 0, stage: 'canary', verbose: true });
      const stopReport = stack.summary.report({ write: (t) => written.push(t) }, { checkMs: 50 });
      const to = { db: documentClient({ endpoint: stack.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), tables: stack.tables };
      const bus = new EventBridgeClient({ endpoint: stack.endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      try {
        const decide = (body: string) => fetch(`${stack.endpoints.bus}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        await putTemplate({ templateId: 'canary-email', channel: 'email', locale: 'en', subject: 'For {{ customer.firstName }} {{ customer.lastName }}', html: '<p>Dear {{ customer.firstName }} ({{ customer.email }}) <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>', text: 'Dear {{ customer.firstName }}' }, to);
        await putTemplate({ templateId: 'canary-sms', channel: 'sms', locale: 'en', text: '{{ customer.firstName }} {{ customer.lastName }}, your code' }, to);
        const rule = (ruleId: string, then: Record<string, unknown>) =>
          putRule({ ruleId, campaignId: 'canary', enabled: true, priority: 10, when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [ruleId] } }, then }, to);
        await rule('c-email', { channel: 'email', template: 'canary-email', offer: 'C1' });
        await rule('c-sms', { channel: 'sms', template: 'canary-sms', offer: 'C2' });
        await rule('c-missing', { channel: 'email', template: 'no-such-template', offer: 'C3' });
        await rule('c-refused', { channel: 'sms', template: 'canary-sms', offer: 'C4' });
        const put = async (entries: [string, string, unknown][]) =>
          bus.send(new PutEventsCommand({ Entries: entries.map(([Source, DetailType, detail]) => ({ Source, DetailType, Detail: JSON.stringify(detail), EventBusName: 'baton' })) }));
        const at = new Date().toISOString();
        const sale = (storeId: string) => ['baton.pos', 'SaleCompleted', { ids: { email: EMAIL }, occurredAt: new Date().toISOString(), saleId: unique('S'), storeId, items: [{ sku: `ENGRAVED-${LAST}`, category: 'gifts', quantity: 1, unitPrice: 10 }], total: 10, currency: 'EUR' }] as [string, string, unknown];

        // Act: the customer with the canaries, a sale per rule (one SMS refused by SNS), and
        // decision requests good and bad.
        await put([
          ['baton.crm', 'CustomerUpserted', { ids: { crmId: 'CRM-CANARY', email: EMAIL }, occurredAt: at, profile: { firstName: FIRST, lastName: LAST, email: EMAIL, phone: PHONE, locale: 'en' } }],
          ['baton.crm', 'ConsentChanged', { ids: { email: EMAIL }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' }],
          ['baton.crm', 'ConsentChanged', { ids: { email: EMAIL }, occurredAt: at, channel: 'sms', granted: true, via: 'web-form' }],
        ]);
        await stack.settled(300_000);
        await put([sale('c-email'), sale('c-sms'), sale('c-missing')]);
        await stack.settled(300_000);
        stack.sns.refuse.set(PHONE, 'OptedOut');
        await put([sale('c-refused'), ['baton.crm', 'CustomerUpserted', { ids: { email: `${FIRST} <${EMAIL}>` }, occurredAt: at, profile: { phone: `${PHONE} ${LAST}` } }]]);
        const decisions = [
          await decide(JSON.stringify({ customer: { kind: 'email', value: EMAIL }, channel: 'web', context: { page: 'home' } })),
          await decide(JSON.stringify({ customer: { kind: 'email', value: `${FIRST} ${LAST} <${EMAIL}>` }, channel: 'web' })),
          await decide(JSON.stringify({ customer: { kind: 'email', value: `other.${EMAIL}` }, channel: 'web' })),
          await decide(JSON.stringify({ customer: { kind: 'email', value: EMAIL }, channel: PHONE, context: { [FIRST]: LAST } })),
          await decide(`{"customer": {"kind": "email", "value": "${EMAIL}"`),
        ];
        await stack.settled(300_000);
        const answers = await Promise.all(decisions.map(async (r) => ({ status: r.status, body: await r.text() })));
        const read = async (path: string) => (await fetch(`${stack.endpoints.bus}${path}`)).text();
        const deadLetters = JSON.parse(await read('/local/dead-letters')) as { inbound: { body?: string }[]; dispatch: unknown[]; sends: { code: string }[] };
        const stats = await read('/local/stats');
        const store = (await (await fetch(`${stack.endpoints.ses}/store`)).json()) as { emails: { subject: string; destination: { to: string[] } }[] };
        stopReport();
        return { answers, deadLetters, stats, store, sms: stack.messages.list().filter((m) => m.channel === 'sms') };
      } finally {
        bus.destroy();
        to.db.destroy();
        await stack.stop();
      }
    });

    // Assess: it really ran: mail and SMS went out personalised, two sends failed for good, the
    // decision API answered each request, and the handlers logged and counted at INFO.
    expect(result.store.emails.map((e) => [e.destination.to, e.subject])).toEqual([[[EMAIL], `For ${FIRST} ${LAST}`]]);
    expect(result.sms.map((m) => [m.to, m.text])).toEqual([[PHONE, `${FIRST} ${LAST}, your code`]]);
    expect(result.deadLetters.sends.map((d) => d.code).sort()).toEqual(['no-template', 'opted-out']);
    expect(result.answers.map((a) => a.status)).toEqual([200, 404, 404, 400, 400]);
    expect(lines.some((l) => l.includes('"message":"message"') && l.includes('"service":"dispatch"'))).toBe(true);
    expect(lines.some((l) => l.includes('"message":"request"') && l.includes('"service":"decisions-api"'))).toBe(true);
    expect(lines.some((l) => l.includes('"CloudWatchMetrics"'))).toBe(true);
    expect(written.join('').split('\n').filter((l) => l.startsWith('dead letter:'))).toHaveLength(2);

    // Not one log or metric line, answer, dead letter (but an inbound event's own body) or summary line holds a canary.
    const deadLetters = JSON.stringify({ ...result.deadLetters, inbound: result.deadLetters.inbound.map((d) => ({ ...d, body: undefined })) });
    const checked = [...lines, ...result.answers.map((a) => a.body), deadLetters, result.stats, ...written];
    expect(checked.flatMap((l) => leaksIn(l).map((c) => `${c} in ${l.slice(0, 300)}`))).toEqual([]);
  });
});
