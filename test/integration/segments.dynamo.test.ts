// Segments on DynamoDB Local, each test on its own tables: membership committed with the customer,
// sharded counts equal to a scan of the membership items, the daily refresh on an injected clock,
// a redelivery publishing the same events again, erasure, and the memory repository agreeing.
import { describe, expect, it } from 'vitest';
import { createIngest, type IngestDeps } from '../../lib/app/ingest.ts';
import { refreshSegments } from '../../lib/app/segments-refresh.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { CachedSegmentSource, DynamoCustomerPages, DynamoSegmentMembers, DynamoSegmentRepository, scanCurrentSegments } from '../../lib/adapters/dynamo/segments.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { MemoryQuarantine } from '../../lib/adapters/memory/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { MemorySegmentEvents, MemorySegmentMembers, MemorySegmentSource } from '../../lib/adapters/memory/segments.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { checkSegment, type Segment, type SegmentInput } from '../../lib/core/segments/segment.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { seededRandom } from '../../lib/core/seeded-random.ts';
import { freshTables, scanTable } from '../support/tables.ts';
import { db } from '../support/local.ts';

const DAY = 86_400_000;
const SEGMENTS: SegmentInput[] = [
  { segmentId: 'gold', if: { tier: ['gold'] } },
  { segmentId: 'big-spenders', if: { lifetimeSpend: [{ numeric: ['>=', 200] }] } },
  { segmentId: 'lapsed-90', description: 'bought before, nothing in 90 days', if: { daysSinceLastPurchase: [{ numeric: ['>=', 90] }] } },
  { segmentId: 'expiring-60', if: { daysToNextLicenseExpiry: [{ numeric: ['<=', 60] }] } },
];
const parsed = (s: SegmentInput): Segment => {
  const c = checkSegment(s);
  if (!c.ok) throw new Error(c.reason);
  return c.segment;
};

let n = 0;
const event = (source: string, detailType: string, detail: Record<string, unknown>, at: string) =>
  JSON.stringify({ version: '0', id: `ev-${++n}-${Math.random().toString(36).slice(2, 8)}`, source, 'detail-type': detailType, time: at, detail: { occurredAt: at, ...detail } });
const upsert = (crmId: string, tier: string, at: string) => event('baton.crm', 'CustomerUpserted', { ids: { crmId }, profile: { tier } }, at);
const sale = (crmId: string, total: number, at: string) =>
  event('baton.pos', 'SaleCompleted', { ids: { crmId }, saleId: `S-${++n}`, storeId: 'st-1', items: [{ sku: 'A', category: 'software', quantity: 1, unitPrice: total }], total, currency: 'EUR' }, at);
const licence = (crmId: string, licenseId: string, expiresAt: string, at: string) =>
  event('baton.erp', 'LicensePurchased', { ids: { crmId, licenseId }, licenseId, product: 'total-security', seats: 1, startsAt: at, expiresAt, amount: 49, currency: 'EUR' }, at);

async function dynamoSetup(names: TableNames, clock: () => Date, overrides: Partial<IngestDeps> = {}) {
  const client = db();
  const repo = new DynamoSegmentRepository(client, names.rules);
  for (const s of SEGMENTS) await repo.put(parsed(s) as unknown as Record<string, unknown>, 'test');
  const rejected: string[] = [];
  const segments = new CachedSegmentSource(scanCurrentSegments(client, names.rules), { onRejected: (r) => rejected.push(`${r.segmentId}: ${r.reason}`) });
  const customers = new DynamoCustomerRepository<CustomerState>(client, names, clock);
  const published = new MemorySegmentEvents();
  const metrics = new MemoryMetrics();
  const ingest = createIngest({
    customers,
    quarantine: new DynamoQuarantine(client, names.quarantine),
    rules: { current: async () => new RuleSet([]) },
    segments,
    segmentEvents: published,
    metrics,
    clock,
    sleep: async () => undefined,
    ...overrides,
  });
  const members = new DynamoSegmentMembers(client, names);
  const pages = new DynamoCustomerPages<CustomerState>(client, names.customers);
  return { client, ingest, customers, segments, published, members, pages, metrics, rejected, repo };
}

/** Members per segment from a scan of the membership items (the truth the counters must match). */
async function scannedMembers(client: ReturnType<typeof db>, names: TableNames): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const item of await scanTable(client, names.customers)) {
    if (!String(item.pk).startsWith('SEGMENT#')) continue;
    (out[String(item.segmentId)] ??= []).push(String(item.customerId));
  }
  for (const k of Object.keys(out)) out[k]!.sort();
  return out;
}

