// Segments on the local stack through the bus and the real `baton`: a customer's tier, spend and
// licence change through events and they enter and leave segments; the SegmentEntered/SegmentLeft
// events go over the bus and come back through evaluate (their marker says so); the CLI lists the
// counts, shows members and imports a static segment from a CSV, naming the ids it did not find.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { markerKey } from '../../lib/adapters/dynamo/customers.ts';
import { segmentEventId } from '../../lib/core/segments/events.ts';
import { batonWith, stackEnv } from '../support/cli.ts';
import { freshTables } from '../support/tables.ts';
import { createIngest } from '../../lib/app/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { busClient, db, endpoints, eventually, profileByExternalId, rulesRefreshed, tables, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-segments-'));
const created: string[] = [];
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  // Segments of this file leave the shared rules table (their versions stay: they are history).
  for (const id of created) await db().send(new DeleteCommand({ TableName: tables().rules, Key: { pk: `SEGMENT#${id}`, sk: 'CURRENT' } }));
});
const file = (name: string, text: string) => {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
};
const cli = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

/** Publishes one event; resolves to the id the bus gave it (what ingest marks it applied under). */
async function send(source: string, detailType: string, detail: Record<string, unknown>): Promise<string> {
  const out = await busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));
  const id = out.Entries?.[0]?.EventId;
  if (!id) throw new Error(`the bus refused the event: ${JSON.stringify(out.Entries)}`);
  return id;
}

