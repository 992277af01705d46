// Identity and erasure on the real local stack: a provisional profile merges into the known
// customer with nothing lost; an erased customer leaves no personal data and is never resurrected.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { customerView, type CustomerState } from '../../lib/core/customer/index.ts';
import { decodeState } from '../../lib/adapters/dynamo/customers.ts';
import { busClient, db, decisionsOf, emailsTo, eventually, pipelineQuiet, profileByExternalId, putRule, putTemplate, rulesRefreshed, tables, unique } from '../support/local.ts';

const now = () => new Date().toISOString();
const send = async (...events: { source: string; type: string; detail: object }[]) => {
  const out = await busClient().send(
    new PutEventsCommand({
      Entries: events.map((e) => ({ Source: e.source, DetailType: e.type, Detail: JSON.stringify(e.detail), EventBusName: 'baton' })),
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
};
const viewOf = (profile: Record<string, unknown>) => customerView(decodeState<CustomerState>(profile.state), new Date());

describe('identity', () => {
  it('merges a provisional profile (device events before registration) into the known customer, losing nothing', async () => {
    const [crmId, licenseId, deviceId] = [unique('CRM'), unique('LIC'), unique('dev')];
    // The device reports before anyone knows whose it is: a provisional profile under its id.
    await send(
      { source: 'baton.device', type: 'DeviceStatusReported', detail: { ids: { deviceId }, occurredAt: now(), deviceId, status: 'at-risk', agentVersion: '24.6.1' } },
      { source: 'baton.device', type: 'ThreatDetected', detail: { ids: { deviceId }, occurredAt: now(), deviceId, threatId: unique('T'), threatName: 'Trojan.X', severity: 'high', action: 'quarantined' } },
    );
    const provisional = await eventually('the provisional profile with the threat', async () => {
      const p = await profileByExternalId('deviceId', deviceId);
      return p && viewOf(p).devices.length === 1 && JSON.stringify(p.state).includes('Trojan.X') ? p : undefined;
    });
    // Meanwhile the CRM and ERP know the customer and the licence.
    await send({ source: 'baton.crm', type: 'CustomerUpserted', detail: { ids: { crmId }, occurredAt: now(), profile: { firstName: 'Imke', email: `${crmId.toLowerCase()}@example.com` } } });
    await eventually('the CRM customer', () => profileByExternalId('crmId', crmId));
    await send({
      source: 'baton.erp', type: 'LicensePurchased',
      detail: { ids: { crmId, licenseId }, occurredAt: now(), licenseId, product: 'total-security', seats: 3, startsAt: now(), expiresAt: '2027-12-01T00:00:00Z', amount: 59.99, currency: 'EUR' },
    });
    await eventually('the licence linked', () => profileByExternalId('licenseId', licenseId));
    // Registration links the device to the licence, and so to the customer: the two profiles merge.
    await send({ source: 'baton.device', type: 'DeviceRegistered', detail: { ids: { licenseId, deviceId }, occurredAt: now(), deviceId, platform: 'windows', agentVersion: '24.6.1' } });

    const merged = await eventually('one profile for all three ids', async () => {
      const [a, b, c] = await Promise.all([profileByExternalId('crmId', crmId), profileByExternalId('licenseId', licenseId), profileByExternalId('deviceId', deviceId)]);
      return a && b && c && a.customerId === b.customerId && b.customerId === c.customerId ? a : undefined;
    });
    const view = viewOf(merged);
    expect(merged.customerId).not.toBe(provisional.customerId); // the CRM-known profile survives
    expect(merged.formerIds).toEqual([provisional.customerId]);
    expect(view.firstName).toBe('Imke');
    expect(view.devices).toEqual([expect.objectContaining({ deviceId, status: 'at-risk', platform: 'windows' })]);
    expect(JSON.stringify(merged.state)).toContain('Trojan.X');
    expect(view.licences).toEqual([expect.objectContaining({ licenseId })]);
    const old = await db().send(new ScanCommand({ TableName: tables().customers, FilterExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `CUS#${provisional.customerId}` } }));
    expect(old.Items).toEqual([]);
  });
});

describe('erasure', () => {
  it('erases one customer out of many: no personal data left in any table, and old events do not resurrect them', async () => {
    const store = unique('erase-store');
    const ruleId = unique('erase-rule');
    await putTemplate({ templateId: ruleId, channel: 'email', locale: 'en', subject: 'Hi {{ customer.firstName }}', text: 'Hello {{ customer.firstName }}' });
    await putRule({
      ruleId, campaignId: 'erasure-test', enabled: true, priority: 5,
      when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
      then: { channel: 'email', template: ruleId },
    });
    await rulesRefreshed();
    const people = Array.from({ length: 3 }, (_, i) => ({
      crmId: unique('CRM'), card: unique('LC'),
      firstName: `Ysolde${i}${unique('x').slice(-4)}`, email: `${unique('erase').toLowerCase()}@example.com`, phone: `+49151${String(Date.now()).slice(-7)}${i}`,
    }));
    const history = (p: (typeof people)[number]) => [
      { source: 'baton.crm', type: 'CustomerUpserted', detail: { ids: { crmId: p.crmId, loyaltyCard: p.card, email: p.email }, occurredAt: now(), profile: { firstName: p.firstName, email: p.email, phone: p.phone } } },
      { source: 'baton.crm', type: 'ConsentChanged', detail: { ids: { crmId: p.crmId }, occurredAt: now(), channel: 'email', granted: true, via: 'web-form' } },
    ];
    for (const p of people) await send(...history(p));
    for (const p of people) await eventually('consent', async () => {
      const profile = await profileByExternalId('crmId', p.crmId);
      return profile && viewOf(profile).consent.email ? profile : undefined;
    });
    const sale = (p: (typeof people)[number]) => ({
      source: 'baton.pos', type: 'SaleCompleted',
      detail: { ids: { loyaltyCard: p.card }, occurredAt: now(), saleId: unique('S'), storeId: store, total: 20, currency: 'EUR', items: [{ sku: 'A', category: 'software', quantity: 1, unitPrice: 20 }] },
    });
    for (const p of people) await send(sale(p));
    const [target, ...others] = people;
    await eventually('the target got the email', async () => ((await emailsTo(target!.email)).length ? true : undefined));
    // An invalid event naming the target sits in the quarantine with its payload.
    const invalid = { source: 'baton.pos', type: 'SaleCompleted', detail: { ids: { loyaltyCard: target!.card }, occurredAt: now(), note: target!.firstName } };
    await send(invalid);
    const targetProfile = (await profileByExternalId('crmId', target!.crmId))!;
    await eventually('an outbox message for the target', async () => ((await decisionsOf(targetProfile.customerId as string)).length ? true : undefined));
    const scanAll = async () =>
      Object.fromEntries(
        await Promise.all(Object.entries(tables()).map(async ([k, t]) => [k, JSON.stringify((await db().send(new ScanCommand({ TableName: t }))).Items ?? [])] as const)),
      );
    // Before: the scan does see the person where Baton keeps them, so the check below can fail.
    const before = await eventually('the invalid event quarantined', async () => {
      const all = await scanAll();
      return all.quarantine!.includes(target!.firstName) ? all : undefined;
    });
    expect(before.customers).toContain(target!.firstName);
    expect(before.customers).toContain(target!.crmId);

    await send({ source: 'baton.crm', type: 'CustomerErased', detail: { ids: { crmId: target!.crmId }, occurredAt: now(), requestId: unique('DSR') } });
    await eventually('the profile gone', async () => ((await profileByExternalId('crmId', target!.crmId)) ? undefined : true));
    // Replay the customer's old events, the invalid one too, as an archive replay would; then wait until all went through.
    await send(...history(target!), sale(target!), invalid);
    await pipelineQuiet();

    const secrets = [target!.firstName, target!.email, target!.phone, target!.crmId, target!.card];
    for (const [table, text] of Object.entries(await scanAll())) {
      for (const secret of secrets) expect(text.includes(secret), `${secret} found in ${table}`).toBe(false);
    }
    expect(await profileByExternalId('crmId', target!.crmId)).toBeUndefined();
    expect(await profileByExternalId('loyaltyCard', target!.card)).toBeUndefined();
    expect(await decisionsOf(targetProfile.customerId as string)).toEqual([]);
    // The others are untouched.
    for (const p of others) expect(viewOf((await profileByExternalId('crmId', p.crmId))!).firstName).toBe(p.firstName);
  }, 240_000);
});
