// Finding a customer the way an agent or a channel knows them: by the e-mail address the CRM wrote
// into the profile (in any case), through `baton customer show` and the decision API; and the
// contact counters after an unsubscribe through the link of a mail.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { batonWith, stackEnv } from '../support/cli.ts';
import { busClient, decisionsOf, endpoints, eventually, profileByExternalId, putTemplate, rulesRefreshed, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-identity-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const local = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

async function send(...entries: [detailType: string, detail: unknown, source?: string][]): Promise<void> {
  const out = await busClient().send(
    new PutEventsCommand({
      Entries: entries.map(([DetailType, d, source]) => ({ Source: source ?? 'baton.crm', DetailType, Detail: JSON.stringify(d), EventBusName: 'baton' })),
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
}

/** A CRM customer whose e-mail address is only in the profile, as the CRM sample has it. */
async function crmCustomer(email: string, more: Record<string, unknown> = {}): Promise<{ crmId: string; customerId: string }> {
  const crmId = unique('CRM-id');
  const at = new Date().toISOString();
  await send(['CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { firstName: 'Imke', email, locale: 'en', ...more } }]);
  const p = await eventually('the CRM profile applied', async () => await profileByExternalId('crmId', crmId));
  return { crmId, customerId: String(p.customerId) };
}

const decide = async (kind: string, value: string) => {
  const res = await fetch(`${endpoints().bus}/v1/decisions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ customer: { kind, value }, channel: 'web', context: {} }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

describe('a customer the CRM knows by the e-mail address in the profile', () => {
  it('is found by that address, in any case, by customer show and by the decision API', async () => {
    const name = unique('imke');
    const written = `Imke.${name}@Example.COM`;
    const c = await crmCustomer(written);

    const [lower, upper, asJson, api, apiUpper] = await Promise.all([
      local('customer', 'show', written.toLowerCase()),
      local('customer', 'show', written.toUpperCase()),
      local('customer', 'show', written, '--json'),
      decide('email', written.toLowerCase()),
      decide('email', written.toUpperCase()),
    ]);

    expect([lower.code, lower.stderr]).toEqual([0, '']);
    expect(lower.stdout).toContain(`customer ${c.customerId} `);
    expect(lower.stdout).toContain(`email#${written.toLowerCase()}`);
    expect(upper.code).toBe(0);
    expect(upper.stdout).toContain(`customer ${c.customerId} `);
    expect((JSON.parse(asJson.stdout) as { customerId: string; identities: string[] }).identities).toEqual([`crmId#${c.crmId}`, `email#${written.toLowerCase()}`]);
    expect(api).toMatchObject({ status: 200, body: { customerId: c.customerId } });
    expect(apiUpper).toMatchObject({ status: 200, body: { customerId: c.customerId } });
  }, 120_000);

  it('is not merged with another CRM customer who has the same address: the address stays with the first', async () => {
    const shared = `${unique('family')}@example.com`;
    const first = await crmCustomer(shared);
    const second = await crmCustomer(shared.toUpperCase(), { firstName: 'Ole' });

    expect(second.customerId).not.toBe(first.customerId);
    const [byAddress, bySecond] = await Promise.all([local('customer', 'show', shared, '--json'), local('customer', 'show', second.crmId, '--json')]);
    expect((JSON.parse(byAddress.stdout) as { customerId: string }).customerId).toBe(first.customerId);
    const secondShown = JSON.parse(bySecond.stdout) as { identities: string[]; view: { firstName: string; email: string } };
    expect(secondShown.identities).toEqual([`crmId#${second.crmId}`]);
    expect(secondShown.view).toMatchObject({ firstName: 'Ole', email: shared.toUpperCase() });
  }, 120_000);
});

describe('an unsubscribe through the link of a mail', () => {
  it('withdraws consent via unsubscribe-link and counts in the unsubscribes of customer show', async () => {
    const store = unique('unsub');
    await putTemplate({
      templateId: store,
      channel: 'email',
      locale: 'en',
      subject: 'A note',
      html: '<p>Hi {{ customer.firstName }}</p><p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>',
      text: 'Hi {{ customer.firstName }}. Unsubscribe: {{ unsubscribeUrl }}',
    });
    const rules = join(work, `${store}.json`);
    writeFileSync(
      rules,
      JSON.stringify({ ruleId: store, campaignId: 'cli-identity', enabled: true, priority: 10, when: { source: ['baton.pos'], detail: { storeId: [store] } }, then: { channel: 'email', template: store } }),
    );
    const put = await local('rules', 'put', rules, '--by', 'identity-test');
    expect([put.code, put.stderr]).toEqual([0, '']);
    const email = `${store}@example.com`;
    const c = await crmCustomer(email);
    await send(['ConsentChanged', { ids: { crmId: c.crmId }, occurredAt: new Date().toISOString(), channel: 'email', granted: true, via: 'web-form' }]);
    await eventually('consent given', async () => ((await profileByExternalId('crmId', c.crmId))?.state as string | undefined)?.includes('web-form') || undefined);
    await rulesRefreshed();
    await send([
      'SaleCompleted',
      { ids: { crmId: c.crmId }, occurredAt: new Date().toISOString(), saleId: unique('S'), storeId: store, items: [{ sku: 'A', category: 'x', quantity: 1, unitPrice: 5 }], total: 5, currency: 'EUR' },
      'baton.pos',
    ]);
    const decisionId = await eventually('the mail sent', async () => {
      const m = (await decisionsOf(c.customerId)).find((i) => i.sk === 'MSG#email' && i.status === 'sent');
      return m ? String(m.decisionId) : undefined;
    });

    const unsubscribed = await local('simulate', decisionId, 'unsubscribed');
    expect([unsubscribed.code, unsubscribed.stderr]).toEqual([0, '']);
    await eventually('consent withdrawn by the link', async () => {
      const state = JSON.parse(String((await profileByExternalId('crmId', c.crmId))?.state ?? '{}')) as { consent?: { email?: { v: boolean; via: string } } };
      return state.consent?.email?.via === 'unsubscribe-link' ? true : undefined;
    });
    const [text, asJson] = await Promise.all([local('customer', 'show', c.crmId), local('customer', 'show', c.crmId, '--json')]);

    expect(text.stdout).toMatch(/^ {2}contacts: .* · unsubscribes 1$/m);
    expect(text.stdout).toMatch(/^ {2}email +no +withdrawn \S+ via unsubscribe-link$/m);
    expect((JSON.parse(asJson.stdout) as { view: { unsubscribes: number } }).view.unsubscribes).toBe(1);
  }, 180_000);
});