describe('segments on the local stack', () => {
  it('follow a customer through events, with the segment events over the bus; the CLI counts them', { timeout: 300_000 }, async () => {
    const tier = unique('platinum');
    const [vip, rich, renewing] = [unique('seg-vip'), unique('seg-rich'), unique('seg-renew')];
    created.push(vip, rich, renewing);
    const defs = file(
      'segments.yaml',
      [
        'segments:',
        `  - segmentId: ${vip}`,
        `    if: { tier: ["${tier}"] }`,
        `  - segmentId: ${rich}`,
        `    if: { tier: ["${tier}"], lifetimeSpend: [{ numeric: [">=", 500] }] }`,
        `  - segmentId: ${renewing}`,
        `    if: { tier: ["${tier}"], daysToNextLicenseExpiry: [{ numeric: ["<=", 60] }] }`,
      ].join('\n'),
    );
    expect((await cli('segments', 'validate', defs)).code).toBe(0);
    const put = await cli('segments', 'put', defs, '--json');
    expect(put.code, put.stderr).toBe(0);
    await rulesRefreshed();

    const crmId = unique('CRM-seg');
    const at = () => new Date().toISOString();
    const upserted = await send('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at(), profile: { tier } });
    const segmentsOf = async () => ((await profileByExternalId('crmId', crmId))?.segments as string[] | undefined) ?? [];
    await eventually('the customer enters the tier segment', async () => ((await segmentsOf()).includes(vip) ? true : undefined));
    const customerId = String((await profileByExternalId('crmId', crmId))!.customerId);

    const sold = await send('baton.pos', 'SaleCompleted', {
      ids: { crmId }, occurredAt: at(), saleId: unique('S'), storeId: 'st-1', total: 600, currency: 'EUR',
      items: [{ sku: 'TS', category: 'software', quantity: 1, unitPrice: 600 }],
    });
    const licenseId = unique('LIC');
    const licensed = await send('baton.erp', 'LicensePurchased', {
      ids: { crmId, licenseId }, occurredAt: at(), licenseId, product: 'total-security', seats: 1, startsAt: at(),
      expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(), amount: 49, currency: 'EUR',
    });
    await eventually('spend and licence put the customer in two more', async () => ((await segmentsOf()).length === 3 ? true : undefined));
    expect((await segmentsOf()).sort()).toEqual([vip, rich, renewing].sort());

    const demoted = await send('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at(), profile: { tier: 'bronze' } });
    await eventually('a new tier takes the customer out of all three', async () => ((await segmentsOf()).length === 0 ? true : undefined));

    // Each SegmentEntered/SegmentLeft went over the bus to evaluate, which applied it: its marker, under the derived id.
    const expected = [
      segmentEventId(upserted, customerId, vip, 'SegmentEntered'),
      segmentEventId(sold, customerId, rich, 'SegmentEntered'),
      segmentEventId(licensed, customerId, renewing, 'SegmentEntered'),
      ...[vip, rich, renewing].map((id) => segmentEventId(demoted, customerId, id, 'SegmentLeft')),
    ];
    await eventually('the six segment events came back through evaluate', async () => {
      const outcomes = await Promise.all(
        expected.map(async (id) => (await db().send(new GetCommand({ TableName: tables().customers, Key: markerKey(id), ConsistentRead: true }))).Item?.outcome),
      );
      return outcomes.every((o) => o === 'applied') ? true : undefined;
    });
    const list = await cli('segments', 'list', '--json');
    expect(list.code, list.stderr).toBe(0);
    const counts = Object.fromEntries((JSON.parse(list.stdout) as { segmentId: string; members: number }[]).map((s) => [s.segmentId, s.members]));
    expect([counts[vip], counts[rich], counts[renewing]]).toEqual([0, 0, 0]);
  });

  it('imports a static segment from a CSV, reports the ids not found, and shows the members', { timeout: 300_000 }, async () => {
    const segmentId = unique('seg-import');
    created.push(segmentId);
    expect((await cli('segments', 'put', file('static.json', JSON.stringify({ segmentId, kind: 'static', description: 'fair visitors' })))).code).toBe(0);
    const [a, b] = [unique('CRM-imp'), unique('CRM-imp')];
    for (const crmId of [a, b]) await send('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: new Date().toISOString(), profile: { tier: 'silver' } });
    await eventually('both customers exist', async () => ((await profileByExternalId('crmId', a)) && (await profileByExternalId('crmId', b)) ? true : undefined));
    const missing = unique('CRM-nobody');

    const csv = file('visitors.csv', `kind,value\ncrmId,${a}\ncrmId,${b}\ncrmId,${missing}\nshoeSize,44\n`);
    const run = await cli('segments', 'import', segmentId, csv, '--json');
    expect(run.code, run.stderr).toBe(1); // done, and not every id was found
    const report = JSON.parse(run.stdout) as { joined: number; notFound: string[]; problems: string[] };
    expect(report.joined).toBe(2);
    expect(report.notFound).toEqual([`crmId,${missing}`]);
    expect(report.problems).toEqual(['line 5: the kind must be one of crmId, loyaltyCard, licenseId, deviceId, email']);

    // Again, as one column of a file with a header: nobody is added twice.
    const again = await cli('segments', 'import', segmentId, file('export.csv', `name,crmId\nAda,${a}\n`), '--column', 'crmId', '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({ joined: 0, alreadyMembers: 1, notFound: [] });

    const shown = await cli('segments', 'show', segmentId, '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const show = JSON.parse(shown.stdout) as { members: number; sample: { customerId: string }[] };
    expect(show.members).toBe(2);
    expect(show.sample.map((m) => m.customerId).sort()).toEqual(
      [String((await profileByExternalId('crmId', a))!.customerId), String((await profileByExternalId('crmId', b))!.customerId)].sort(),
    );
    const text = await cli('segments', 'list');
    expect(text.stdout).toMatch(new RegExp(`${segmentId}\\s+2 members`));

    // A static segment's members stay when their profile changes.
    await send('baton.crm', 'CustomerUpserted', { ids: { crmId: a }, occurredAt: new Date().toISOString(), profile: { tier: 'gold' } });
    await eventually('the change is applied', async () => ((await profileByExternalId('crmId', a))?.version === 3 ? true : undefined));
    expect((await profileByExternalId('crmId', a))?.segments).toContain(segmentId);
  });

  it('`baton segments refresh --at` admits a customer on the 90th day after the purchase', { timeout: 300_000 }, async () => {
    const names = await freshTables('seg-cli-refresh');
    const stage = names.rules.replace(/^baton-/, '').replace(/-rules$/, '');
    const fresh = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', stage);
    expect((await fresh('segments', 'put', file('lapsed.json', JSON.stringify({ segmentId: 'lapsed-90', if: { daysSinceLastPurchase: [{ numeric: ['>=', 90] }] } })))).code).toBe(0);
    const bought = '2026-01-10T15:00:00.000Z';
    const ingest = createIngest({
      customers: new DynamoCustomerRepository(db(), names),
      quarantine: new DynamoQuarantine(db(), names.quarantine),
      rules: { current: async () => new RuleSet([]) },
      metrics: new MemoryMetrics(),
    });
    const crmId = unique('CRM-lapse');
    await ingest(JSON.stringify({ version: '0', id: unique('ev'), source: 'baton.pos', 'detail-type': 'SaleCompleted', time: bought, detail: {
      ids: { crmId }, occurredAt: bought, saleId: 'S-1', storeId: 'st-1', total: 20, currency: 'EUR', items: [{ sku: 'A', category: 'x', quantity: 1, unitPrice: 20 }],
    } }));
    const day89 = await fresh('segments', 'refresh', '--at', '2026-04-09T16:00:00Z', '--json');
    expect(day89.code, day89.stderr).toBe(0);
    expect(JSON.parse(day89.stdout)).toMatchObject({ customers: 1, changed: 0 });
    const day90 = await fresh('segments', 'refresh', '--at', '2026-04-10T15:01:00Z', '--json');
    expect(JSON.parse(day90.stdout)).toMatchObject({ day: '2026-04-10', customers: 1, changed: 1, entered: 1 });
    const list = JSON.parse((await fresh('segments', 'list', '--json')).stdout) as { segmentId: string; members: number }[];
    expect(list).toMatchObject([{ segmentId: 'lapsed-90', members: 1 }]);
  });
});
