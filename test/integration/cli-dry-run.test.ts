// `baton rules test` decides as ingest would (lib/app's dry run): two profiles an event's ids join
// are read merged, the CRM's surviving; an erased customer's event is dropped, nothing decided.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { batonWith, stackEnv } from '../support/cli.ts';
import { busClient, endpoints, eventually, profileByExternalId, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-dry-run-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const local = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

async function send(detailType: string, detail: Record<string, unknown>): Promise<void> {
  const out = await busClient().send(
    new PutEventsCommand({ Entries: [{ Source: 'baton.crm', DetailType: detailType, Detail: JSON.stringify({ occurredAt: new Date().toISOString(), ...detail }), EventBusName: 'baton' }] }),
  );
  expect(out.FailedEntryCount).toBe(0);
}

const sale = (ids: Record<string, string>, storeId: string) => ({
  source: 'baton.pos',
  'detail-type': 'SaleCompleted',
  detail: { ids, occurredAt: new Date().toISOString(), saleId: unique('S'), storeId, items: [{ sku: 'A', category: 'x', quantity: 1, unitPrice: 5 }], total: 5, currency: 'EUR' },
});

type Result = { customerId: string | null; known: boolean; erased?: boolean; candidates: { outcome: string }[] };

describe('baton rules test', () => {
  it('reads the profiles an event joins merged, and drops the events of an erased customer, as ingest does', async () => {
    const store = unique('dry');
    const [crmId, card, erasedCrm] = [unique('CRM-dry'), unique('LC-dry'), unique('CRM-gone')];
    // The consent is on the loyalty card's provisional profile; the CRM profile has none.
    await send('ConsentChanged', { ids: { loyaltyCard: card }, channel: 'sms', granted: true, via: 'web-form' });
    await send('CustomerUpserted', { ids: { crmId }, profile: { firstName: 'Rune', phone: '+4915112345678' } });
    await send('CustomerUpserted', { ids: { crmId: erasedCrm }, profile: { firstName: 'Gone' } });
    const crm = await eventually('both profiles', async () => ((await profileByExternalId('loyaltyCard', card)) ? await profileByExternalId('crmId', crmId) : undefined));
    await eventually('the third profile', () => profileByExternalId('crmId', erasedCrm));
    await send('CustomerErased', { ids: { crmId: erasedCrm }, requestId: unique('DSR') });
    await eventually('the erasure', async () => ((await profileByExternalId('crmId', erasedCrm)) ? undefined : true));

    const rules = join(work, 'rule.json');
    writeFileSync(rules, JSON.stringify({ ruleId: store, campaignId: 'dry-run', enabled: true, priority: 1, when: { source: ['baton.pos'], detail: { storeId: [store] } }, then: { channel: 'sms', template: store } }));
    const events = join(work, 'events.json');
    writeFileSync(events, JSON.stringify([sale({ crmId, loyaltyCard: card }, store), sale({ crmId: erasedCrm }, store)]));

    const [asJson, text] = await Promise.all([local('rules', 'test', rules, '--events', events, '--json'), local('rules', 'test', rules, '--events', events)]);

    expect(asJson.code).toBe(0);
    const out = JSON.parse(asJson.stdout) as { results: Result[] };
    expect(out.results[0]).toMatchObject({ customerId: crm.customerId, known: true, candidates: [{ outcome: 'chosen' }] });
    expect(out.results[1]).toMatchObject({ customerId: null, known: false, erased: true, candidates: [] });
    expect(text.stdout).toContain('#2 baton.pos/SaleCompleted dry-run-2: an id of an erased customer; ingest drops the event, nothing is decided');
  }, 180_000);
});