describe('segments on DynamoDB Local', () => {
  it('a customer enters and leaves segments as events change tier, spend and licence; each change is published once', async () => {
    const names = await freshTables('seg-follow');
    const now = new Date('2026-06-01T12:00:00Z');
    const s = await dynamoSetup(names, () => now);
    const at = (d: number) => new Date(now.getTime() - d * DAY).toISOString();
    const customerIdOf = async () => String((await s.customers.resolve([{ kind: 'crmId', value: 'CRM-1' }])).links.get('crmId#CRM-1'));

    expect((await s.ingest(upsert('CRM-1', 'gold', at(10)))).status).toBe('applied');
    const id = await customerIdOf();
    expect((await s.customers.load(id))?.segments).toEqual(['gold']);
    await s.ingest(sale('CRM-1', 250, at(5)));
    await s.ingest(licence('CRM-1', 'LIC-1', new Date(now.getTime() + 30 * DAY).toISOString(), at(4)));
    expect((await s.customers.load(id))?.segments).toEqual(['big-spenders', 'expiring-60', 'gold']);
    await s.ingest(upsert('CRM-1', 'silver', at(1)));
    expect((await s.customers.load(id))?.segments).toEqual(['big-spenders', 'expiring-60']);

    const seen = s.published.published.map((e) => `${e.detailType}:${e.detail.segmentId}`);
    expect(seen).toEqual(['SegmentEntered:gold', 'SegmentEntered:big-spenders', 'SegmentEntered:expiring-60', 'SegmentLeft:gold']);
    expect(s.published.published.every((e) => e.source === 'baton.segments' && e.detail.customerId === id)).toBe(true);
    expect(await scannedMembers(s.client, names)).toEqual({ 'big-spenders': [id], 'expiring-60': [id] });
    expect(Object.fromEntries(await s.members.counts(['gold', 'big-spenders', 'expiring-60', 'lapsed-90']))).toEqual({ gold: 0, 'big-spenders': 1, 'expiring-60': 1, 'lapsed-90': 0 });
  });

  it('a redelivered event publishes the same segment events again (same derived ids) and commits nothing twice', async () => {
    const names = await freshTables('seg-redeliver');
    const now = new Date('2026-06-01T12:00:00Z');
    // The first delivery dies between commit and publish.
    let failOnce = true;
    const published = new MemorySegmentEvents();
    const s = await dynamoSetup(names, () => now, {
      segmentEvents: {
        publish: async (events) => {
          if (failOnce) {
            failOnce = false;
            throw new Error('the bus is unreachable');
          }
          await published.publish(events);
        },
      },
    });
    const body = upsert('CRM-2', 'gold', '2026-05-30T00:00:00Z');
    await expect(s.ingest(body)).rejects.toThrow(/unreachable/);
    expect((await s.ingest(body)).status).toBe('duplicate');
    expect((await s.ingest(body)).status).toBe('duplicate');
    expect(published.published.map((e) => e.detailType)).toEqual(['SegmentEntered', 'SegmentEntered']);
    expect(new Set(published.published.map((e) => e.detail.eventId)).size).toBe(1);
    expect(Object.fromEntries(await s.members.counts(['gold']))).toEqual({ gold: 1 });

    // Ingest reads a segment event's own id: the second copy, with a new envelope id, is a duplicate.
    const copy = (envelopeId: string) =>
      JSON.stringify({ version: '0', id: envelopeId, source: 'baton.segments', 'detail-type': 'SegmentEntered', time: published.published[0]!.time, detail: published.published[0]!.detail });
    expect((await s.ingest(copy('bus-id-1'))).status).toBe('applied');
    expect((await s.ingest(copy('bus-id-2'))).status).toBe('duplicate');
  });

  it('the daily refresh admits a customer to "no purchase in 90 days" on the 90th day, not the 89th', async () => {
    const names = await freshTables('seg-refresh');
    const bought = new Date('2026-01-10T15:00:00Z');
    let now = new Date(bought.getTime() + DAY);
    const s = await dynamoSetup(names, () => now);
    await s.ingest(sale('CRM-3', 20, bought.toISOString()));
    const id = String((await s.customers.resolve([{ kind: 'crmId', value: 'CRM-3' }])).links.get('crmId#CRM-3'));
    const refresh = () => refreshSegments({ customers: s.customers, pages: s.pages, segments: s.segments, segmentEvents: s.published, metrics: s.metrics, clock: () => now, pageSize: 1 });

    now = new Date(bought.getTime() + 89 * DAY + 3_600_000); // day 89, an hour past the time of the sale
    expect(await refresh()).toMatchObject({ customers: 1, changed: 0 });
    expect((await s.customers.load(id))?.segments ?? []).not.toContain('lapsed-90');

    now = new Date(bought.getTime() + 90 * DAY + 60_000); // the 90th day
    expect(await refresh()).toMatchObject({ day: '2026-04-10', customers: 1, changed: 1, entered: 1, left: 0 });
    expect((await s.customers.load(id))?.segments).toContain('lapsed-90');
    expect(s.published.published.at(-1)).toMatchObject({ detailType: 'SegmentEntered', detail: { segmentId: 'lapsed-90', customerId: id, cause: 'refresh:2026-04-10' } });
    // A second run the same day changes nothing more.
    expect(await refresh()).toMatchObject({ changed: 0 });

    // A purchase takes the customer out again at once, by the event.
    await s.ingest(sale('CRM-3', 20, now.toISOString()));
    expect((await s.customers.load(id))?.segments ?? []).not.toContain('lapsed-90');
    expect(Object.fromEntries(await s.members.counts(['lapsed-90']))).toEqual({ 'lapsed-90': 0 });
  });

  it('after a random event stream the sharded counts equal a scan of the members, and the memory repository agrees', { timeout: 240_000 }, async () => {
    const names = await freshTables('seg-counts');
    const now = new Date('2026-06-01T12:00:00Z');
    const s = await dynamoSetup(names, () => now);
    const memory = new MemoryCustomerRepository<CustomerState>();
    const memoryIngest = createIngest({
      customers: memory,
      quarantine: new MemoryQuarantine(),
      rules: { current: async () => new RuleSet([]) },
      segments: new MemorySegmentSource(SEGMENTS.map(parsed)),
      metrics: new MemoryMetrics(),
      clock: () => now,
      newCustomerId: (() => {
        let i = 0;
        return () => `cus-m-${++i}`;
      })(),
    });
    const random = seededRandom(4242);
    const crm = Array.from({ length: 12 }, (_, i) => `CRM-r${i}`);
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const bodies: string[] = [];
    for (let i = 0; i < 120; i++) {
      const who = pick(crm);
      const at = new Date(now.getTime() - Math.floor(random() * 200) * DAY).toISOString();
      const kind = random();
      if (kind < 0.35) bodies.push(upsert(who, pick(['gold', 'silver', 'bronze']), at));
      else if (kind < 0.7) bodies.push(sale(who, Math.round(random() * 150), at));
      else if (kind < 0.9) bodies.push(licence(who, `LIC-${who}-${Math.floor(random() * 2)}`, new Date(now.getTime() + Math.floor(random() * 120) * DAY).toISOString(), at));
      else bodies.push(event('baton.crm', 'CustomerErased', { ids: { crmId: who }, requestId: `DSR-${i}` }, at));
    }
    // Parallel writers on DynamoDB (version conflicts and retries), one after another in memory.
    for (let i = 0; i < bodies.length; i += 6) await Promise.all(bodies.slice(i, i + 6).map((b) => s.ingest(b)));
    for (const b of bodies) await memoryIngest(b);

    const scanned = await scannedMembers(s.client, names);
    const ids = SEGMENTS.map((x) => x.segmentId);
    const counts = await s.members.counts(ids);
    for (const id of ids) expect(counts.get(id), id).toBe(scanned[id]?.length ?? 0);
    expect(ids.reduce((sum, id) => sum + (counts.get(id) ?? 0), 0)).toBeGreaterThan(0);
    // Every member's profile names the segment, and every profile's segments have their items.
    const profiles = (await s.pages.page({ limit: 1000 })).profiles;
    const fromProfiles: Record<string, string[]> = {};
    for (const p of profiles) for (const seg of p.segments ?? []) (fromProfiles[seg] ??= []).push(p.customerId);
    for (const k of Object.keys(fromProfiles)) fromProfiles[k]!.sort();
    expect(fromProfiles).toEqual(scanned);

    // The memory repository: the same members per segment, by external id (customer ids differ).
    const crmOf = (identities: readonly string[]) => identities.find((i) => i.startsWith('crmId#'))!;
    const byCrm = (ps: { identities: readonly string[]; segments?: readonly string[] }[]) =>
      Object.fromEntries(ps.map((p) => [crmOf(p.identities), [...(p.segments ?? [])]]).sort());
    expect(byCrm([...memory.profiles.values()])).toEqual(byCrm(profiles));
    const memoryCounts = await new MemorySegmentMembers(memory).counts(ids);
    expect(Object.fromEntries(memoryCounts)).toEqual(Object.fromEntries(counts));
  });

  it('an invalid segment item is skipped at load with its reason, the others stay in force', async () => {
    const names = await freshTables('seg-invalid');
    const s = await dynamoSetup(names, () => new Date());
    const { PutCommand } = await import('@aws-sdk/lib-dynamodb');
    await s.client.send(new PutCommand({ TableName: names.rules, Item: { pk: 'SEGMENT#broken', sk: 'CURRENT', segmentId: 'broken', kind: 'dynamic', if: { tier: 'gold' } } }));
    const book = await new CachedSegmentSource(scanCurrentSegments(s.client, names.rules), { onRejected: (r) => s.rejected.push(`${r.segmentId}: ${r.reason}`) }).current();
    expect(book.list().map((x) => x.segmentId).sort()).toEqual(['big-spenders', 'expiring-60', 'gold', 'lapsed-90']);
    expect(s.rejected).toHaveLength(1);
    expect(s.rejected[0]).toMatch(/^broken: if: /);
  });
});
