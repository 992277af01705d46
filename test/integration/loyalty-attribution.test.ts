// POS attribution (docs/loyalty.md). On the running local stack: a customer gets an email offer,
// clicks it, buys in a store within the window → the sale is attributed to that offer, a rule on
// SaleAttributed sends the follow-up, the campaign report counts the revenue. On DynamoDB Local
// with the real adapters: outside the window or in the holdout nothing is attributed, a redeemed
// offer code wins outright, a replayed sale attributes once.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { busClient, db, emailsTo, endpoints, eventually, profileByExternalId, putRule, putTemplate, rulesRefreshed, tables, unique } from '../support/local.ts';
import { freshTables } from '../support/tables.ts';
import { decisionItems, DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import { DynamoAttributionStore, DynamoOfferExposures } from '../../lib/adapters/dynamo/loyalty-attribution.ts';
import { DynamoAggregates } from '../../lib/adapters/dynamo/aggregates.ts';
import { createAttribution } from '../../lib/app/attribution.ts';
import { createAggregator, createReports } from '../../lib/app/reports.ts';
import type { Decision } from '../../lib/core/decide.ts';
import { countChange } from '../../lib/core/reports/aggregates.ts';
import type { LoyaltyEvent } from '../../lib/app/ports.ts';

type Entry = [source: string, detailType: string, detail: unknown];
async function send(...entries: Entry[]): Promise<void> {
  const out = await busClient().send(new PutEventsCommand({ Entries: entries.map(([Source, DetailType, detail]) => ({ Source, DetailType, Detail: JSON.stringify(detail), EventBusName: 'baton' })) }));
  expect(out.FailedEntryCount ?? 0).toBe(0);
}
const sale = (crmId: string, storeId: string, saleId: string, total: number): Entry => [
  'baton.pos',
  'SaleCompleted',
  { ids: { crmId }, occurredAt: new Date().toISOString(), saleId, storeId, items: [{ sku: 'BOOT-1', category: 'shoes', quantity: 1, unitPrice: total }], total, currency: 'EUR' },
];

describe('POS attribution on the local stack', () => {
  it('attributes an in-store sale to the clicked email offer, sends the follow-up on SaleAttributed and counts the revenue', async () => {
    const crmId = unique('CRM');
    const address = `${crmId.toLowerCase()}@example.com`;
    const campaignId = unique('boots');
    const offerStore = unique('web');
    const store = unique('store');
    await putTemplate({ templateId: campaignId, channel: 'email', locale: 'en', subject: 'Boots for you', html: '<p><a href="https://shop.example.com/boots?c={{ offer }}">20 % off</a></p>', text: 'Boots: {{ offer }}' });
    await putTemplate({ templateId: `${campaignId}-thanks`, channel: 'email', locale: 'en', subject: 'Enjoy your boots', html: '<p>Thanks for buying with {{ offer }}</p>', text: 'Thanks' });
    await putRule({ ruleId: campaignId, campaignId, enabled: true, priority: 10, when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [offerStore] } }, then: { channel: 'email', template: campaignId, offer: 'BOOTS20' } });
    // The follow-up: a rule on the attributed sale of this campaign.
    await putRule({ ruleId: `${campaignId}-thanks`, campaignId: `${campaignId}-thanks`, enabled: true, priority: 10, when: { source: ['baton.loyalty'], 'detail-type': ['SaleAttributed'], detail: { campaignId: [campaignId] } }, then: { channel: 'email', template: `${campaignId}-thanks`, offer: 'CARE5' } });
    const at = new Date().toISOString();
    await send(
      ['baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { firstName: 'Ada', email: address, locale: 'en' } }],
      ['baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' }],
    );
    const profile = await eventually('consent applied', async () => {
      const p = await profileByExternalId('crmId', crmId);
      return JSON.stringify(p?.state ?? {}).includes('web-form') ? p : undefined;
    });
    const customerId = profile.customerId as string;
    await rulesRefreshed();

    // The offer, and the customer's click on it.
    await send(sale(crmId, offerStore, unique('S'), 5));
    const [mail] = await eventually('the offer email', async () => {
      const m = await emailsTo(address);
      return m.length ? m : undefined;
    });
    const page = await eventually('the tracked mail page', async () => {
      const res = await fetch(`${endpoints().bus}/local/mail/${encodeURIComponent(mail!.messageId)}`);
      return res.ok ? res.text() : undefined;
    });
    const tracked = /href="(\/local\/track\/click[^"]+)"/.exec(page)?.[1];
    expect(tracked).toBeDefined();
    expect((await fetch(`${endpoints().bus}${tracked!.replace(/&amp;/g, '&')}`, { redirect: 'manual' })).status).toBe(302);
    const offer = await eventually('the click on the offer', async () => {
      const found = await new DynamoOfferExposures(db(), tables().decisions).since(customerId, at);
      return found.find((e) => e.campaignId === campaignId && e.touch === 'clicked');
    });

    // The sale in a store: attributed to the click, once, on the sale and on the decision.
    const saleId = unique('S');
    await send(sale(crmId, store, saleId, 129.9));
    const stored = await eventually('the attribution on the sale', async () => (await db().send(new GetCommand({ TableName: tables().ledger, Key: { pk: `ATTRIBUTED#${saleId}`, sk: 'SALE' }, ConsistentRead: true }))).Item);
    expect(stored).toMatchObject({ customerId, decisionId: offer.decisionId, campaignId, offer: 'BOOTS20', touch: 'clicked', revenue: 129.9, currency: 'EUR' });
    const decision = (await db().send(new GetCommand({ TableName: tables().decisions, Key: { pk: `DEC#${offer.decisionId}`, sk: 'DECISION' }, ConsistentRead: true }))).Item!;
    expect(decision.attributions).toEqual([expect.objectContaining({ saleId, campaignId, revenue: 129.9 })]);

    // The follow-up, sent by the rule on SaleAttributed.
    const thanks = await eventually('the follow-up email', async () => (await emailsTo(address)).find((m) => m.subject === 'Enjoy your boots'));
    expect(thanks.body.html).toContain('Thanks for buying with CARE5');

    // The campaign report counts the attributed revenue (the stack's aggregates consumer of the decisions stream).
    const reports = createReports({ aggregates: new DynamoAggregates(db(), tables().aggregates) });
    const day = new Date().toISOString().slice(0, 10);
    const report = await eventually('attributed revenue in the campaign report', async () => {
      const r = await reports.one('campaign', campaignId, { from: day, to: day, by: 'day' });
      return r.total.attributedSales ? r : undefined;
    });
    expect(report.total).toMatchObject({ attributedSales: 1, attributedRevenue: 129.9 });

    // Erasure: the sale's marker names the customer, so it goes with the decisions (the report's
    // counts stay: they name no one).
    await send(['baton.crm', 'CustomerErased', { ids: { crmId }, occurredAt: new Date().toISOString(), requestId: unique('DSR') }]);
    const item = async (TableName: string, pk: string, sk: string) => (await db().send(new GetCommand({ TableName, Key: { pk, sk }, ConsistentRead: true }))).Item;
    // The marker goes just before the decisions: wait for both.
    await eventually('the attribution marker and the decision erased', async () =>
      (await item(tables().ledger, `ATTRIBUTED#${saleId}`, 'SALE')) || (await item(tables().decisions, `DEC#${offer.decisionId}`, 'DECISION')) ? undefined : true,
    );
  }, 300_000);
});

