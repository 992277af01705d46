// Rules, campaigns and contact policies through the real `baton` against the test stack: items
// written straight into the table (PutItem, as `aws dynamodb put-item` and the console write them)
// managed by the CLI and back again; what a rule names checked at validate and put; campaigns and
// policies with the rules' workflow; and the demo's default contact policy.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { DynamoRuleRepository } from '../../lib/adapters/dynamo/rules.ts';
import { tableNames } from '../../lib/contract/tables.ts';
import { createTables } from '../../local/tables.ts';
import { DEMO_POLICY, seedRulesAndTemplates } from '../../local/demo.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { batonWith, stackEnv } from '../support/cli.ts';
import { db, decisionsOf, endpoints, eventually, profileByExternalId, putTemplate, rulesRefreshed, tables, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-items-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (name: string, value: unknown) => {
  const path = join(work, `${unique(name)}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
};
const cli = (stage: string, ...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', stage);
const local = (...args: string[]) => cli('test', ...args);
const json = <T>(run: { stdout: string }): T => JSON.parse(run.stdout) as T;

/** What `aws dynamodb put-item --table-name … --item file://rule.json` writes: the attributes given, no version. */
async function putItem(table: string, item: Record<string, unknown>): Promise<void> {
  const raw = new DynamoDBClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await raw.send(new PutItemCommand({ TableName: table, Item: marshall(item) }));
  } finally {
    raw.destroy();
  }
}

const busRule = (ruleId: string, priority: number) => ({
  ruleId,
  campaignId: 'cli-console',
  enabled: true,
  priority,
  when: { source: ['baton.pos'], detail: { storeId: [ruleId] } },
  then: { channel: 'bus', action: 'console-route' },
});

describe('a rule written with put-item', () => {
  it('is listed, disabled, rolled back and put by the CLI, and the console can write over the CLI again', async () => {
    const ruleId = unique('console-rule');
    await putItem(tables().rules, { pk: `RULE#${ruleId}`, sk: 'CURRENT', ...busRule(ruleId, 30) });
    const row = (out: string) => out.split('\n').find((l) => l.startsWith(ruleId)) ?? '';

    const listed = await local('rules', 'list');
    expect(row(listed.stdout)).toMatch(/ unversioned +enabled +prio +30 /);
    expect(row(listed.stdout)).not.toContain('v?');

    const disabled = await local('rules', 'disable', ruleId, '--by', 'ana');
    expect([disabled.code, disabled.stderr]).toEqual([0, '']);
    expect(disabled.stdout.trim()).toBe(`disabled ${ruleId} (version 2) (the item written to the table directly is kept as version 1)`);

    const rolledBack = await local('rules', 'rollback', ruleId, '--by', 'ana');
    expect([rolledBack.code, rolledBack.stdout.trim()]).toEqual([0, `rolled back ${ruleId} to the content of version 1 (now version 3)`]);
    const v3 = json<{ ruleId: string; enabled: boolean; priority: number; version: number }[]>(await local('rules', 'list', '--json')).find((r) => r.ruleId === ruleId);
    expect(v3).toMatchObject({ enabled: true, priority: 30, version: 3 });

    const put = await local('rules', 'put', file('rule', busRule(ruleId, 40)), '--by', 'ana');
    expect([put.code, put.stdout.trim()]).toEqual([0, `✓ ${ruleId}\nput ${ruleId} version 4`]);

    // The console again, over the CLI's versions: its item has no version, the CLI keeps it before its own.
    await putItem(tables().rules, { pk: `RULE#${ruleId}`, sk: 'CURRENT', ...busRule(ruleId, 60) });
    const diff = await local('rules', 'diff', file('rule', busRule(ruleId, 45)));
    expect(diff.stdout).toContain(`${ruleId}: changes against the item written to the table directly (no version):\n  priority: 60 → 45`);
    const again = await local('rules', 'put', file('rule', busRule(ruleId, 45)), '--by', 'ana');
    expect([again.code, again.stdout.trim().split('\n').at(-1)]).toEqual([0, `put ${ruleId} version 6 (the item written to the table directly is kept as version 5)`]);
    const back = await local('rules', 'rollback', ruleId);
    expect(back.stdout.trim()).toBe(`rolled back ${ruleId} to the content of version 5 (now version 7)`);

    // Every version is kept, the console's among them.
    const versions = await new DynamoRuleRepository(db(), tables().rules).versions(ruleId);
    expect(versions.map((v) => [v.version, v.content.priority, v.content.enabled])).toEqual([
      [7, 60, true],
      [6, 45, true],
      [5, 60, true],
      [4, 40, true],
      [3, 30, true],
      [2, 30, false],
      [1, 30, true],
    ]);
    expect(versions.find((v) => v.version === 5)).toMatchObject({ updatedBy: '(written to the table directly)', adoptedAt: expect.any(String) });
  }, 240_000);

  it('with nothing earlier to go back to, says so instead of "version undefined"', async () => {
    const ruleId = unique('console-only');
    await putItem(tables().rules, { pk: `RULE#${ruleId}`, sk: 'CURRENT', ...busRule(ruleId, 10) });

    const run = await local('rules', 'rollback', ruleId);

    expect(run.code).toBe(1);
    expect(run.stdout.trim()).toBe(`${ruleId}: nothing to roll back to: it has no stored versions (it was written to the table directly, which keeps none)`);
    expect(run.stdout).not.toContain('undefined');
  }, 300_000);
});

describe('what a rule names', () => {
  it('is checked at validate and put: the template, on the rule channel, in the fallback locale, and the offer it shows', async () => {
    const tpl = unique('tpl');
    await putTemplate({ templateId: `${tpl}-de`, channel: 'email', locale: 'de', subject: 'Hallo', text: 'Ihr Code {{ offer }}' });
    await putTemplate({ templateId: `${tpl}-en`, channel: 'email', locale: 'en', subject: 'Hi', text: 'Your code {{ offer }}' });
    await putTemplate({ templateId: `${tpl}-plain`, channel: 'email', locale: 'en', subject: 'Hi', text: 'Thank you' });
    const rule = (suffix: string, then: Record<string, unknown>) => ({ ...busRule(`${tpl}-${suffix}`, 10), then });
    const rules = file('rules', [
      rule('missing', { channel: 'email', template: `${tpl}-nope`, offer: 'X1' }),
      rule('channel', { channel: 'sms', template: `${tpl}-en`, offer: 'X1' }),
      rule('locale', { channel: 'email', template: `${tpl}-de`, offer: 'X1' }),
      rule('no-offer', { channel: 'email', template: `${tpl}-en` }),
      rule('good', { channel: 'email', template: `${tpl}-en`, offer: 'X1' }),
      rule('unseen', { channel: 'email', template: `${tpl}-plain`, offer: 'X1' }),
    ]);

    const validate = await local('rules', 'validate', rules);
    const put = await local('rules', 'put', rules);
    const offline = await local('rules', 'validate', rules, '--offline');
    const asJson = await local('rules', 'validate', rules, '--json');

    expect(validate.code).toBe(1);
    const lines = validate.stdout.trim().split('\n');
    expect(lines).toEqual([
      `✗ ${rules}: ${tpl}-missing: then.template: no template "${tpl}-nope" in ${tables().templates}; store it first with baton templates put`,
      `✗ ${rules}: ${tpl}-channel: then.template: "${tpl}-en" has no sms template (it has email/en), and the rule sends on sms`,
      `✗ ${rules}: ${tpl}-locale: then.template: "${tpl}-de" has no email template in the fallback locale en (it has email/de); customers in other locales would get no message`,
      `✗ ${rules}: ${tpl}-no-offer: then.offer: template "${tpl}-en" (email) shows {{ offer }}, so the rule must name an offer`,
      `✓ ${tpl}-good`,
      `✓ ${tpl}-unseen`,
      `⚠ ${rules}: ${tpl}-unseen: then.offer: template "${tpl}-plain" (email) never shows {{ offer }}, so customers will not see the offer`,
      'invalid rules: nothing would be written',
    ]);
    expect(put.code).toBe(1);
    expect(put.stdout).toContain('invalid rules: nothing written');
    const live = json<{ ruleId: string }[]>(await local('rules', 'list', '--json')).map((r) => r.ruleId);
    expect(live.filter((id) => id.startsWith(tpl))).toEqual([]);
    expect([offline.code, offline.stdout.trim().split('\n').at(-1)]).toEqual([0, '6 rules valid (offline: references to other tables not checked)']);
    const verdicts = json<{ valid: boolean; items: { id: string; ok: boolean; problems: string[] }[] }>(asJson);
    expect(verdicts.valid).toBe(false);
    expect(verdicts.items.filter((i) => !i.ok).map((i) => i.problems[0]!.split(':')[0])).toEqual(['then.template', 'then.template', 'then.template', 'then.offer']);
  }, 300_000);
});

describe('baton campaigns and baton policies', () => {
  it('validate, put, list, diff, disable and roll back, and a campaign needs its policy to exist', async () => {
    const policyId = unique('pol');
    const campaignId = unique('camp');
    const policy = (cooldownHours: number) => ({ policyId, caps: { email: { perDay: 1, perWeek: 3 } }, cooldownHours });
    const campaign = { campaignId, priority: 5, policyId };

    const early = await local('campaigns', 'validate', file('campaign', campaign));
    expect(early.code).toBe(1);
    expect(early.stdout).toContain(`✗ `);
    expect(early.stdout).toContain(`${campaignId}: policyId: no contact policy "${policyId}" in ${tables().campaigns}; put it first with baton policies put`);
    const badPolicy = await local('policies', 'validate', file('policy', { ...policy(1), quietHours: { start: '22:00', end: '22:00' } }));
    expect(badPolicy.code).toBe(1);
    expect(badPolicy.stdout).toContain(`${policyId}: quietHours.end: start and end must differ`);

    expect((await local('policies', 'put', file('policy', policy(2)), '--by', 'ops')).stdout).toContain(`put ${policyId} version 1`);
    expect((await local('campaigns', 'put', file('campaign', campaign), '--by', 'ops')).stdout).toContain(`put ${campaignId} version 1`);
    const policies = await local('policies', 'list');
    expect(policies.stdout).toMatch(new RegExp(`^${policyId} +v1 +caps email 1/day 3/week · no quiet hours · cooldown 2 h$`, 'm'));
    const diff = await local('policies', 'diff', file('policy', policy(6)));
    expect(diff.stdout).toContain(`${policyId}: changes against version 1:\n  cooldownHours: 2 → 6`);
    expect((await local('policies', 'put', file('policy', policy(6)))).stdout).toContain(`put ${policyId} version 2`);
    const rolledBack = await local('policies', 'rollback', policyId, '--json');
    expect(json(rolledBack)).toMatchObject({ status: 'rolled-back', id: policyId, restored: 1, version: 3, from: 2 });
    const disabled = await local('campaigns', 'disable', campaignId);
    expect(disabled.stdout.trim()).toBe(`disabled ${campaignId} (version 2)`);

    const listedPolicy = json<{ policyId: string; cooldownHours: number; version: number }[]>(await local('policies', 'list', '--json')).find((p) => p.policyId === policyId);
    expect(listedPolicy).toMatchObject({ cooldownHours: 2, version: 3 });
    const listedCampaign = json<{ campaignId: string; enabled: boolean; version: number }[]>(await local('campaigns', 'list', '--json')).find((c) => c.campaignId === campaignId);
    expect(listedCampaign).toMatchObject({ enabled: false, version: 2, policyId });
    // A policy written with put-item is managed like a rule.
    const console = unique('pol-console');
    await putItem(tables().campaigns, { pk: `POLICY#${console}`, sk: 'CURRENT', policyId: console, cooldownHours: 1 });
    expect((await local('policies', 'put', file('policy', { policyId: console, cooldownHours: 3 }))).stdout).toContain(
      `put ${console} version 2 (the item written to the table directly is kept as version 1)`,
    );
  }, 240_000);

  it("with a policy like the demo's, one rule without a limit no longer mails a customer on every event", async () => {
    const policyId = unique('demo-like');
    const campaignId = unique('camp');
    const store = unique('store');
    const crmId = unique('CRM');
    await putTemplate({ templateId: store, channel: 'email', locale: 'en', subject: 'Thanks', text: 'Thanks, {{ customer.firstName }}: {{ offer }}' });
    const rule = { ...busRule(store, 10), campaignId, then: { channel: 'email', template: store, offer: 'ACC10' } };
    expect((await local('policies', 'put', file('policy', { ...DEMO_POLICY, policyId }))).code).toBe(0);
    expect((await local('campaigns', 'put', file('campaign', { campaignId, policyId }))).code).toBe(0);
    expect((await local('rules', 'put', file('rule', rule))).code).toBe(0);
    const at = new Date().toISOString();
    const setup = file('setup', [
      { source: 'baton.crm', 'detail-type': 'CustomerUpserted', detail: { ids: { crmId }, occurredAt: at, profile: { firstName: 'Ines', email: `${crmId.toLowerCase()}@example.com`, timeZone: 'UTC' } } },
      { source: 'baton.crm', 'detail-type': 'ConsentChanged', detail: { ids: { crmId }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' } },
    ]);
    expect((await batonWith({}, 'send', setup, '--endpoint', endpoints().bus)).code).toBe(0);
    const profile = await eventually('the consenting customer', async () => {
      const p = await profileByExternalId('crmId', crmId);
      return p && JSON.stringify(p.state).includes('web-form') ? p : undefined;
    });
    await rulesRefreshed(); // rules, campaigns and policies reload every 300 ms in tests

    // Five sales in a row, one at a time, each matching the rule.
    for (let i = 0; i < 5; i++) {
      const sale = file('sale', { source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { ids: { crmId }, occurredAt: new Date().toISOString(), saleId: unique('S'), storeId: store, items: [{ sku: 'A', category: 'x', quantity: 1, unitPrice: 60 }], total: 60, currency: 'EUR' } });
      expect((await batonWith({}, 'send', sale, '--endpoint', endpoints().bus)).code).toBe(0);
      await eventually(`decision ${i + 1}`, async () => ((await decisionsOf(String(profile.customerId))).filter((d) => d.sk === 'DECISION').length > i ? true : undefined), 60_000);
    }

    const decisions = (await decisionsOf(String(profile.customerId))).filter((d) => d.sk === 'DECISION');
    const outcomes = decisions.map((d) => (d.candidates as { outcome: string }[])[0]!.outcome).sort();
    expect(outcomes).toEqual(['chosen', 'cooldown', 'cooldown', 'cooldown', 'cooldown']);
  }, 300_000);

  it('the demo seeds a default contact policy with caps, quiet hours and a cooldown', async () => {
    const stage = `demo${unique('x').slice(2)}`;
    const raw = new DynamoDBClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      await createTables(raw, tableNames(stage));
    } finally {
      raw.destroy();
    }
    await seedRulesAndTemplates(db(), tableNames(stage));

    const listed = await cli(stage, 'policies', 'list');
    const policies = json<{ policyId: string; caps: Record<string, { perDay?: number }>; quietHours?: { start: string; end: string }; cooldownHours: number; version: number }[]>(
      await cli(stage, 'policies', 'list', '--json'),
    );

    expect(listed.stdout).toMatch(/^default +v1 +caps email 2\/day 5\/week, sms 1\/day 3\/week, push 2\/day 7\/week, device 3\/day 10\/week · quiet 21:00-08:00 \(sms, push; default zone Europe\/Berlin\) · cooldown 4 h$/m);
    expect(policies).toEqual([expect.objectContaining({ policyId: 'default', version: 1, cooldownHours: 4, quietHours: expect.objectContaining({ start: '21:00', end: '08:00' }) })]);
    expect(policies[0]!.caps.email?.perDay).toBe(2);
    // Seeding again (npm start with --persist) keeps what is there.
    await seedRulesAndTemplates(db(), tableNames(stage));
    expect(json<{ version: number }[]>(await cli(stage, 'rules', 'list', '--json')).map((r) => r.version)).toEqual([1, 1, 1]);
  }, 300_000);
});
