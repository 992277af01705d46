// `baton journeys` against the test stack's tables: put refuses an invalid journey naming the step and
// the field, and writes a valid one; list, show, pause; `customer show` lists the customer's journeys.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { db, endpoints, tables, unique } from '../support/local.ts';
import { batonWith, stackEnv } from '../support/cli.ts';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { DynamoJourneyInstances } from '../../lib/adapters/dynamo/journeys.ts';
import { journeyStack } from '../support/journeys.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-journeys-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const local = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');
const file = (value: unknown) => {
  const path = join(work, `${unique('j')}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
};

describe('baton journeys', () => {
  it('refuses an invalid journey naming step and field, puts a valid one, lists, shows and pauses it', async () => {
    const journeyId = unique('cli-journey');
    const template = unique('tpl');
    await new DynamoTemplateStore(db(), tables().templates).put({ templateId: template, channel: 'email', locale: 'en', subject: 'Hi', text: 'Renew now' });
    const journey = {
      journeyId,
      campaignId: 'cli-journeys',
      entry: { event: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'] } },
      steps: [
        { id: 'mail', type: 'send', channel: 'email', template },
        { id: 'week', type: 'wait', duration: { days: 7 } },
        { id: 'nudge', type: 'send', channel: 'email', template: 'no-such-template' },
      ],
    };
    const refused = await local('journeys', 'put', file(journey));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain('step "nudge" (steps[2]) field template: no email template "no-such-template"');
    expect(refused.stdout).toContain('nothing written');

    const shape = await local('journeys', 'validate', '--offline', file({ ...journey, steps: [{ id: 'mail', type: 'send', channel: 'email' }] }));
    expect([shape.code, shape.stdout]).toEqual([1, expect.stringContaining('step "mail" (steps[0]) field template: ')]);

    const good = { ...journey, steps: journey.steps.map((s) => (s.id === 'nudge' ? { ...s, template } : s)) };
    const put = await local('journeys', 'put', file(good), '--json');
    expect([put.code, JSON.parse(put.stdout)]).toEqual([0, { written: [{ journeyId, version: 1 }], invalid: [] }]);
    expect((await local('journeys', 'list')).stdout).toMatch(new RegExp(`${journeyId} +v1 +active`));
    expect((await local('journeys', 'pause', journeyId)).code).toBe(0);
    const shown = await local('journeys', 'show', journeyId, '--json');
    expect(JSON.parse(shown.stdout)).toMatchObject({ journeyId, version: 2, journey: { status: 'paused' } });
  }, 180_000);

  it('customer show lists the journeys the customer is in and what they wait for', async () => {
    const stack = journeyStack({
      dynamo: { db: db(), tables: tables() },
      journeys: [
        (await import('../support/journeys.ts')).journeyFrom({
          journeyId: 'cli-show',
          campaignId: 'cli-journeys',
          entry: { event: { source: ['baton.crm'], 'detail-type': ['CustomerUpserted'] } },
          steps: [{ id: 'week', type: 'wait', duration: { days: 7 } }],
        }),
      ],
    });
    const crmId = unique('crm-show');
    const out = await stack.event('baton.crm', 'CustomerUpserted', { ids: { crmId }, profile: { tier: 'gold' } });
    if (out.status !== 'applied') throw new Error(out.status);
    expect(await new DynamoJourneyInstances(db(), tables().customers).load(out.customerId)).toHaveLength(1);
    const shown = await local('customer', 'show', crmId);
    expect(shown.stdout).toMatch(/journeys:\n  cli-show v1: in week, waiting until 2026-03-09T08:00:00.000Z/);
  }, 120_000);
});
