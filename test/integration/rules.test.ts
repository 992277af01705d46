// Rules on the local stack: warm deployment (a change in the table takes effect without a
// restart), an invalid item skipped with its reason while the others keep deciding, and each
// suppression reason stored with the decision. Every scenario has its own customers, stores,
// campaigns and policy, so it shares the stack with the other tests safely.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { inHoldout } from '../../lib/core/decide.ts';
import { CachedRuleSource, scanCurrentRules, type RuleRejection } from '../../lib/adapters/dynamo/rules.ts';
import { busClient, db, eventually, profileByExternalId, putRule, rulesRefreshed, tables, unique } from '../support/local.ts';

let client: ReturnType<typeof db>;
beforeAll(() => {
  client = db();
});
const cleanup: { pk: string; sk: string; table: 'rules' | 'campaigns' }[] = [];
afterAll(async () => {
  for (const k of cleanup) await client.send(new DeleteCommand({ TableName: tables()[k.table], Key: { pk: k.pk, sk: k.sk } }));
});

async function send(source: string, detailType: string, detail: unknown): Promise<string> {
  const out = await busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));
  const id = out.Entries?.[0]?.EventId;
  if (!id) throw new Error(`the bus refused the event: ${JSON.stringify(out.Entries)}`);
  return id;
}

