// The member's statement where the customer sees it, on the running local stack (DynamoDB Local,
// the local SES): an email whose template names `loyalty` shows the real balance and the next
// expiry after two accruals, in the customer's locale and time zone; the decision API answers
// with the statement when asked for it.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { busClient, db, emailsTo, endpoints, eventually, profileByExternalId, putRule, putTemplate, rulesRefreshed, tables, unique } from '../support/local.ts';
import { programmeFixture } from '../support/loyalty.ts';
import { DynamoLoyaltyItems } from '../../lib/adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../../lib/adapters/dynamo/loyalty.ts';

async function send(source: string, detailType: string, detail: unknown) {
  const out = await busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));
  expect(out.FailedEntryCount ?? 0).toBe(0);
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

describe('the loyalty statement in templates and the decision API', { timeout: 600_000 }, () => {
  it('an email shows the balance and next expiry after accruals, in the customer\'s locale and zone; the decision API answers with the statement', async () => {
    const client = db();
    const programmeId = unique('stmt');
    await new DynamoLoyaltyItems(client, tables().ledger).put(programmeFixture(programmeId).programme);
    const card = unique('LC');
    const crmId = unique('CRM');
    const email = `${crmId.toLowerCase()}@example.com`;
    const now = new Date();
    // Auckland is 12-13 hours ahead of UTC: a lot due at the end of a month (UTC) is due on the 1st there.
    await send('baton.crm', 'CustomerUpserted', { ids: { crmId, loyaltyCard: card }, occurredAt: now.toISOString(), profile: { firstName: 'Ada', email, locale: 'en-GB', timeZone: 'Pacific/Auckland' } });
    await send('baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: now.toISOString(), channel: 'email', granted: true, via: 'web-form' });
    await send('baton.crm', 'MemberEnrolled', { ids: { loyaltyCard: card }, occurredAt: now.toISOString(), programmeId });
    const customerId = await eventually('the member known, with consent', async () => {
      const p = await profileByExternalId('crmId', crmId);
      return p && String(p.state).includes('web-form') ? (p.customerId as string) : undefined;
    });
    const ledger = new DynamoLoyaltyLedger(client, tables().ledger);
    await eventually('the account open', () => ledger.account(programmeId, customerId));

    // The email goes on the second sale's PointsEarned: by then both sales are on the ledger.
    const secondSale = unique('S');
    const templateId = unique('points-mail');
    await putTemplate({
      templateId,
      channel: 'email',
      locale: 'en',
      subject: 'Your {{ loyalty.' + programmeId + '.currencyName }}',
      html: '<p>You have {{ loyalty.' + programmeId + '.balanceText }} points; {{ loyalty.' + programmeId + '.nextExpiry.pointsText }} expire on {{ loyalty.' + programmeId + '.nextExpiry.date }}.</p>',
      text: 'You have {{ loyalty.' + programmeId + '.balanceText }} points; {{ loyalty.' + programmeId + '.nextExpiry.pointsText }} expire on {{ loyalty.' + programmeId + '.nextExpiry.date }} ({{ loyalty.' + programmeId + '.nextExpiry.on }}).',
    });
    await putRule({
      ruleId: templateId,
      campaignId: 'statement-test',
      enabled: true,
      priority: 10,
      when: { source: ['baton.loyalty'], 'detail-type': ['PointsEarned'], detail: { programmeId: [programmeId], txId: [`sale:${secondSale}`] } },
      then: { channel: 'email', template: templateId },
    });
    await rulesRefreshed();

    // An old sale (its lot expires first) of 400 EUR in electronics (×2) and 150 EUR today: 800 + 10 bonus, then 150 + 10.
    const old = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 10, 12));
    const item = (category: string, unitPrice: number) => [{ sku: 'X', category, quantity: 1, unitPrice }];
    await send('baton.pos', 'SaleCompleted', { ids: { loyaltyCard: card }, occurredAt: old.toISOString(), saleId: unique('S'), storeId: 'store-1', items: item('electronics', 400), total: 400, currency: 'EUR' });
    await eventually('the first accrual', async () => ((await ledger.account(programmeId, customerId))?.balance === 810 ? true : undefined));
    await send('baton.pos', 'SaleCompleted', { ids: { loyaltyCard: card }, occurredAt: now.toISOString(), saleId: secondSale, storeId: 'store-1', items: item('grocery', 150), total: 150, currency: 'EUR' });

    const [mail] = await eventually('the statement email', async () => {
      const found = await emailsTo(email);
      return found.length ? found : undefined;
    });
    // The old lot is due at the end of its 12th month (UTC), the 1st of the month after in Auckland.
    const due = new Date(Date.UTC(old.getUTCFullYear(), old.getUTCMonth() + 13, 1));
    const localDay = `${due.getUTCFullYear()}-${String(due.getUTCMonth() + 1).padStart(2, '0')}-01`;
    expect(mail!.subject).toBe('Your points');
    expect(mail!.body.text).toBe(`You have 970 points; 810 expire on 1 ${MONTHS[due.getUTCMonth()]} (${localDay}).`);
    expect(mail!.body.html).toContain(`You have 970 points; 810 expire on 1 ${MONTHS[due.getUTCMonth()]}.`);

    // The decision API, asked for the statement (no rule needs to match).
    const post = async (body: unknown) => {
      const res = await fetch(`${endpoints().bus}/v1/decisions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    };
    const asked = await post({ customer: { kind: 'loyaltyCard', value: card }, channel: 'kiosk', context: { screen: unique('s') }, loyalty: true });
    expect(asked.status).toBe(200);
    const utcDue = new Date(due.getTime() - 1).toISOString().slice(0, 10);
    expect(asked.body.loyalty).toEqual([
      { programmeId, balance: 970, currencyName: 'points', tier: 'silver', nextExpiry: { points: 810, on: utcDue }, statement: `you have 970 points, 810 expire on ${Number(utcDue.slice(8))} ${MONTHS[Number(utcDue.slice(5, 7)) - 1]}` },
    ]);
    // By programme id; one it is not in is left out; without `loyalty` the answer has none.
    const named = await post({ customer: { kind: 'loyaltyCard', value: card }, channel: 'kiosk', loyalty: [programmeId, unique('other')] });
    expect(named.body.loyalty).toEqual([expect.objectContaining({ programmeId, balance: 970 })]);
    const plain = await post({ customer: { kind: 'loyaltyCard', value: card }, channel: 'kiosk' });
    expect(plain.status).toBe(200);
    expect(plain.body.loyalty).toBeUndefined();
    const bad = await post({ customer: { kind: 'loyaltyCard', value: card }, channel: 'kiosk', loyalty: ['Not An Id'] });
    expect(bad.status).toBe(400);
    expect(bad.body.reason).toMatch(/^loyalty/);
  });
});
