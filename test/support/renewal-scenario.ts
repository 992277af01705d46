// The renewal scenario of issue 14, on either adapter: three customers go through the renewal
// journey (examples/journeys/renewal.yaml) on a fake clock. One renews after the email (exits, no
// device message), one never renews (email, then the device message after 7 days), one has a threat
// during the wait (the priority message at once, then the device message after 7 days).
import { expect } from 'vitest';
import { loadJourneyFile, messagesOf, RENEWAL_FILE, type JourneyStack } from './journeys.ts';

const DAY = 86_400_000;

async function onboard(stack: JourneyStack, tag: string): Promise<string> {
  const crmId = `crm-${tag}`;
  const ids = { crmId };
  const first = await stack.event('baton.crm', 'CustomerUpserted', { ids, profile: { email: `${tag}@example.com`, timeZone: 'Europe/Berlin' } });
  if (first.status !== 'applied') throw new Error(`onboarding: ${first.status}`);
  await stack.event('baton.crm', 'ConsentChanged', { ids, channel: 'email', granted: true, via: 'web-form' });
  await stack.event('baton.crm', 'ConsentChanged', { ids, channel: 'device', granted: true, via: 'web-form' });
  await stack.event('baton.device', 'DeviceRegistered', { ids: { crmId, deviceId: `dev-${tag}` }, deviceId: `dev-${tag}`, platform: 'windows', agentVersion: '5.1.0' });
  await stack.event('baton.device', 'DeviceStatusReported', { ids: { deviceId: `dev-${tag}` }, deviceId: `dev-${tag}`, status: 'protected', agentVersion: '5.1.0' });
  return first.customerId;
}

const licence = (tag: string) => ({ ids: { crmId: `crm-${tag}`, licenseId: `LIC-${tag}` }, licenseId: `LIC-${tag}`, product: 'total-security' });

export const renewal = () => loadJourneyFile(RENEWAL_FILE);

export async function runRenewalScenario(stack: JourneyStack, run: string): Promise<void> {
  const renews = await onboard(stack, `${run}-renews`);
  const never = await onboard(stack, `${run}-never`);
  const threat = await onboard(stack, `${run}-threat`);
  const due = (tag: string) => stack.event('baton.erp', 'LicenseRenewalDue', { ...licence(tag), expiresAt: '2026-04-01T00:00:00Z', daysLeft: 30 });
  for (const tag of ['renews', 'never', 'threat']) expect((await due(`${run}-${tag}`)).status).toBe('applied');

  // Day 2: one renews; the other has a threat on the device.
  await stack.advance(2 * DAY);
  await stack.event('baton.erp', 'LicenseRenewed', { ...licence(`${run}-renews`), expiresAt: '2027-04-01T00:00:00Z', amount: 49.9, currency: 'EUR' });
  await stack.event('baton.device', 'ThreatDetected', {
    ids: { deviceId: `dev-${run}-threat` },
    deviceId: `dev-${run}-threat`,
    threatId: 'THR-1',
    threatName: 'Trojan.Test',
    severity: 'high',
    action: 'quarantined',
  });
  // Not yet: the waits run 7 days from the email.
  expect((await messagesOf(stack, never)).map((m) => m.template)).toEqual(['renewal-reminder']);

  await stack.advance(6 * DAY);

  const renewsMessages = await messagesOf(stack, renews);
  expect(renewsMessages.map((m) => m.template)).toEqual(['renewal-reminder']);
  const renewsAt = await stack.instance(renews, 'renewal');
  expect(renewsAt).toMatchObject({ status: 'converted', endReason: 'goal', lastStepId: 'wait-for-renewal' });

  const neverMessages = await messagesOf(stack, never);
  expect(neverMessages.map((m) => `${m.channel}:${m.template}`)).toEqual(['email:renewal-reminder', 'device:renewal-on-device']);
  expect(Date.parse(neverMessages[1]!.at) - Date.parse(neverMessages[0]!.at)).toBe(7 * DAY);
  expect(await stack.instance(never, 'renewal')).toMatchObject({ status: 'exited', endReason: 'exit-step' });

  const threatMessages = await messagesOf(stack, threat);
  expect(threatMessages.map((m) => `${m.channel}:${m.template}`)).toEqual(['email:renewal-reminder', 'device:threat-alert', 'device:renewal-on-device']);
  const threatInstance = await stack.instance(threat, 'renewal');
  expect(threatInstance?.path.map((p) => p.stepId)).toEqual([
    'email',
    'email',
    'wait-for-renewal',
    'wait-for-renewal.threat',
    'wait-for-renewal',
    'device-active',
    'device-reminder',
    'done',
  ]);
  expect(threatInstance?.sends.map((s) => `${s.stepId}:${s.outcome}`)).toEqual(['email:chosen', 'wait-for-renewal.threat:chosen', 'device-reminder:chosen']);
  // Every armed wait was relayed: nothing of theirs is left in the timer outbox, no schedule behind.
  expect(stack.relayErrors).toEqual([]);
  const ours = await Promise.all([renews, never, threat].map(async (c) => (await stack.instance(c, 'renewal'))!.instanceId));
  expect((await stack.store.pending(10_000)).filter((t) => ours.some((id) => t.name.startsWith(id)))).toEqual([]);
  expect(stack.timers.schedules.size).toBe(0);
}