/** A customer with email consent (unless told otherwise) in a time zone; resolves to the customerId. */
async function customer(opts: { consent?: boolean; timeZone?: string } = {}): Promise<{ card: string; customerId: string }> {
  const crmId = unique('CRM-rules');
  const card = unique('LC-rules');
  const at = new Date(Date.now() - 60_000).toISOString();
  await send('baton.crm', 'CustomerUpserted', { ids: { crmId, loyaltyCard: card }, occurredAt: at, profile: { locale: 'en', timeZone: opts.timeZone ?? 'UTC', tier: 'gold' } });
  await send('baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel: 'email', granted: opts.consent ?? true, via: 'web-form' });
  const profile = await eventually('the customer with a consent', async () => {
    const p = await profileByExternalId('loyaltyCard', card);
    return p && JSON.stringify(p.state).includes('web-form') ? p : undefined;
  });
  return { card, customerId: String(profile.customerId) };
}

const sale = (card: string, storeId: string) =>
  send('baton.pos', 'SaleCompleted', {
    ids: { loyaltyCard: card },
    occurredAt: new Date().toISOString(),
    saleId: unique('S'),
    storeId,
    items: [{ sku: 'TS-5-1Y', category: 'security-software', quantity: 1, unitPrice: 79.99 }],
    total: 79.99,
    currency: 'EUR',
  });

async function decisionFor(customerId: string, eventId: string) {
  return eventually(`the decision for event ${eventId}`, async () => {
    const out = await client.send(
      new QueryCommand({ TableName: tables().decisions, IndexName: 'byCustomer', KeyConditionExpression: 'customerId = :c', ExpressionAttributeValues: { ':c': customerId } }),
    );
    const items = out.Items ?? [];
    const decision = items.find((i) => i.sk === 'DECISION' && i.eventId === eventId);
    if (!decision) return undefined;
    return {
      candidates: decision.candidates as { ruleId: string; outcome: string; reason: string; notBefore?: string }[],
      messages: items.filter((i) => i.pk === decision.pk && String(i.sk).startsWith('MSG#')),
    };
  }, 20_000);
}

const outcomes = (d: { candidates: { ruleId: string; outcome: string }[] }) => Object.fromEntries(d.candidates.map((c) => [c.ruleId, c.outcome]));
const refresh = rulesRefreshed; // the stack's caches refresh every 300 ms; measured, so a slow machine waits longer

async function putItem(table: 'rules' | 'campaigns', item: Record<string, unknown>) {
  await client.send(new PutCommand({ TableName: tables()[table], Item: item }));
  cleanup.push({ table, pk: String(item.pk), sk: String(item.sk) });
}

const rule = (ruleId: string, store: string, over: Record<string, unknown> = {}) => ({
  ruleId,
  campaignId: ruleId,
  enabled: true,
  priority: 10,
  when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
  then: { channel: 'email', template: 'rules-test' },
  ...over,
});

describe('rules on the local stack', () => {
  it('takes a rule changed in the table into account within 30 s, without a restart', async () => {
    const store = unique('warm-store');
    const ruleId = unique('warm');
    const { card, customerId } = await customer();
    await putRule(rule(ruleId, store, { then: { channel: 'bus', action: 'before' } }));
    cleanup.push({ table: 'rules', pk: `RULE#${ruleId}`, sk: 'CURRENT' });
    await refresh();
    const first = await decisionFor(customerId, await sale(card, store));
    expect(first.messages.map((m) => m.action)).toEqual(['before']);

    await putRule(rule(ruleId, store, { then: { channel: 'bus', action: 'after' } }));
    const changedAt = Date.now();
    let action: unknown;
    while (action !== 'after' && Date.now() - changedAt < 30_000) {
      const d = await decisionFor(customerId, await sale(card, store));
      action = d.messages[0]?.action;
    }
    expect(action).toBe('after');
    expect(Date.now() - changedAt).toBeLessThan(30_000);
  });

  it('skips an invalid rule item with its reason, keeps its last good version, and the others keep deciding', async () => {
    const store = unique('invalid-store');
    const broken = unique('broken');
    const healthy = unique('healthy');
    const { card, customerId } = await customer();
    await putRule(rule(broken, store, { priority: 50, then: { channel: 'bus', action: 'broken-v1' } }));
    await putRule(rule(healthy, store, { priority: 10, then: { channel: 'email', template: 'rules-test' } }));
    cleanup.push({ table: 'rules', pk: `RULE#${broken}`, sk: 'CURRENT' }, { table: 'rules', pk: `RULE#${healthy}`, sk: 'CURRENT' });
    await refresh();
    await decisionFor(customerId, await sale(card, store)); // both loaded and good

    await putRule(rule(broken, store, { priority: 'very high', then: { channel: 'bus', action: 'broken-v2' } }));
    // What the running function reports: a fresh source over the same table, with its logger.
    const rejected: RuleRejection[] = [];
    await new CachedRuleSource(scanCurrentRules(client, tables().rules), { onRejected: (r) => rejected.push(r) }).current();
    expect(rejected.find((r) => r.ruleId === broken)?.reason).toMatch(/^priority: /);
    await refresh();

    const d = await decisionFor(customerId, await sale(card, store));
    expect(outcomes(d)).toEqual({ [broken]: 'chosen', [healthy]: 'chosen' });
    expect(d.messages.map((m) => m.action ?? m.template).sort()).toEqual(['broken-v1', 'rules-test']);
  });

  it('stores each suppression reason with the decision: consent, cooldown, cap, quiet hours, budget, capacity, holdout', async () => {
    const id = unique('sup');
    const policy = (policyId: string, p: Record<string, unknown>) => putItem('campaigns', { pk: `POLICY#${policyId}`, sk: 'CURRENT', policyId, ...p });
    const campaign = (campaignId: string, c: Record<string, unknown>) => putItem('campaigns', { pk: `CAMPAIGN#${campaignId}`, sk: 'CURRENT', campaignId, ...c });
    const now = new Date();
    const hh = (d: number) => `${String((now.getUTCHours() + 24 + d) % 24).padStart(2, '0')}:00`;
    const [consentless, cooled, capped, quiet, budgeted, capacitied, held] = await Promise.all([
      customer({ consent: false }),
      customer(),
      customer(),
      customer({ timeZone: 'UTC' }),
      customer(),
      customer(),
      customer(),
    ]);
    // A campaign id that puts `held` in the 50 % control group (membership is a hash of both ids).
    let heldCampaign = '';
    for (let i = 0; !heldCampaign; i++) if (inHoldout(held.customerId, `${id}-hold-${i}`, 0.5)) heldCampaign = `${id}-hold-${i}`;

    await Promise.all([
      policy(`${id}-cool`, { cooldownHours: 2 }),
      policy(`${id}-cap`, { caps: { email: { perDay: 1 } } }),
      policy(`${id}-quiet`, { quietHours: { start: hh(-1), end: hh(1) } }),
      campaign(`${id}-cool`, { policyId: `${id}-cool` }),
      campaign(`${id}-cap`, { policyId: `${id}-cap` }),
      campaign(`${id}-quiet`, { policyId: `${id}-quiet` }),
      campaign(`${id}-budget`, { budget: { unit: 'messages', limit: 1 } }),
      campaign(`${id}-capacity`, { capacityPerHour: { email: 1 } }),
    ]);
    const rules = [
      rule(`${id}-consent`, `${id}-s-consent`),
      rule(`${id}-cool`, `${id}-s-cool`, { campaignId: `${id}-cool` }),
      rule(`${id}-cap`, `${id}-s-cap`, { campaignId: `${id}-cap` }),
      rule(`${id}-quiet-drop`, `${id}-s-quiet`, { campaignId: `${id}-quiet`, priority: 20, quietHours: 'drop' }),
      rule(`${id}-quiet-defer`, `${id}-s-quiet`, { campaignId: `${id}-quiet` }),
      rule(`${id}-budget`, `${id}-s-budget`, { campaignId: `${id}-budget` }),
      rule(`${id}-capacity`, `${id}-s-capacity`, { campaignId: `${id}-capacity` }),
      rule(`${id}-hold`, `${id}-s-hold`, { campaignId: heldCampaign, holdout: 0.5 }),
    ];
    for (const r of rules) {
      await putRule(r);
      cleanup.push({ table: 'rules', pk: `RULE#${r.ruleId}`, sk: 'CURRENT' });
    }
    await refresh();

    // Second contacts run after the first is committed: cooldown, cap, budget and capacity need one.
    const twice = async (c: { card: string; customerId: string }, store: string) => {
      await decisionFor(c.customerId, await sale(c.card, store));
      return decisionFor(c.customerId, await sale(c.card, store));
    };
    const [consent, cool, cap, quietD, budget, capacity, hold] = await Promise.all([
      sale(consentless.card, `${id}-s-consent`).then((e) => decisionFor(consentless.customerId, e)),
      twice(cooled, `${id}-s-cool`),
      twice(capped, `${id}-s-cap`),
      sale(quiet.card, `${id}-s-quiet`).then((e) => decisionFor(quiet.customerId, e)),
      twice(budgeted, `${id}-s-budget`),
      twice(capacitied, `${id}-s-capacity`),
      sale(held.card, `${id}-s-hold`).then((e) => decisionFor(held.customerId, e)),
    ]);
    expect(outcomes(consent)).toEqual({ [`${id}-consent`]: 'no-consent' });
    expect(outcomes(cool)).toEqual({ [`${id}-cool`]: 'cooldown' });
    expect(outcomes(cap)).toEqual({ [`${id}-cap`]: 'cap' });
    expect(outcomes(quietD)).toEqual({ [`${id}-quiet-drop`]: 'quiet-hours', [`${id}-quiet-defer`]: 'deferred' });
    expect(outcomes(budget)).toEqual({ [`${id}-budget`]: 'budget' });
    expect(outcomes(capacity)).toEqual({ [`${id}-capacity`]: 'capacity' });
    expect(outcomes(hold)).toEqual({ [`${id}-hold`]: 'holdout' });
    // Suppressed candidates queue nothing; the deferred one carries the end of the quiet hours.
    expect([consent, cool, cap, budget, capacity, hold].map((d) => d.messages.length)).toEqual([0, 0, 0, 0, 0, 0]);
    const notBefore = String(quietD.messages[0]?.notBefore);
    expect(notBefore).toBe(quietD.candidates.find((c) => c.outcome === 'deferred')?.notBefore);
    expect(Date.parse(notBefore) - now.getTime()).toBeGreaterThan(0);
    expect(Date.parse(notBefore) - now.getTime()).toBeLessThanOrEqual(3_600_000);
    const counter = await client.send(new GetCommand({ TableName: tables().counters, Key: { pk: `BUDGET#${id}-budget`, sk: 'TOTAL' }, ConsistentRead: true }));
    expect(counter.Item?.used).toBe(1);
  }, 300_000);
});
