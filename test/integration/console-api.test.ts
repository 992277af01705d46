// The console API's authorisation, through the Lambda handler API Gateway calls (functions/
// console-api.ts) on the real DynamoDB Local: who calls comes from the Cognito claims only, every
// call is checked on the server, and a marketer's change goes live only when another approver accepts it.
import { beforeAll, describe, expect, it } from 'vitest';
import { consoleApiHandler, type ConsoleEvent } from '../../functions/console-api.ts';
import { consoleDeps } from '../../lib/wiring/console.ts';
import { DynamoRuleRepository } from '../../lib/adapters/dynamo/rules.ts';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { DynamoJourneyRepository } from '../../lib/adapters/dynamo/journeys.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { checkJourney } from '../../lib/core/journeys/check.ts';
import { reportCsv } from '../../lib/core/reports/csv.ts';
import { reportsFor } from '../../lib/wiring/reports.ts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DEMO_RULES, DEMO_TEMPLATES } from '../../local/demo.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { busClient, db, endpoints, eventually, profileByExternalId, tables, unique } from '../support/local.ts';

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

/** A journey of this test's own, paused, entered only by an event no other test sends. */
async function pausedJourney(): Promise<string> {
  const journeyId = unique('console-journey');
  const check = checkJourney({
    journeyId,
    campaignId: 'renewals',
    status: 'paused',
    entry: { event: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'], detail: { licenseId: [unique('LIC')] } } },
    goal: { event: { source: ['baton.erp'], 'detail-type': ['LicenseRenewed'] } },
    steps: [
      { id: 'email', type: 'send', channel: 'email', template: 'renewal-reminder' },
      { id: 'wait-a-week', type: 'wait', duration: { days: 7 } },
      { id: 'done', type: 'exit' },
    ],
  });
  if (!check.ok) throw new Error(check.reason);
  await new DynamoJourneyRepository(db(), tables().campaigns).put(check.journey, 'test');
  return journeyId;
}

const auditOf = async (subject: string) =>
  ((await call('GET', '/audit', as('vera', 'viewer'))).body.entries as { subject?: string; what: string; who: string }[]).filter((e) => e.subject === subject).map((e) => `${e.what}:${e.who}`);

describe('console API: journeys, segments, runs, reports, erasure and replay', () => {
  it('shows a journey\'s step graph and lets a marketer, not a viewer, pause and resume it (audited)', async () => {
    const journeyId = await pausedJourney();
    const page = await call('GET', `/journeys/${journeyId}`, as('vera', 'viewer'));
    expect(page.status).toBe(200);
    expect(page.body.status).toBe('paused');
    expect(page.body.steps.map((s: { id: string; next: string[]; customers: number }) => [s.id, s.next, s.customers])).toEqual([
      ['email', ['wait-a-week'], 0],
      ['wait-a-week', ['done'], 0],
      ['done', [], 0],
    ]);
    expect(page.body.outcomes).toMatchObject({ converted: 0, exited: 0 });
    expect((await call('GET', '/journeys', as('vera', 'viewer'))).body.journeys.map((j: { journeyId: string }) => j.journeyId)).toContain(journeyId);

    const viewer = await call('POST', `/journeys/${journeyId}/resume`, as('vera', 'viewer'));
    expect(viewer.status).toBe(403);
    expect(viewer.body.reason).toMatch(/marketer/);
    const resumed = await call('POST', `/journeys/${journeyId}/resume`, as('mark', 'marketer'));
    expect(resumed).toMatchObject({ status: 200, body: { status: 'active', version: 2 } });
    const paused = await call('POST', `/journeys/${journeyId}/pause`, as('mark', 'marketer'));
    expect(paused).toMatchObject({ status: 200, body: { status: 'paused', version: 3 } });
    const live = await new DynamoJourneyRepository(db(), tables().campaigns).current(journeyId);
    expect(live).toMatchObject({ version: 3, updatedBy: 'mark', content: { status: 'paused' } });
    expect(await auditOf(`journey ${journeyId}`)).toEqual(expect.arrayContaining(['resumed:mark', 'paused:mark']));

    expect((await call('GET', '/journeys/no-such-journey', as('vera', 'viewer'))).status).toBe(404);
    expect((await call('POST', '/journeys/no-such-journey/pause', as('mark', 'marketer'))).status).toBe(404);
    const otherTenant = await call('POST', `/journeys/${journeyId}/resume`, { claims: claims('eve', 'admin', 'globex') });
    expect(otherTenant.status).toBe(404);
    expect((await new DynamoJourneyRepository(db(), tables().campaigns).current(journeyId))?.version).toBe(3);
  });

  it('lists segments and runs, and answers 404 for a forged segment or run', async () => {
    const segments = await call('GET', '/segments', as('vera', 'viewer'));
    expect(segments.status).toBe(200);
    expect(Array.isArray(segments.body.segments)).toBe(true);
    expect((await call('GET', '/runs', as('vera', 'viewer'))).status).toBe(200);
    expect((await call('GET', '/segments/no-such-segment', as('vera', 'viewer'))).status).toBe(404);
    expect((await call('GET', '/runs/no-such-run', as('vera', 'viewer'))).status).toBe(404);
    expect((await call('GET', '/segments', { claims: claims('eve', 'admin', 'globex') })).status).toBe(404);
  });

  it('serves each report with the CLI\'s CSV, and names the field a bad query gets wrong', async () => {
    const csv = await call('GET', '/reports/channel', { ...as('vera', 'viewer'), query: { format: 'csv', from: '2026-01-01', to: '2026-12-31' } });
    expect(csv.status).toBe(200);
    const same = reportCsv(await reportsFor(db(), tables()).all('channel', { from: '2026-01-01', to: '2026-12-31', by: 'day' }));
    expect(csv.body.csv).toBe(`${same.join('\n')}\n`);
    expect(csv.body.filename).toMatch(/^baton-report-channel-2026-01-01-2026-12-31\.csv$/);
    for (const name of ['channel', 'offer', 'segment']) expect((await call('GET', `/reports/${name}`, as('vera', 'viewer'))).status).toBe(200);
    expect((await call('GET', '/reports/campaign', { ...as('vera', 'viewer'), query: { id: 'loyalty-2026' } })).status).toBe(200);
    expect((await call('GET', '/reports/campaign', as('vera', 'viewer'))).body.reason).toMatch(/^id:/);
    expect((await call('GET', '/reports/channel', { ...as('vera', 'viewer'), query: { by: 'month' } })).body.reason).toMatch(/^by:/);
    expect((await call('GET', '/reports/channel', { ...as('vera', 'viewer'), query: { from: '2026-13' } })).body.reason).toMatch(/^from:/);
  });

  it('lets only an admin erase a customer, after confirming their id: a CustomerErased on the bus, audited', async () => {
    const crmId = unique('CRM-erase');
    await busClient().send(
      new PutEventsCommand({
        Entries: [{ Source: 'baton.crm', DetailType: 'CustomerUpserted', EventBusName: 'baton', Detail: JSON.stringify({ ids: { crmId }, occurredAt: new Date().toISOString(), profile: { firstName: 'Erin' } }) }],
      }),
    );
    const profile = await eventually('the customer to erase', () => profileByExternalId('crmId', crmId));
    const customerId = String(profile.customerId);
    const confirm = { confirm: customerId };
    for (const [user, group] of [['vera', 'viewer'], ['mark', 'marketer'], ['anna', 'approver']] as const) {
      const refused = await call('POST', `/customers/${customerId}/erase`, { body: confirm, ...as(user, group) });
      expect(refused.status).toBe(403);
      expect(refused.body.reason).toMatch(/admin/);
    }
    expect((await call('POST', `/customers/${customerId}/erase`, { body: confirm, claims: claims('eve', 'admin', 'globex') })).status).toBe(404);
    expect((await call('POST', '/customers/cus-00000000-forged/erase', { body: { confirm: 'cus-00000000-forged' }, ...as('adam', 'admin') })).status).toBe(404);
    const unconfirmed = await call('POST', `/customers/${customerId}/erase`, { body: { confirm: 'cus-someone-else' }, ...as('adam', 'admin') });
    expect(unconfirmed.status).toBe(400);
    expect(unconfirmed.body.reason).toMatch(/^confirm:/);
    expect(JSON.stringify(unconfirmed.body)).not.toContain(customerId);
    expect(await profileByExternalId('crmId', crmId)).toBeDefined();

    const erased = await call('POST', `/customers/${customerId}/erase`, { body: confirm, ...as('adam', 'admin') });
    expect(erased.status).toBe(202);
    expect(erased.body.requestId).toMatch(/^console-/);
    await eventually('the customer erased by the pipeline', async () => ((await profileByExternalId('crmId', crmId)) ? undefined : true));
    expect(await auditOf(`customer ${customerId}`)).toEqual(['erasure-requested:adam']);
  });

  it('lets only an admin replay a quarantined event, through the CLI\'s replay: one that passes is processed and removed', async () => {
    const quarantine = new DynamoQuarantine(db(), tables().quarantine);
    const crmId = unique('CRM-replay');
    const fixed = { quarantineId: unique('q-fixed'), receivedAt: new Date().toISOString(), code: 'unknown-detail-type' as const, reason: 'was not in the catalog then' };
    await quarantine.put({
      ...fixed,
      body: JSON.stringify({ version: '0', id: unique('evt'), source: 'baton.crm', 'detail-type': 'CustomerUpserted', time: new Date().toISOString(), account: '0', region: 'local', resources: [], detail: { ids: { crmId }, occurredAt: new Date().toISOString(), profile: { firstName: 'Rita' } } }),
    });
    const broken = { quarantineId: unique('q-broken'), receivedAt: new Date().toISOString(), code: 'invalid-json' as const, reason: 'not JSON', body: '{not json' };
    await quarantine.put(broken as never);

    for (const [user, group] of [['vera', 'viewer'], ['mark', 'marketer'], ['anna', 'approver']] as const) {
      expect((await call('POST', `/quarantine/${fixed.quarantineId}/replay`, as(user, group))).status).toBe(403);
    }
    expect((await call('POST', '/quarantine/q-forged/replay', as('adam', 'admin'))).status).toBe(404);
    expect((await call('POST', `/quarantine/${fixed.quarantineId}/replay`, { claims: claims('eve', 'admin', 'globex') })).status).toBe(404);

    const replayed = await call('POST', `/quarantine/${fixed.quarantineId}/replay`, as('adam', 'admin'));
    expect(replayed).toMatchObject({ status: 200, body: { outcome: 'processed' } });
    expect(await profileByExternalId('crmId', crmId)).toBeDefined();
    const still = await call('POST', `/quarantine/${broken.quarantineId}/replay`, as('adam', 'admin'));
    expect(still).toMatchObject({ status: 200, body: { outcome: 'still-invalid' } });
    const left = (await quarantine.list(1)).map((e) => e.quarantineId);
    expect(left).toContain(broken.quarantineId);
    expect(left).not.toContain(fixed.quarantineId);
    expect(await auditOf(`quarantined event ${fixed.quarantineId}`)).toEqual(['replayed:adam']);

    // Where the function is not granted ingest's writes (the cloud), replay is off: nothing is replayed.
    const noReplay = consoleApiHandler(
      () => consoleDeps({ tables: tables(), aws: { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoints: {} } }, { tenant: TENANT, fourEyes: true, replay: false }, {}, { dynamodb: () => db(), bus: () => busClient() }),
      { logLevel: 'WARN' },
    ) as unknown as (e: ConsoleEvent, c: unknown) => Promise<{ statusCode: number }>;
    const off = await noReplay(
      { httpMethod: 'POST', path: `/console/api/quarantine/${broken.quarantineId}/replay`, headers: {}, body: null, queryStringParameters: null, requestContext: { authorizer: { claims: claims('adam', 'admin') } } },
      { getRemainingTimeInMillis: () => 30_000, functionName: 'console-api' },
    );
    expect(off.statusCode).toBe(404);
    await quarantine.withdraw(broken as never);
  });
});
