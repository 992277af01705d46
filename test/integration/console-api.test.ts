// The console API's authorisation, through the Lambda handler API Gateway calls (functions/
// console-api.ts) on the real DynamoDB Local: who calls comes from the Cognito claims only, every
// call is checked on the server, and a marketer's change goes live only when another approver accepts it.
import { beforeAll, describe, expect, it } from 'vitest';
import { consoleApiHandler, type ConsoleEvent } from '../../functions/console-api.ts';
import { consoleDeps } from '../../lib/wiring/console.ts';
import { DynamoRuleRepository } from '../../lib/adapters/dynamo/rules.ts';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { DEMO_RULES, DEMO_TEMPLATES } from '../../local/demo.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { busClient, db, endpoints, tables, unique } from '../support/local.ts';

const TENANT = 'acme';
type Who = 'viewer' | 'marketer' | 'approver' | 'admin';
const claims = (user: string, group: Who, tenant = TENANT) => ({ 'cognito:username': user, 'cognito:groups': group, 'custom:tenant': tenant });

const handler = consoleApiHandler(() =>
  consoleDeps(
    { tables: tables(), aws: { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoints: { dynamodb: endpoints().dynamodb } } },
    { tenant: TENANT, fourEyes: true },
    {},
    { dynamodb: () => db(), bus: () => busClient() },
  ),
  { logLevel: 'WARN' },
);

async function call(method: string, path: string, opts: { body?: unknown; claims?: Record<string, unknown> | null; query?: Record<string, string> } = {}) {
  const event: ConsoleEvent = {
    httpMethod: method,
    path: `/console/api${path}`,
    headers: opts.body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: opts.body === undefined ? null : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body),
    queryStringParameters: opts.query ?? null,
    requestContext: opts.claims === null ? {} : { authorizer: { claims: opts.claims ?? claims('vera', 'viewer') } },
  };
  const res = await (handler as unknown as (e: ConsoleEvent, c: unknown) => Promise<{ statusCode: number; body: string }>)(event, { getRemainingTimeInMillis: () => 30_000, functionName: 'console-api' });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

const as = (user: string, group: Who) => ({ claims: claims(user, group) });

beforeAll(async () => {
  const store = new DynamoTemplateStore(db(), tables().templates);
  for (const t of DEMO_TEMPLATES) await store.put(t);
});

