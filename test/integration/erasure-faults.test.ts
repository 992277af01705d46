// Erasure on DynamoDB Local when the function dies part-way: whatever step it dies at, the
// redelivered CustomerErased finishes the job, and no table keeps the customer's personal data
// (emails in any case included). Replaying the customer's old events afterwards, the erasure
// itself among them, never brings the customer back nor queues a message to them. The analytical
// export's step of the erasure (destroying the customer's pseudonym key when the erasure journal
// comes through the customers stream) finishes on the stream batch's redelivery after a crash too.
import { beforeAll, describe, expect, it } from 'vitest';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { createExporter } from '../../lib/app/export.ts';
import { DynamoPseudonyms } from '../../lib/adapters/dynamo/pseudonyms.ts';
import { FolderSink } from '../../lib/adapters/export/parquet.ts';
import { inputsOf } from '../../functions/export.ts';
import { tableNames } from '../../lib/contract/tables.ts';
import { createTables, streamArn } from '../../local/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_EXPORT_SECRET, LOCAL_REGION } from '../../local/constants.ts';
import { createIngest, type IngestOutcome } from '../../lib/app/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { ERASED_TOTALS_KEY } from '../../lib/adapters/dynamo/counters.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { db, endpoints, unique } from '../support/local.ts';
import { freshTables, scanAll, scanTable } from '../support/tables.ts';
import { FaultyDynamo, InjectedCrash, type DynamoStep } from '../support/faulty.ts';

