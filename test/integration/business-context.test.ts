// Business context on the local stack (docs/context.md): an accessory is offered only while some
// location has it; an InventoryChanged to zero stops the offer within the stated freshness, with
// `out-of-stock` on the decision; back in stock, the offers resume. Rules read the context in `if`.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { busClient, decisionsOf, emailsTo, eventually, profileByExternalId, putRule, putTemplate, quarantined, rulesRefreshed, unique } from '../support/local.ts';

const send = (source: string, detailType: string, detail: unknown) =>
  busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));

describe('business context on the local stack', { timeout: 600_000 }, () => {
  it('offers an accessory only while it is in stock, and rules read the call-centre load', async () => {
    const crmId = unique('CRM');
    const email = `${crmId.toLowerCase()}@example.com`;
    const sku = unique('CASE');
    const store = unique('store');
    const team = unique('service');
    const ruleId = unique('accessory');
    const stock = (location: string, available: number) =>
      send('baton.erp', 'InventoryChanged', { occurredAt: new Date().toISOString(), sku, location, available });

    await putTemplate({ templateId: ruleId, channel: 'email', locale: 'en', subject: 'A case for your phone', text: 'Use {{ offer }}.' });
    await putRule({
      ruleId,
      campaignId: 'accessories',
      enabled: true,
      priority: 10,
      when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
      then: { channel: 'email', template: ruleId, offer: 'CASE10', sku },
    });
    // A bus action only while the service team has agents free: the context in the rule's `if`.
    await putRule({
      ruleId: `${ruleId}-call`,
      campaignId: 'accessories',
      enabled: true,
      priority: 5,
      when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
      if: { context: { callCentre: { [team]: { agentsFree: [{ numeric: ['>', 0] }] } } } },
      then: { channel: 'bus', action: 'offer-setup-call' },
    });
    await send('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: new Date().toISOString(), profile: { firstName: 'Ines', email, locale: 'en' } });
    await send('baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: new Date().toISOString(), channel: 'email', granted: true, via: 'web-form' });
    await stock('web', 4);
    await stock(store, 1);
    await send('baton.crm', 'CallCentreLoadReported', { occurredAt: new Date().toISOString(), team, agentsFree: 2, queueLength: 1 });
    const profile = await eventually('consent applied', async () => {
      const p = await profileByExternalId('crmId', crmId);
      return JSON.stringify(p?.state ?? {}).includes('web-form') ? p : undefined;
    });
    const customerId = profile.customerId as string;

    const sale = async () => {
      const saleId = unique('S');
      await send('baton.pos', 'SaleCompleted', {
        ids: { crmId },
        occurredAt: new Date().toISOString(),
        saleId,
        storeId: store,
        items: [{ sku: 'PHONE-X', category: 'hardware', quantity: 1, unitPrice: 499 }],
        total: 499,
        currency: 'EUR',
      });
      return saleId;
    };
    const outcomes = async (count: number) =>
      eventually(`decision ${count}`, async () => {
        const decisions = (await decisionsOf(customerId)).filter((d) => d.sk === 'DECISION');
        if (decisions.length < count) return undefined;
        const latest = decisions.sort((a, b) => String(a.at).localeCompare(String(b.at)))[count - 1]!;
        return Object.fromEntries((latest.candidates as { ruleId: string; outcome: string }[]).map((c) => [c.ruleId, c.outcome]));
      });

    // In stock, agents free: the offer goes and the call is booked.
    await rulesRefreshed();
    await sale();
    expect(await outcomes(1)).toEqual({ [ruleId]: 'chosen', [`${ruleId}-call`]: 'chosen' });
    await eventually('the offer email', async () => ((await emailsTo(email)).length === 1 ? true : undefined));

    // Sold out everywhere, no agents free: within the stated freshness the offer is held back.
    await stock('web', 0);
    await stock(store, 0);
    await send('baton.crm', 'CallCentreLoadReported', { occurredAt: new Date().toISOString(), team, agentsFree: 0, queueLength: 9 });
    await rulesRefreshed();
    await sale();
    expect(await outcomes(2)).toEqual({ [ruleId]: 'out-of-stock', [`${ruleId}-call`]: 'customer-not-matched' });

    // A late report of the old stock level changes nothing: the latest occurrence wins.
    await send('baton.erp', 'InventoryChanged', { occurredAt: new Date(Date.now() - 3_600_000).toISOString(), sku, location: 'web', available: 50 });
    await rulesRefreshed();
    await sale();
    expect((await outcomes(3))[ruleId]).toBe('out-of-stock');

    // Back in stock at one store: offers resume.
    await stock(store, 2);
    await rulesRefreshed();
    await sale();
    expect((await outcomes(4))[ruleId]).toBe('chosen');
    await eventually('the second offer email', async () => ((await emailsTo(email)).length === 2 ? true : undefined));
  });

  it('quarantines an invalid context event with its reason', async () => {
    const sku = unique('BAD');
    await send('baton.erp', 'InventoryChanged', { occurredAt: new Date().toISOString(), sku, location: 'web', available: -3 });
    const entry = await eventually('the quarantined stock report', async () => (await quarantined()).find((q) => String(q.body).includes(sku)));
    expect(entry.reason).toContain('detail.available');
  });
});
