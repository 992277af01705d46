// The whole path on the real local servers: a POS sale for a known, consenting customer updates
// the state in DynamoDB Local, a rule matches, and a personalised email lands in the local SES.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { customerView, type CustomerState } from '../../lib/core/customer/index.ts';
import { decodeState } from '../../lib/adapters/dynamo/customers.ts';
import { busClient, decisionsOf, emailsTo, eventually, profileByExternalId, putRule, putTemplate, rulesRefreshed, unique } from '../support/local.ts';

const send = (source: string, detailType: string, detail: unknown) =>
  busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));

describe('walking skeleton', { timeout: 600_000 }, () => {
  it('turns a sale into state, a decision and a personalised email', async () => {
    const crmId = unique('CRM');
    const card = unique('LC');
    const store = unique('store');
    const email = `${crmId.toLowerCase()}@example.com`;
    const ruleId = unique('skeleton-rule');
    await putTemplate({
      templateId: ruleId,
      channel: 'email',
      locale: 'en',
      subject: 'Thanks, {{ customer.firstName }}',
      html: '<p>Dear {{ customer.firstName }} {{ customer.lastName }}, use {{ offer }}.</p>',
      text: 'Dear {{ customer.firstName }}, use {{ offer }}.',
    });
    await putRule({
      ruleId,
      campaignId: 'skeleton',
      enabled: true,
      priority: 10,
      when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
      then: { channel: 'email', template: ruleId, offer: 'THANKS5' },
    });
    const at = new Date().toISOString();
    await send('baton.crm', 'CustomerUpserted', {
      ids: { crmId, loyaltyCard: card },
      occurredAt: at,
      profile: { firstName: 'Ottilie', lastName: 'Quist', email, locale: 'en' },
    });
    await send('baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' });
    await eventually('email consent applied', async () => {
      const p = await profileByExternalId('crmId', crmId);
      return JSON.stringify(p?.state ?? {}).includes('web-form') ? p : undefined;
    });
    // Let the warm rule cache see the new rule.
    await rulesRefreshed();

    await send('baton.pos', 'SaleCompleted', {
      ids: { loyaltyCard: card },
      occurredAt: new Date().toISOString(),
      saleId: unique('S'),
      storeId: store,
      items: [{ sku: 'TS-5-1Y', category: 'security-software', quantity: 1, unitPrice: 79.99 }],
      total: 79.99,
      currency: 'EUR',
    });

    const [mail] = await eventually('the email in the local SES', async () => {
      const found = await emailsTo(email);
      return found.length ? found : undefined;
    });
    expect(mail!.subject).toBe('Thanks, Ottilie');
    expect(mail!.body.html).toContain('Dear Ottilie Quist, use THANKS5.');
    expect(mail!.headers?.find((h) => h.name === 'List-Unsubscribe-Post')?.value).toBe('List-Unsubscribe=One-Click');

    const profile = (await profileByExternalId('loyaltyCard', card))!;
    expect(profile.identities).toEqual(expect.arrayContaining([`crmId#${crmId}`, `loyaltyCard#${card}`]));
    const view = customerView(decodeState<CustomerState>(profile.state), new Date());
    expect(view.purchaseCount).toBe(1);
    expect(view.firstName).toBe('Ottilie');
    const decisions = await decisionsOf(profile.customerId as string);
    const decision = decisions.find((d) => d.sk === 'DECISION');
    expect(decision?.candidates).toEqual([expect.objectContaining({ ruleId, outcome: 'chosen' })]);
    const message = await eventually('the outbox message marked sent', async () => {
      const all = await decisionsOf(profile.customerId as string);
      return all.find((d) => d.sk === 'MSG#email' && d.status === 'sent');
    });
    expect(message.providerMessageId).toBe(mail!.messageId);
  });
});