const AT = Date.parse('2030-03-01T10:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

interface Person {
  /** The customerIds Baton gave the person (the provisional one too), once they lived. */
  readonly customerIds: Set<string>;
  readonly crmId: string;
  readonly card: string;
  readonly deviceId: string;
  /** As the CRM writes it: mixed case. The identity index keeps it in lower case. */
  readonly email: string;
  readonly firstName: string;
  readonly phone: string;
}

function person(): Person {
  const t = randomUUID().replaceAll('-', '').slice(0, 10);
  return {
    customerIds: new Set(),
    crmId: `CRM-er-${t}`,
    card: `LC-er-${t}`,
    deviceId: `dev-er-${t}`,
    email: `Mixed.Case.${t}@Example.com`,
    firstName: `Canary${t}`,
    phone: `+4915${t.replace(/\D/g, '7').padEnd(9, '7').slice(0, 9)}`,
  };
}

/** What must not survive the erasure anywhere, compared in lower case: the ids too (decisions hold only those). */
const canaries = (p: Person) => [...p.customerIds, p.crmId, p.card, p.deviceId, p.email, p.firstName, p.phone].map((s) => s.toLowerCase());

const SOURCE: Record<string, string> = { CustomerUpserted: 'baton.crm', ConsentChanged: 'baton.crm', CustomerErased: 'baton.crm', SaleCompleted: 'baton.pos', DeviceRegistered: 'baton.device' };
const event = (type: string, detail: Record<string, unknown>, at: number, id = randomUUID()) =>
  JSON.stringify({
    version: '0', id, source: SOURCE[type], 'detail-type': type, account: '123456789012', time: iso(at), region: 'eu-west-1', resources: [],
    detail: { occurredAt: iso(at), ...detail },
  });
const sale = (ids: Record<string, string>, at: number) =>
  event('SaleCompleted', { ids, saleId: `S-${randomUUID().slice(0, 8)}`, storeId: 'st-er', total: 9, currency: 'EUR', items: [{ sku: 'A', category: 'software', quantity: 1, unitPrice: 9 }] }, at);

/**
 * A life that leaves the customer in every table: a provisional profile (sale on the card) with a
 * decision, the CRM profile, then a sale naming both ids merges the two (formerIds) and queues an
 * email; a device; and invalid events naming the customer, by email in another case, quarantined.
 */
function history(p: Person): string[] {
  const upper = p.email.toUpperCase();
  return [
    sale({ loyaltyCard: p.card }, AT - 50_000),
    event('CustomerUpserted', { ids: { crmId: p.crmId, email: p.email }, profile: { firstName: p.firstName, email: p.email, phone: p.phone } }, AT - 40_000),
    event('ConsentChanged', { ids: { email: upper }, channel: 'email', granted: true, via: 'web-form' }, AT - 30_000),
    sale({ loyaltyCard: p.card, crmId: p.crmId }, AT - 20_000),
    event('DeviceRegistered', { ids: { crmId: p.crmId, deviceId: p.deviceId }, deviceId: p.deviceId, platform: 'windows', agentVersion: '24.6.1' }, AT - 10_000),
  ];
}
const invalid = (p: Person) => [
  event('SaleCompleted', { ids: { email: p.email.toUpperCase() }, note: 'no sale id' }, AT - 5_000),
  event('SaleCompleted', { ids: { email: p.email }, note: p.firstName }, AT - 4_000),
];
const erasure = (p: Person, at = AT) => event('CustomerErased', { ids: { crmId: p.crmId }, requestId: `DSR-${randomUUID().slice(0, 6)}` }, at);

/** One function instance: its own ingest, on a DynamoDB client that can die at any call. */
interface Lambda {
  readonly faulty: FaultyDynamo;
  readonly ingest: (body: string) => Promise<IngestOutcome>;
}

describe('erasure when the function dies part-way (DynamoDB Local)', () => {
  let tables: TableNames;
  const client = db();
  const ruleSet = new RuleSet([
    ruleSchema.parse({
      ruleId: 'er-thanks', campaignId: 'er', enabled: true, priority: 1,
      when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] },
      then: { channel: 'email', template: 'thanks' },
    }),
  ]);

  beforeAll(async () => {
    tables = await freshTables('erasure');
  });

  function lambda(): Lambda {
    const faulty = new FaultyDynamo(client);
    const ingest = createIngest({
      customers: new DynamoCustomerRepository<CustomerState>(faulty.client, tables),
      quarantine: new DynamoQuarantine(client, tables.quarantine),
      rules: { current: async () => ruleSet },
      metrics: new MemoryMetrics(),
      clock: () => new Date(AT),
      sleep: async () => undefined,
    });
    return { faulty, ingest };
  }

  /** Every item of every table that names the person, as `table: item`. */
  async function leftovers(p: Person): Promise<string[]> {
    const all = await scanAll(client, tables);
    const secrets = canaries(p);
    return Object.entries(all).flatMap(([table, items]) =>
      items.map((i) => JSON.stringify(i)).filter((text) => secrets.some((s) => text.toLowerCase().includes(s))).map((text) => `${table}: ${text.slice(0, 160)}`),
    );
  }

  /** The person's life, checked to be in the tables (so the checks after erasure can fail). */
  async function live(l: Lambda, p: Person): Promise<void> {
    for (const body of history(p)) {
      const outcome = await l.ingest(body);
      expect(outcome.status).toBe('applied');
      if (outcome.status === 'applied') p.customerIds.add(outcome.customerId);
    }
    expect(p.customerIds.size).toBe(2);
    for (const body of invalid(p)) expect((await l.ingest(body)).status).toBe('quarantined');
    const found = await leftovers(p);
    for (const table of ['customers', 'decisions', 'quarantine']) expect(found.some((f) => f.startsWith(`${table}:`)), table).toBe(true);
  }

  /** Delivers the erasure, crashing at `crash`; SQS then redelivers it until it is answered. */
  async function erase(l: Lambda, body: string, crash?: { index: number; when: 'before' | 'after' }) {
    l.faulty.watch(crash);
    let crashed = false;
    let outcome: IngestOutcome | undefined;
    try {
      outcome = await l.ingest(body);
    } catch (err) {
      if (!(err instanceof InjectedCrash)) throw err;
      crashed = true;
    }
    const steps: DynamoStep[] = l.faulty.stop();
    for (let delivery = 0; outcome === undefined; delivery++) {
      expect(delivery).toBeLessThan(3);
      outcome = await l.ingest(body);
    }
    return { steps, outcome, crashed };
  }

  /**
   * An archive replay or a DLQ redrive after the erasure: the customer's old events, the erasure
   * itself again, a second erasure request, and new events for the erased ids (older and newer).
   * Returns the outcomes; every one must be "erased".
   */
  async function replay(l: Lambda, p: Person, erasureBody: string): Promise<string[]> {
    const bodies = [
      ...history(p),
      erasureBody,
      erasure(p, AT + 1_000),
      sale({ email: p.email.toUpperCase() }, AT + 60_000),
      sale({ loyaltyCard: p.card }, AT - 60_000),
      event('ConsentChanged', { ids: { deviceId: p.deviceId }, channel: 'email', granted: true, via: 'web-form' }, AT + 70_000),
    ];
    const outcomes: string[] = [];
    for (const body of bodies) outcomes.push((await l.ingest(body)).status);
    return outcomes;
  }

  it('erases a customer with nothing left in any table; replays and redrives do not bring them back (no fault)', async () => {
    const l = lambda();
    const p = person();
    await live(l, p);
    const body = erasure(p);
    const { outcome } = await erase(l, body);
    expect(outcome.status).toBe('erased');
    expect(await leftovers(p)).toEqual([]);
    expect(await replay(l, p, body)).toEqual(Array(10).fill('erased'));
    expect(await leftovers(p)).toEqual([]);
  });

  it('a crash right after the erase transaction: the redelivered CustomerErased still deletes the identity items', async () => {
    const l = lambda();
    const dry = person();
    await live(l, dry);
    const { steps } = await erase(l, erasure(dry));
    const transaction = steps.find((s) => s.step.startsWith('TransactWriteCommand') && s.step.includes('Delete CUS'));
    expect(transaction, steps.map((s) => s.step).join('\n')).toBeDefined();

    const p = person();
    await live(l, p);
    const { crashed } = await erase(l, erasure(p), { index: transaction!.index, when: 'after' });
    expect(crashed).toBe(true);
    expect(await leftovers(p)).toEqual([]);
  });

  it('quarantined events that name the customer by an email in another case are erased', async () => {
    const l = lambda();
    const p = person();
    await live(l, p);
    await erase(l, erasure(p));
    const quarantined = (await scanTable(client, tables.quarantine)).map((i) => String(i.body).toLowerCase());
    expect(quarantined.filter((b) => b.includes(p.email.toLowerCase()))).toEqual([]);
  });

  it('an erasure naming ids of two profiles not merged yet erases both', async () => {
    const l = lambda();
    const p = person();
    // The provisional profile (card) and the CRM profile (crmId) are still apart.
    for (const body of [history(p)[0]!, history(p)[1]!]) {
      const outcome = await l.ingest(body);
      if (outcome.status === 'applied') p.customerIds.add(outcome.customerId);
    }
    expect(p.customerIds.size).toBe(2);
    const body = event('CustomerErased', { ids: { crmId: p.crmId, loyaltyCard: p.card }, requestId: 'DSR-both' }, AT);
    expect((await l.ingest(body)).status).toBe('erased');
    expect(await leftovers(p)).toEqual([]);
  });

  it('dies before or after each DynamoDB call of the erasure: the redelivery finishes it, and replays change nothing', async () => {
    // A run without faults names the steps (resolve, load, then every call of the erasure).
    const dry = lambda();
    const first = person();
    await live(dry, first);
    const { steps } = await erase(dry, erasure(first));
    expect(steps.length).toBeGreaterThan(8);
    const points = steps.flatMap((s) => (['before', 'after'] as const).map((when) => ({ ...s, when })));

    const erasedTotal = async () =>
      Number((await client.send(new GetCommand({ TableName: tables.counters, Key: ERASED_TOTALS_KEY, ConsistentRead: true }))).Item?.customers ?? 0);
    const countedBefore = await erasedTotal();
    const failures: string[] = [];
    // A few at a time, each its own function instance and customer.
    for (let i = 0; i < points.length; i += 4) {
      await Promise.all(
        points.slice(i, i + 4).map(async (point) => {
          const l = lambda();
          const p = person();
          await live(l, p);
          const body = erasure(p);
          const { crashed, outcome } = await erase(l, body, { index: point.index, when: point.when });
          const name = `${point.when} call ${point.index} (${point.step})`;
          if (!crashed) failures.push(`${name}: the call was never made`);
          if (outcome.status !== 'erased' && outcome.status !== 'duplicate') failures.push(`${name}: redelivery answered ${outcome.status}`);
          const left = await leftovers(p);
          const short = (items: string[]) => items.map((f) => f.slice(0, 70)).join(' | ');
          if (left.length) failures.push(`${name}: left ${short(left)}`);
          const replayed = await replay(l, p, body);
          if (replayed.some((o) => o !== 'erased')) failures.push(`${name}: replay answered ${replayed.join(', ')}`);
          const afterReplay = await leftovers(p);
          if (afterReplay.length) failures.push(`${name}: after replay left ${short(afterReplay)}`);
        }),
      );
    }
    expect(failures).toEqual([]);
    // Each erased customer is counted in the anonymous totals once, however often its erasure ran.
    expect(await erasedTotal()).toBe(countedBefore + points.length);
  }, 900_000);
});

