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

const FIRST = 'Zyxcanary';
const LAST = 'Quorvath';
const EMAIL = 'zyx.canary.7731@example.com';
const PHONE = '+4915550007731';
/** Every form a leak could take: whole, in parts, lower-cased, the phone without its plus. */
const CANARIES = [`${FIRST} ${LAST}`, FIRST, LAST, EMAIL, PHONE, PHONE.slice(1), 'zyx.canary', '7731@example'].flatMap((c) => [c, c.toLowerCase()]);

const leaksIn = (text: string): string[] => CANARIES.filter((c) => text.includes(c) || text.toLowerCase().includes(c.toLowerCase()));

/** Everything written to stdout, stderr and the console while `fn` runs; nothing reaches the terminal. */
async function capture<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const keep = (chunk: unknown) => lines.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const consoleOriginals = methods.map((m) => console[m]);
  process.stdout.write = ((chunk: unknown) => (keep(chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => (keep(chunk), true)) as typeof process.stderr.write;
  for (const m of methods) console[m] = (...args: unknown[]) => keep(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  try {
    return { result: await fn(), lines };
  } finally {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
    methods.forEach((m, i) => (console[m] = consoleOriginals[i]!));
  }
}

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
  }, 60_000);
});
