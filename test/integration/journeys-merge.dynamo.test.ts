// Journey positions when two profiles merge, on DynamoDB Local: a provisional profile (a device that
// reported before anyone knew whose it was) merges into the CRM customer when the device is
// registered to their licence. The survivor keeps at most one active instance per journey, the one
// entered earlier (lib/core/journeys/merge.ts, docs/journeys.md); the other's timer is cancelled, a
// position taken over gets its wait's schedule anew for the survivor, and that wait then ends on time.
import { describe, expect, it } from 'vitest';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { db, tables, unique } from '../support/local.ts';
import { journeyFrom, journeyStack } from '../support/journeys.ts';
import { instanceKey } from '../../lib/adapters/dynamo/journeys.ts';

const DAY = 86_400_000;

async function scenario(who: 'provisional-first' | 'survivor-first' | 'only-provisional') {
  const threatName = unique('Trojan');
  const journeyId = unique('care').toLowerCase();
  const journey = journeyFrom({
    journeyId,
    campaignId: 'care',
    entry: { event: { source: ['baton.device'], 'detail-type': ['ThreatDetected'], detail: { threatName: [threatName] } } },
    steps: [
      { id: 'week', type: 'wait', duration: { days: 7 } },
      { id: 'mark', type: 'setState', set: { cared: true } },
    ],
  });
  const stack = journeyStack({ dynamo: { db: db(), tables: tables() }, journeys: [journey] });
  const [crmId, licenseId, known, stray] = [unique('CRM'), unique('LIC'), unique('dev'), unique('dev')];
  const threat = (deviceId: string) =>
    stack.event('baton.device', 'ThreatDetected', { ids: { deviceId }, deviceId, threatId: unique('T'), threatName, severity: 'high', action: 'quarantined' });

  // The CRM customer with a licence and a registered device.
  const c = await stack.event('baton.crm', 'CustomerUpserted', { ids: { crmId }, profile: { firstName: 'Imke' } });
  if (c.status !== 'applied') throw new Error(c.status);
  await stack.event('baton.erp', 'LicensePurchased', {
    ids: { crmId, licenseId },
    licenseId,
    product: 'total-security',
    seats: 3,
    startsAt: '2026-01-01T00:00:00Z',
    expiresAt: '2027-12-01T00:00:00Z',
    amount: 59.99,
    currency: 'EUR',
  });
  await stack.event('baton.device', 'DeviceRegistered', { ids: { crmId, deviceId: known }, deviceId: known, platform: 'windows', agentVersion: '24.6.1' });
  // A device nobody knows yet reports: a provisional profile.
  const p = await stack.event('baton.device', 'DeviceStatusReported', { ids: { deviceId: stray }, deviceId: stray, status: 'at-risk', agentVersion: '24.6.1' });
  if (p.status !== 'applied') throw new Error(p.status);
  expect(p.customerId).not.toBe(c.customerId);

  const t0 = stack.clock.ms();
  if (who === 'survivor-first') await threat(known);
  else await threat(stray);
  await stack.advance(DAY);
  if (who === 'provisional-first') await threat(known);
  if (who === 'survivor-first') await threat(stray);
  const [survivorBefore, provisionalBefore] = [await stack.instance(c.customerId, journeyId), await stack.instance(p.customerId, journeyId)];

  // Registration links the stray device to the licence: the two profiles merge into the CRM customer.
  const merge = await stack.event('baton.device', 'DeviceRegistered', { ids: { licenseId, deviceId: stray }, deviceId: stray, platform: 'windows', agentVersion: '24.6.1' });
  expect(merge).toMatchObject({ status: 'applied', customerId: c.customerId });
  return { stack, journeyId, t0, survivor: c.customerId, provisional: p.customerId, survivorBefore, provisionalBefore };
}

describe('journey positions when two profiles merge (DynamoDB Local)', () => {
  for (const who of ['provisional-first', 'only-provisional'] as const) {
    it(`the survivor takes over the earlier position of the merged-away profile (${who})`, async () => {
      const { stack, journeyId, t0, survivor, provisional, survivorBefore, provisionalBefore } = await scenario(who);
      expect(provisionalBefore).toMatchObject({ status: 'active', stepId: 'week', enteredAt: new Date(t0).toISOString() });
      if (who === 'only-provisional') expect(survivorBefore).toBeUndefined();
      else expect(survivorBefore).toMatchObject({ status: 'active', enteredAt: new Date(t0 + DAY).toISOString() });

      // Nothing left under the merged-away profile; the survivor holds the earlier instance.
      const gone = await db().send(new GetCommand({ TableName: tables().customers, Key: instanceKey(provisional, journeyId), ConsistentRead: true }));
      expect(gone.Item).toBeUndefined();
      const kept = await stack.instance(survivor, journeyId);
      expect(kept).toMatchObject({
        instanceId: provisionalBefore!.instanceId,
        customerId: survivor,
        status: 'active',
        stepId: 'week',
        enteredAt: new Date(t0).toISOString(),
        dueAt: new Date(t0 + 7 * DAY).toISOString(),
        visit: provisionalBefore!.visit + 1,
      });
      // The old schedules are gone (the provisional's and the survivor's later one); one new one, for the survivor.
      const schedules = [...stack.timers.schedules.values()].filter((s) => s.event.detail.journeyId === journeyId);
      expect(schedules.map((s) => [s.name, s.event.detail.customerId, s.event.detail.dueAt])).toEqual([[kept!.timer, survivor, new Date(t0 + 7 * DAY).toISOString()]]);
      expect(stack.relayErrors).toEqual([]);

      // Seven days after the earlier entry the survivor's wait ends, once.
      await stack.advance(6 * DAY - 60_000);
      expect((await stack.instance(survivor, journeyId))?.status).toBe('active');
      await stack.advance(60_000);
      expect(await stack.instance(survivor, journeyId)).toMatchObject({ status: 'completed', endReason: 'end', endedAt: new Date(t0 + 7 * DAY).toISOString() });
      expect(stack.metrics.counts.JourneyTimersStale ?? 0).toBe(0);
    }, 120_000);
  }

  it('the survivor keeps its own position when it entered earlier; the merged-away one ends with its timer', async () => {
    const { stack, journeyId, t0, survivor, provisional, survivorBefore, provisionalBefore } = await scenario('survivor-first');
    expect(provisionalBefore).toMatchObject({ status: 'active', enteredAt: new Date(t0 + DAY).toISOString() });
    const kept = await stack.instance(survivor, journeyId);
    expect(kept).toEqual({ ...survivorBefore, ...(kept!.seq !== survivorBefore!.seq ? { seq: kept!.seq, updatedAt: kept!.updatedAt } : {}) });
    expect(await stack.instance(provisional, journeyId)).toBeUndefined();
    const schedules = [...stack.timers.schedules.values()].filter((s) => s.event.detail.journeyId === journeyId);
    expect(schedules.map((s) => s.name)).toEqual([survivorBefore!.timer]);
    await stack.advance(7 * DAY);
    expect(await stack.instance(survivor, journeyId)).toMatchObject({ status: 'completed', endedAt: new Date(t0 + 7 * DAY).toISOString() });
  }, 120_000);
});