/**
 * Every record of a table's stream so far (DynamoDB Local), as Lambda hands them to the export
 * function: in order, with the stream's ARN (the export tells the tables apart by it).
 */
async function streamRecords(table: string): Promise<DynamoDBRecord[]> {
  const config = { endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  const raw = new DynamoDBClient(config);
  const streams = new DynamoDBStreamsClient(config);
  try {
    const arn = await streamArn(raw, table);
    const shards = (await streams.send(new DescribeStreamCommand({ StreamArn: arn }))).StreamDescription?.Shards ?? [];
    const records: DynamoDBRecord[] = [];
    for (const shard of shards) {
      let iterator = (await streams.send(new GetShardIteratorCommand({ StreamArn: arn, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }))).ShardIterator;
      while (iterator) {
        const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator }));
        // An open shard answers an empty page at its end (and a next iterator): that is all there is.
        if (!page.Records?.length) break;
        records.push(...page.Records.map((r) => ({ ...r, eventSourceARN: arn }) as unknown as DynamoDBRecord));
        iterator = page.NextShardIterator;
      }
    }
    return records;
  } finally {
    raw.destroy();
    streams.destroy();
  }
}

describe('the export\'s part of an erasure when its function dies part-way (DynamoDB Local)', () => {
  // Tables of its own with the export's streams on (the tests above run without them: they cost every write).
  const tables = tableNames(unique('erasure-export'));
  const client = db();
  let folder: string;

  beforeAll(async () => {
    const raw = new DynamoDBClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      await createTables(raw, tables, { exportStreams: true });
    } finally {
      raw.destroy();
    }
    folder = await mkdtemp(join(tmpdir(), 'baton-erasure-export-'));
    return () => rm(folder, { recursive: true, force: true });
  });

  /** A person's life and erasure through ingest (the real path), then their customers-stream records: profile changes, the journal. */
  async function erased(): Promise<{ p: Person; batch: DynamoDBRecord[] }> {
    const ingest = createIngest({
      customers: new DynamoCustomerRepository<CustomerState>(client, tables),
      quarantine: new DynamoQuarantine(client, tables.quarantine),
      rules: { current: async () => new RuleSet([]) },
      metrics: new MemoryMetrics(),
      clock: () => new Date(AT),
      sleep: async () => undefined,
    });
    const p = person();
    for (const body of history(p)) {
      const outcome = await ingest(body);
      if (outcome.status === 'applied') p.customerIds.add(outcome.customerId);
    }
    expect(p.customerIds.size).toBe(2);
    expect((await ingest(erasure(p))).status).toBe('erased');
    const names = (r: DynamoDBRecord) => [r.dynamodb?.NewImage?.customerId?.S, r.dynamodb?.OldImage?.customerId?.S].some((c) => c !== undefined && p.customerIds.has(c));
    const batch = (await streamRecords(tables.customers)).filter(names);
    expect(batch.some((r) => r.dynamodb?.NewImage?.pk?.S?.startsWith('ERASING#')), 'the erasure journal is on the stream').toBe(true);
    return { p, batch };
  }

  /** One export function instance on a DynamoDB client that can die at any call. */
  function exporter() {
    const faulty = new FaultyDynamo(client);
    const run = createExporter({ pseudonyms: new DynamoPseudonyms(faulty.client, tables.aggregates, LOCAL_EXPORT_SECRET), sink: new FolderSink(folder) });
    return { faulty, handle: (batch: DynamoDBRecord[]) => run(inputsOf(tables, batch)) };
  }

  /** The customer's pseudonym key item: `key` while they may be exported, `forgottenAt` and no key once erased. */
  const keyItems = async (p: Person) =>
    Promise.all([...p.customerIds].map(async (c) => (await client.send(new GetCommand({ TableName: tables.aggregates, Key: { pk: `PSEUDONYM#${createHmac('sha256', LOCAL_EXPORT_SECRET).update(c).digest('hex')}`, sk: 'KEY' }, ConsistentRead: true }))).Item));

  it('dies before or after each DynamoDB call of the export\'s batch: the redelivered batch destroys every pseudonym key of the customer', async () => {
    // A run without faults names the steps: the keys made for the profile changes, then the key destruction.
    const dry = await erased();
    const first = exporter();
    first.faulty.watch();
    const out = await first.handle(dry.batch);
    const steps = first.faulty.stop();
    expect(out.forgotten).toBe(2);
    expect(steps.filter((s) => s.step === 'PutCommand PSEUDONYM').length, steps.map((s) => s.step).join('\n')).toBeGreaterThanOrEqual(2);
    const points = steps.flatMap((s) => (['before', 'after'] as const).map((when) => ({ ...s, when })));

    const failures: string[] = [];
    // A few at a time, each its own function instance and customer.
    for (let i = 0; i < points.length; i += 4) await Promise.all(
      points.slice(i, i + 4).map(async (point) => {
        const { p, batch } = await erased();
        const name = `${point.when} call ${point.index} (${point.step})`;
        const instance = exporter();
        instance.faulty.watch({ index: point.index, when: point.when });
        let crashed = false;
        try {
          await instance.handle(batch);
        } catch (err) {
          if (!(err instanceof InjectedCrash)) throw err;
          crashed = true;
        }
        instance.faulty.stop();
        if (!crashed) failures.push(`${name}: the call was never made`);
        // Lambda retries the whole batch, in a new instance or the same one.
        await exporter().handle(batch);
        const items = await keyItems(p);
        if (items.some((i) => i === undefined || i.key !== undefined || typeof i.forgottenAt !== 'string')) failures.push(`${name}: a key survived (${items.map((i) => (i?.key ? 'key' : i?.forgottenAt ? 'forgotten' : 'none')).join(', ')})`);
        for (const c of p.customerIds) if (await new DynamoPseudonyms(client, tables.aggregates, LOCAL_EXPORT_SECRET).of(c)) failures.push(`${name}: ${c.slice(0, 4)}… still has a pseudonym`);
      }),
    );
    expect(failures).toEqual([]);
  }, 300_000);
});