describe('console API authorisation', () => {
  it('answers 401 without claims, and 403 for a caller in none of the groups', async () => {
    expect((await call('GET', '/rules', { claims: null })).status).toBe(401);
    const outsider = await call('GET', '/rules', { claims: { 'cognito:username': 'olga', 'custom:tenant': TENANT } });
    expect(outsider.status).toBe(403);
  });

  it('lets a viewer read rules but not change one', async () => {
    const listed = await call('GET', '/rules', as('vera', 'viewer'));
    expect(listed.status).toBe(200);
    const rule = { ...DEMO_RULES[1]!, ruleId: unique('viewer-try') };
    const put = await call('POST', '/rules', { body: { rule }, ...as('vera', 'viewer') });
    expect(put.status).toBe(403);
    expect(put.body.reason).toMatch(/marketer/);
    expect((await call('POST', `/rules/${DEMO_RULES[1]!.ruleId}/disable`, as('vera', 'viewer'))).status).toBe(403);
    expect((await call('POST', '/changes/whatever/approve', as('vera', 'viewer'))).status).toBe(403);
  });

  it('keeps a marketer\'s change pending until another approver accepts it, and audits each step', async () => {
    const ruleId = unique('four-eyes');
    // Live once approved: it listens to a store of its own, so it competes with no other test's rule.
    const rule = { ...DEMO_RULES[1]!, ruleId, when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [unique('store')] } } };
    const submitted = await call('POST', '/rules', { body: { rule }, ...as('mark', 'marketer') });
    expect(submitted.status).toBe(202);
    const changeId = submitted.body.change.changeId as string;
    const rules = new DynamoRuleRepository(db(), tables().rules);
    expect(await rules.current(ruleId)).toBeUndefined(); // not live yet

    // The marketer may not approve; nor may an approver approve their own change.
    expect((await call('POST', `/changes/${changeId}/approve`, as('mark', 'marketer'))).status).toBe(403);
    const own = await call('POST', '/rules', { body: { rule: { ...rule, ruleId: `${ruleId}-own` } }, ...as('anna', 'approver') });
    const ownApproval = await call('POST', `/changes/${own.body.change.changeId}/approve`, as('anna', 'approver'));
    expect(ownApproval.status).toBe(403);
    expect(ownApproval.body.code).toBe('four-eyes');
    expect(await rules.current(`${ruleId}-own`)).toBeUndefined();

    const approved = await call('POST', `/changes/${changeId}/approve`, as('anna', 'approver'));
    expect(approved.status).toBe(200);
    const live = await rules.current(ruleId);
    expect(live?.version).toBe(1);
    expect(live?.updatedBy).toBe('mark (approved by anna)');
    // Once decided, it stays decided.
    expect((await call('POST', `/changes/${changeId}/approve`, as('adam', 'admin'))).status).toBe(409);

    const audit = await call('GET', '/audit', as('vera', 'viewer'));
    const steps = (audit.body.entries as { changeId: string; what: string; who: string }[]).filter((e) => e.changeId === changeId).map((e) => `${e.what}:${e.who}`);
    expect(steps.sort()).toEqual(['applied:anna', 'approved:anna', 'submitted:mark']);

    // Disable and rollback are changes too, and the rule's page shows versions and changes.
    const disable = await call('POST', `/rules/${ruleId}/disable`, as('mark', 'marketer'));
    expect(disable.status).toBe(202);
    expect((await call('POST', `/changes/${disable.body.change.changeId}/approve`, as('anna', 'approver'))).status).toBe(200);
    expect((await rules.current(ruleId))?.content.enabled).toBe(false);
    const page = await call('GET', `/rules/${ruleId}`, as('vera', 'viewer'));
    expect(page.body.versions.map((v: { version: number }) => v.version)).toEqual([2, 1]);
    expect(page.body.versions[0].fields).toEqual([{ path: 'enabled', before: true, after: false }]);
  });

  it('answers 404, not 403, for a forged id and for another tenant\'s caller', async () => {
    expect((await call('GET', '/rules/no-such-rule', as('vera', 'viewer'))).status).toBe(404);
    expect((await call('POST', '/changes/forged-change-id/approve', as('anna', 'approver'))).status).toBe(404);
    expect((await call('GET', '/customers/cus-00000000-forged', as('vera', 'viewer'))).status).toBe(404);
    // A rule of this test's own, disabled: an enabled demo rule in the shared stack would compete
    // with every other test's rules on the same events.
    const existing = unique('tenant-rule');
    await new DynamoRuleRepository(db(), tables().rules).put({ ...DEMO_RULES[1]!, ruleId: existing, enabled: false } as never, 'test', { ifAbsent: true });
    expect((await call('GET', `/rules/${existing}`, as('vera', 'viewer'))).status).toBe(200);
    const otherTenant = await call('GET', `/rules/${existing}`, { claims: claims('eve', 'admin', 'globex') });
    expect(otherTenant.status).toBe(404);
    expect(JSON.stringify(otherTenant.body)).not.toContain(existing);
    expect((await call('GET', '/rules', { claims: claims('eve', 'admin', 'globex') })).status).toBe(404);
  });

  it('refuses invalid input with 400 naming the field, with the checks of baton rules validate', async () => {
    const bad = { ...DEMO_RULES[1]!, ruleId: unique('bad'), then: { channel: 'fax', template: 'x' } };
    const put = await call('POST', '/rules', { body: { rule: bad }, ...as('mark', 'marketer') });
    expect(put.status).toBe(400);
    expect(put.body.reason).toMatch(/then\.channel/);
    const noTemplate = await call('POST', '/rules', { body: { rule: { ...DEMO_RULES[1]!, ruleId: unique('bad'), then: { channel: 'email', template: 'no-such-template' } } }, ...as('mark', 'marketer') });
    expect(noTemplate.status).toBe(400);
    expect(noTemplate.body.reason).toMatch(/then\.template: no template "no-such-template"/);
    const validate = await call('POST', '/rules/validate', { body: { rule: { ...bad, when: { source: 'baton.pos' } } }, ...as('mark', 'marketer') });
    expect(validate.status).toBe(200);
    expect(validate.body.valid).toBe(false);
    expect(validate.body.problems.join(' ')).toMatch(/when/);
    const notJson = await call('POST', '/rules/validate', { body: '{not json', ...as('mark', 'marketer') });
    expect(notJson.status).toBe(400);
    expect(notJson.body.reason).toMatch(/body/);
    const extra = await call('POST', '/rules', { body: { rule: DEMO_RULES[1], by: 'someone-else' }, ...as('mark', 'marketer') });
    expect(extra.status).toBe(400);
    expect(extra.body.reason).toMatch(/\(body\)|by/);
    const test = await call('POST', '/rules/test', { body: { rule: DEMO_RULES[1], sample: 'baton.pos/SaleCompleted', event: {} }, ...as('mark', 'marketer') });
    expect(test.status).toBe(400);
    expect(test.body.reason).toMatch(/^sample: give exactly one/);
    expect((await call('GET', '/customers', as('vera', 'viewer'))).body.reason).toMatch(/^q:/);
  });

  it('tests a rule against a sample event without writing anything', async () => {
    const rule = { ...DEMO_RULES[1]!, ruleId: unique('dry') };
    const res = await call('POST', '/rules/test', { body: { rule, sample: 'baton.pos/SaleCompleted' }, ...as('mark', 'marketer') });
    expect(res.status).toBe(200);
    expect(res.body.eventType).toBe('baton.pos/SaleCompleted');
    expect(res.body.matched).toBe(true);
    expect(await new DynamoRuleRepository(db(), tables().rules).current(rule.ruleId)).toBeUndefined();
  });
});