describe('POS attribution with the DynamoDB adapters', () => {
  const T0 = '2026-11-10T10:00:00.000Z';
  const hours = (h: number) => new Date(Date.parse(T0) + h * 3_600_000).toISOString();

  /** A decision as decide-and-commit writes it; `holdout` puts the customer in the campaign's control group. */
  function decision(customerId: string, campaignId: string, offer: string, at: string, holdout = false): Decision {
    const decisionId = unique('dec');
    return {
      decisionId, customerId, eventId: `${decisionId}-e`, eventType: 'baton.pos/SaleCompleted', at,
      candidates: [{ ruleId: campaignId, campaignId, priority: 1, campaignPriority: 1, channel: 'email', outcome: holdout ? 'holdout' : 'chosen', reason: 'r' }],
      messages: holdout ? [] : [{ decisionId, customerId, ruleId: campaignId, campaignId, channel: 'email', template: 't', offer, transactional: false }],
      setState: {},
    };
  }

  async function world() {
    const names = await freshTables('attr');
    const client = db();
    const outbox = new DynamoDecisionStore(client, names.decisions);
    const published: LoyaltyEvent[] = [];
    const attributeSale = createAttribution({
      exposures: new DynamoOfferExposures(client, names.decisions),
      store: new DynamoAttributionStore(client, names),
      events: { publish: async (e) => void published.push(...e) },
    });
    async function offered(d: Decision, touches: Partial<Record<'deliveredAt' | 'openedAt' | 'clickedAt', string>> = {}) {
      for (const item of decisionItems(d, new Date(d.at))) {
        const sent = String(item.sk).startsWith('MSG#') ? { status: 'sent', completedAt: d.at } : {};
        await client.send(new PutCommand({ TableName: names.decisions, Item: { ...item, ...sent } }));
      }
      for (const [field, when] of Object.entries(touches)) await outbox.recordFeedback({ decisionId: d.decisionId, channel: 'email', field: field as 'openedAt', at: when });
      return d;
    }
    const saleOf = (saleId: string, at: string, offerCodes?: string[]) => ({ saleId, at, total: 50, currency: 'EUR', ...(offerCodes ? { offerCodes } : {}) });
    return { names, client, offered, attributeSale, published, saleOf };
  }

  it('attributes the last touch in the window, nothing outside it, and a replayed sale once', async () => {
    const w = await world();
    const c = unique('cus');
    const older = await w.offered(decision(c, 'gloves', 'GLOVES', hours(0)), { openedAt: hours(2) });
    const newer = await w.offered(decision(c, 'boots', 'BOOTS', hours(1)), { deliveredAt: hours(1), clickedAt: hours(30) });
    // Within 7 days of the click: the boots offer, clicked last.
    expect(await w.attributeSale(c, w.saleOf('S1', hours(48)))).toMatchObject({ decisionId: newer.decisionId, campaignId: 'boots', touch: 'clicked' });
    // Before the click, the gloves' open came after the boots' delivery.
    expect(await w.attributeSale(c, w.saleOf('S0', hours(3)))).toMatchObject({ decisionId: older.decisionId, touch: 'opened' });
    // Eight days after the last touch: outside the window, nothing.
    expect(await w.attributeSale(c, w.saleOf('S2', hours(30 + 8 * 24)))).toBeUndefined();
    // The same sale again: the decision keeps one attribution of it.
    await w.attributeSale(c, w.saleOf('S1', hours(48)));
    const item = (await w.client.send(new GetCommand({ TableName: w.names.decisions, Key: { pk: `DEC#${newer.decisionId}`, sk: 'DECISION' }, ConsistentRead: true }))).Item!;
    expect(item.attributions.map((a: { saleId: string }) => a.saleId)).toEqual(['S1']);
    expect(w.published.filter((e) => e.detailType === 'SaleAttributed').map((e) => e.eventId)).toEqual(['attributed:S1', 'attributed:S0', 'attributed:S1']);
  });

  it('attributes nothing to a campaign the customer is held out of, and a redeemed offer code wins outright', async () => {
    const w = await world();
    const c = unique('cus');
    // A message of the campaign clicked, yet the customer is in its control group (a rule's holdout
    // added later): the campaign is attributed nothing, not even by its code.
    await w.offered(decision(c, 'held', 'HELD', hours(-2)), { clickedAt: hours(-1) });
    await w.offered(decision(c, 'held', 'HELD', hours(0), true));
    expect(await w.attributeSale(c, w.saleOf('S1', hours(5), ['HELD']))).toBeUndefined();
    const coded = await w.offered(decision(c, 'boots', 'BOOTS20', hours(1)));
    await w.offered(decision(c, 'gloves', 'GLOVES', hours(2)), { clickedAt: hours(3) });
    expect(await w.attributeSale(c, w.saleOf('S2', hours(5), ['BOOTS20']))).toMatchObject({ decisionId: coded.decisionId, touch: 'offer-code' });
    expect(await w.attributeSale(c, w.saleOf('S3', hours(5)))).toMatchObject({ campaignId: 'gloves', touch: 'clicked' });
  });

  it('counts an attribution in the aggregates once, from the decision\'s change, and again the same in a rebuild', async () => {
    const w = await world();
    const aggregates = new DynamoAggregates(w.client, w.names.aggregates);
    const aggregate = createAggregator({ aggregates });
    const c = unique('cus');
    const d = await w.offered(decision(c, unique('camp'), 'OFF', hours(0)), { clickedAt: hours(1) });
    const [before] = decisionItems(d, new Date(d.at));
    await w.attributeSale(c, w.saleOf('S1', hours(5)));
    const after = (await w.client.send(new GetCommand({ TableName: w.names.decisions, Key: { pk: `DEC#${d.decisionId}`, sk: 'DECISION' }, ConsistentRead: true }))).Item!;
    const change = { id: unique('rec'), kind: 'decision' as const, newItem: after, oldItem: before };
    await aggregate(change);
    await aggregate(change); // the stream delivered it twice
    const campaignId = d.candidates[0]!.campaignId;
    const r = await createReports({ aggregates }).one('campaign', campaignId, { from: '2026-11-10', to: '2026-11-10', by: 'day' });
    expect(r.total).toMatchObject({ attributedSales: 1, attributedRevenue: 50 });
    expect(await createReports({ aggregates }).one('offer', 'OFF', { from: '2026-11-10', to: '2026-11-10', by: 'day' })).toMatchObject({ total: { attributedSales: 1 } });
    // A rebuild reads every stored item as new: the attribution is counted from the decision itself.
    const rebuilt = countChange({ kind: 'decision', newItem: after }).increments.filter((i) => i.counts.attributedSales);
    expect(rebuilt.map((i) => `${i.dimension.kind}:${i.dimension.id} ${i.day} ${i.counts.attributedRevenue}`)).toEqual([`campaign:${campaignId} 2026-11-10 50`, 'offer:OFF 2026-11-10 50']);
  });
});
