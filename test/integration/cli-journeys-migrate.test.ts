// `baton journeys migrate` and `baton journeys simulate` against the test stack's tables. Migrate
// validates the step mapping (every wait of V lands on a wait of W) and moves the customers on V to
// W, their renamed waits rescheduled through the timer outbox. Simulate is a dry run over the real
// customer's state: the path, each decision and why, and nothing written or sent.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { db, endpoints, tables, unique } from '../support/local.ts';
import { batonWith, stackEnv } from '../support/cli.ts';
import { DynamoJourneyInstances } from '../../lib/adapters/dynamo/journeys.ts';
import { DynamoDecisionHistory } from '../../lib/adapters/dynamo/decisions.ts';
import { customerEvent, journeyFrom, journeyStack, RENEWAL_FILE } from '../support/journeys.ts';
import { timerName } from '../../lib/core/journeys/instance.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-journeys-migrate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const local = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');
const file = (value: unknown, ext = 'json') => {
  const path = join(work, `${unique('f')}.${ext}`);
  writeFileSync(path, JSON.stringify(value));
  return path;
};
const DAY = 86_400_000;

describe('baton journeys migrate', () => {
  it('refuses a mapping that leaves a wait without a wait, then moves the customers on V to W', async () => {
    const journeyId = unique('migrate');
    // An entry only this test's events match: the shared stack loads these journeys too.
    const v1 = {
      journeyId,
      campaignId: 'cli-journeys',
      entry: { event: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'], detail: { product: [journeyId] } } },
      steps: [
        { id: 'week', type: 'wait', duration: { days: 7 } },
        { id: 'mark', type: 'setState', set: { nudged: true } },
      ],
    };
    const v2 = { ...v1, steps: [{ id: 'five-days', type: 'wait', duration: { days: 5 } }, { id: 'mark', type: 'setState', set: { nudged: true } }] };
    expect((await local('journeys', 'put', file(v1))).code).toBe(0);
    expect((await local('journeys', 'put', file(v2))).code).toBe(0);

    // Two customers enter version 1 (the decision step as evaluate runs it, over these tables).
    const stack = journeyStack({ dynamo: { db: db(), tables: tables() }, journeys: [journeyFrom({ ...v1, version: 1 })] });
    const customers: string[] = [];
    for (const n of [1, 2]) {
      const crmId = unique(`crm-migrate-${n}`);
      const out = await stack.event('baton.erp', 'LicenseRenewalDue', { ids: { crmId, licenseId: `LIC-${crmId}` }, licenseId: `LIC-${crmId}`, product: journeyId, expiresAt: '2026-04-01T00:00:00Z', daysLeft: 30 });
      if (out.status !== 'applied') throw new Error(out.status);
      customers.push(out.customerId);
    }
    const store = new DynamoJourneyInstances(db(), tables().customers);
    const before = await Promise.all(customers.map(async (c) => (await store.load(c)).find((i) => i.journeyId === journeyId)!));
    expect(before.map((i) => [i.version, i.stepId])).toEqual([
      [1, 'week'],
      [1, 'week'],
    ]);

    // Unmapped, the wait "week" has nowhere to go in version 2; mapped onto a non-wait it is refused too.
    const unmapped = await local('journeys', 'migrate', journeyId, '--from', '1', '--to', '2');
    expect(unmapped.code).toBe(1);
    expect(unmapped.stdout).toContain('step "week" (a wait customers may be in): version 2 has no step "week"; map it with --map week=<step>');
    expect(unmapped.stdout).toContain('nothing migrated');
    const onNonWait = await local('journeys', 'migrate', journeyId, '--from', '1', '--to', '2', '--map', 'week=mark');
    expect([onNonWait.code, onNonWait.stdout]).toEqual([1, expect.stringContaining('step "week" maps to "mark", a setState step in version 2; expected a wait')]);
    const noSuchStep = await local('journeys', 'migrate', journeyId, '--from', '1', '--to', '2', '--map', 'nope=five-days,week=five-days');
    expect([noSuchStep.code, noSuchStep.stdout]).toEqual([1, expect.stringContaining('--map nope=five-days: version 1 has no step "nope"')]);
    const unchanged = await Promise.all(customers.map(async (c) => (await store.load(c)).find((i) => i.journeyId === journeyId)!));
    expect(unchanged).toEqual(before);

    const migrated = await local('journeys', 'migrate', journeyId, '--from', '1', '--to', '2', '--map', 'week=five-days', '--json');
    expect([migrated.code, JSON.parse(migrated.stdout)]).toEqual([0, { migrated: 2, rescheduled: 2 }]);
    for (const [n, c] of customers.entries()) {
      const after = (await store.load(c)).find((i) => i.journeyId === journeyId)!;
      const was = before[n]!;
      // Same wait time: a migration moves where the customer is, not when their wait ends.
      expect(after).toMatchObject({ version: 2, stepId: 'five-days', dueAt: was.dueAt, seq: was.seq + 1, visit: was.visit + 1, timer: timerName(was.instanceId, 'five-days', was.visit + 1) });
      const outbox = (await store.pending(100_000)).filter((t) => t.name === was.timer || t.name === after.timer);
      expect(outbox.map((t) => `${t.op} ${t.name}`).sort()).toEqual([`create ${after.timer}`, `delete ${was.timer}`].sort());
    }
    // Nobody is left on version 1; a second run has no one to move.
    const again = await local('journeys', 'migrate', journeyId, '--from', '1', '--to', '2', '--map', 'week=five-days', '--json');
    expect(JSON.parse(again.stdout)).toEqual({ migrated: 0, rescheduled: 0 });
    const shown = JSON.parse((await local('journeys', 'show', journeyId, '--json')).stdout);
    expect(shown.customersByStep).toEqual({ 'v2 five-days': 2 });
  }, 300_000);
});

describe('baton journeys simulate', () => {
  it('shows the path and each decision with its reason over the real customer, and writes or sends nothing', async () => {
    // A real customer in the tables: email consent, a protected device, no device consent.
    const stack = journeyStack({ dynamo: { db: db(), tables: tables() }, journeys: [] });
    const crmId = unique('crm-simulate');
    const ids = { crmId };
    const first = await stack.event('baton.crm', 'CustomerUpserted', { ids, profile: { email: `${crmId}@example.com`, timeZone: 'Europe/Berlin' } });
    if (first.status !== 'applied') throw new Error(first.status);
    const customerId = first.customerId;
    await stack.event('baton.crm', 'ConsentChanged', { ids, channel: 'email', granted: true, via: 'web-form' });
    await stack.event('baton.device', 'DeviceRegistered', { ids: { crmId, deviceId: `dev-${crmId}` }, deviceId: `dev-${crmId}`, platform: 'windows', agentVersion: '5.1.0' });
    await stack.event('baton.device', 'DeviceStatusReported', { ids: { deviceId: `dev-${crmId}` }, deviceId: `dev-${crmId}`, status: 'protected', agentVersion: '5.1.0' });

    const t0 = Math.ceil(Date.now() / DAY) * DAY + 8 * 3_600_000;
    const events = [
      customerEvent('baton.erp', 'LicenseRenewalDue', { ids: { crmId, licenseId: `LIC-${crmId}` }, licenseId: `LIC-${crmId}`, product: 'total-security', expiresAt: new Date(t0 + 30 * DAY).toISOString(), daysLeft: 30 }, new Date(t0)),
      customerEvent('baton.device', 'ThreatDetected', { ids: { deviceId: `dev-${crmId}` }, deviceId: `dev-${crmId}`, threatId: 'THR-9', threatName: 'Trojan.Test', severity: 'high', action: 'quarantined' }, new Date(t0 + 2 * DAY)),
    ];
    const eventsFile = join(work, `${unique('events')}.json`);
    writeFileSync(eventsFile, JSON.stringify(events));

    const snapshot = async () => ({
      customer: (await db().send(new QueryCommand({ TableName: tables().customers, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `CUS#${customerId}` }, ConsistentRead: true }))).Items,
      decisions: await new DynamoDecisionHistory(db(), tables().decisions).ofCustomer([customerId], 1000),
      timers: (await new DynamoJourneyInstances(db(), tables().customers).pending(100_000)).filter((t) => t.name.startsWith('renewal.')).length,
      // The decisions table holds the outbox: a message queued is an item with the customer's id.
      outbox: (await db().send(new ScanCommand({ TableName: tables().decisions, ConsistentRead: true }))).Items?.filter((i) => JSON.stringify(i).includes(customerId)).length,
    });
    const before = await snapshot();
    expect(before.decisions.total).toBe(0);

    const out = await local('journeys', 'simulate', RENEWAL_FILE, '--customer', crmId, '--events', eventsFile, '--advance', '10d', '--json');
    expect(out.code, out.stderr).toBe(0);
    const result = JSON.parse(out.stdout);
    expect(result).toMatchObject({ customerId, journeyId: 'renewal', status: 'exited', waitingIn: null, sent: 'nothing (dry run)' });
    expect(result.path.map((p: { stepId: string; what: string }) => `${p.stepId}: ${p.what}`)).toEqual([
      'email: entered',
      'email: send email',
      `wait-for-renewal: waiting until ${new Date(t0 + 7 * DAY).toISOString()}`,
      'wait-for-renewal.threat: meanwhile: send device',
      'wait-for-renewal: timed out',
      'device-active: branch → device-reminder',
      'device-reminder: send device',
      'done: exit',
    ]);
    expect(result.deliveries.map((d: { event: string; outcome: string }) => `${d.event} ${d.outcome}`)).toEqual([
      'baton.erp/LicenseRenewalDue applied',
      'baton.device/ThreatDetected applied',
      'timer wait-for-renewal applied',
    ]);
    // Each decision and why: the email chosen, both device messages refused for want of consent.
    const decided = result.decisions.flatMap((d: { candidates: { ruleId: string; outcome: string; reason: string }[] }) => d.candidates);
    expect(decided.map((c: { ruleId: string; outcome: string }) => `${c.ruleId} ${c.outcome}`)).toEqual([
      'journey:renewal:email chosen',
      'journey:renewal:wait-for-renewal.threat no-consent',
      'journey:renewal:device-reminder no-consent',
    ]);
    for (const c of decided) expect(c.reason).toMatch(/\w/);
    expect(out.stdout).not.toContain(`${crmId}@example.com`);

    // Nothing written: the profile, its journey positions, decisions, outbox and timers as they were.
    expect(await snapshot()).toEqual(before);
  }, 300_000);
});
