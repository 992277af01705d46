// `baton rules` and `baton explain` against the local stack, with the demo's rules and events
// shaped like the demo's (a consenting customer, sales above and below the demo's threshold).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { stringify as toYaml } from 'yaml';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { runRules } from '../../cli/commands/rules.ts';
import { explain } from '../../cli/commands/explain.ts';
import { DEMO_RULES, DEMO_TEMPLATES } from '../../local/demo.ts';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { busClient, db, decisionsOf, eventually, profileByExternalId, rulesRefreshed, tables, unique } from '../support/local.ts';

const dir = mkdtempSync(join(tmpdir(), 'baton-cli-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
// `rules put` checks that a rule's template exists: the demo's templates, as `npm start` stores them.
beforeAll(async () => {
  const store = new DynamoTemplateStore(db(), tables().templates);
  for (const t of DEMO_TEMPLATES) await store.put(t);
});
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const context = () => {
  const lines: string[] = [];
  return { lines, ctx: { db: db(), names: tables(), out: (l: string) => lines.push(l) } };
};
const send = async (source: string, detailType: string, detail: unknown) =>
  (await busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }))).Entries?.[0]?.EventId;

async function demoCustomer(): Promise<{ card: string; customerId: string }> {
  const crmId = unique('CRM-cli');
  const card = unique('LC-cli');
  const at = new Date(Date.now() - 60_000).toISOString();
  await send('baton.crm', 'CustomerUpserted', { ids: { crmId, loyaltyCard: card }, occurredAt: at, profile: { firstName: 'Maria', locale: 'en', timeZone: 'UTC', tier: 'gold' } });
  await send('baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' });
  const p = await eventually('the demo customer', async () => {
    const found = await profileByExternalId('loyaltyCard', card);
    return found && JSON.stringify(found.state).includes('web-form') ? found : undefined;
  });
  return { card, customerId: String(p.customerId) };
}

const saleEvent = (card: string, total: number) => ({
  version: '0',
  id: unique('ev'),
  source: 'baton.pos',
  'detail-type': 'SaleCompleted',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'eu-west-1',
  resources: [],
  detail: {
    ids: { loyaltyCard: card },
    occurredAt: new Date().toISOString(),
    saleId: unique('S'),
    storeId: 'berlin-mitte-0042',
    items: [{ sku: 'TS-5-1Y', category: 'security-software', quantity: 1, unitPrice: total }],
    total,
    currency: 'EUR',
  },
});

describe('baton rules', () => {
  it('validates, puts with versions, diffs, rolls back and disables a YAML rule', async () => {
    const ruleId = unique('cli-renewal');
    const demo = { ...DEMO_RULES[0]!, ruleId };
    const v1 = file('v1.yaml', toYaml(demo));
    const v2 = file('v2.json', JSON.stringify({ ...demo, priority: 70 }));
    const bad = file('bad.yaml', toYaml({ ...demo, then: { channel: 'fax', template: 'x' } }));
    const { lines, ctx } = context();

    expect(await runRules(['validate', v1], {}, ctx)).toBe(0);
    expect(await runRules(['validate', bad], {}, ctx)).toBe(1);
    expect(lines.find((l) => l.startsWith('✗'))).toMatch(/then\.channel/);
    expect(await runRules(['put', bad], {}, ctx)).toBe(1);
    expect(await runRules(['put', v1], { by: 'test' }, ctx)).toBe(0);
    expect(await runRules(['put', v2], { by: 'test' }, ctx)).toBe(0);
    expect(lines).toContain(`put ${ruleId} version 2`);

    lines.length = 0;
    expect(await runRules(['diff', v1], {}, ctx)).toBe(0);
    expect(lines).toContain(`${ruleId}: changes against version 2:\n  priority: 70 → 50`);

    expect(await runRules(['rollback', ruleId], { by: 'test' }, ctx)).toBe(0);
    expect(await runRules(['disable', ruleId], { by: 'test' }, ctx)).toBe(0);
    lines.length = 0;
    expect(await runRules(['list'], { json: true }, ctx)).toBe(0);
    const listed = (JSON.parse(lines[0]!) as { ruleId: string; priority: number; enabled: boolean; version: number }[]).find((r) => r.ruleId === ruleId);
    // Version 3 restored version 1's priority; version 4 disabled it.
    expect(listed).toMatchObject({ priority: 50, enabled: false, version: 4 });
  });

  it('dry-runs a demo rule over events and the customers in the table, sending nothing', async () => {
    const { card, customerId } = await demoCustomer();
    const rules = file('demo.yaml', toYaml(DEMO_RULES.find((r) => r.ruleId === 'big-basket-thank-you')));
    const events = file('events.json', JSON.stringify([saleEvent(card, 80), saleEvent(card, 20), saleEvent(unique('LC-unknown'), 90)]));
    const { lines, ctx } = context();
    const before = (await decisionsOf(customerId)).length;

    expect(await runRules(['test', rules], { events, json: true }, ctx)).toBe(0);

    const out = JSON.parse(lines[lines.length - 1]!) as { triggered: number; results: { customerId: string | null; known: boolean; candidates: { outcome: string }[] }[] };
    expect(out.triggered).toBe(1);
    expect(out.results.map((r) => [r.customerId === customerId, r.known, r.candidates.map((c) => c.outcome)])).toEqual([
      [true, true, ['chosen']],
      [true, true, []],
      [false, false, ['no-consent']],
    ]);
    expect((await decisionsOf(customerId)).length).toBe(before);
  });
});

describe('baton explain', () => {
  it('prints every candidate with its outcome and reason, and the messages, as text and JSON', async () => {
    const { card, customerId } = await demoCustomer();
    const store = unique('cli-store');
    const ruleFile = file('explain.json', JSON.stringify([
      { ruleId: `${store}-a`, campaignId: 'cli-explain', enabled: true, priority: 20, when: { source: ['baton.pos'], detail: { storeId: [store] } }, then: { channel: 'email', template: 'thank-you-offer', offer: 'ACC10' } },
      { ruleId: `${store}-b`, campaignId: 'cli-explain', enabled: true, priority: 10, when: { source: ['baton.pos'], detail: { storeId: [store] } }, then: { channel: 'email', template: 'thank-you-offer', offer: 'ACC5' } },
    ]));
    const { lines, ctx } = context();
    expect(await runRules(['put', ruleFile], {}, ctx)).toBe(0);
    await rulesRefreshed();
    const eventId = await send('baton.pos', 'SaleCompleted', { ...saleEvent(card, 60).detail, storeId: store });
    const decision = await eventually('the decision', async () => (await decisionsOf(customerId)).find((d) => d.sk === 'DECISION' && d.eventId === eventId));

    lines.length = 0;
    expect(await explain(String(decision.decisionId), {}, ctx)).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(new RegExp(`chosen\\s+${store}-a \\(email`));
    expect(text).toMatch(new RegExp(`lower-priority\\s+${store}-b`));
    expect(text).toContain('template thank-you-offer, offer ACC10');
    expect(text).not.toContain('Maria');

    lines.length = 0;
    expect(await explain(String(decision.decisionId), { json: true }, ctx)).toBe(0);
    const json = JSON.parse(lines.join('\n')) as { candidates: { ruleId: string; outcome: string }[]; messages: { channel: string }[] };
    expect(json.candidates.map((c) => c.outcome)).toEqual(['chosen', 'lower-priority']);
    expect(json.messages.map((m) => m.channel)).toEqual(['email']);

    expect(await explain('dec-does-not-exist', {}, ctx)).toBe(1);
  });
});
