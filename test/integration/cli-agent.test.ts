// The agent's and the tester's commands, spawned against the test stack: every feedback kind
// simulated with one command (e-mail through the local SES, device and SMS through the bus), then
// `customer show` and `explain --customer` telling what became of each message and why consent is off.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { batonWith, stackEnv } from '../support/cli.ts';
import { busClient, decisionsOf, endpoints, eventually, profileByExternalId, putTemplate, rulesRefreshed, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-agent-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const local = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

type Entry = [source: string, detailType: string, detail: unknown];
async function send(...entries: Entry[]): Promise<void> {
  const out = await busClient().send(
    new PutEventsCommand({ Entries: entries.map(([Source, DetailType, d]) => ({ Source, DetailType, Detail: JSON.stringify(d), EventBusName: 'baton' })) }),
  );
  expect(out.FailedEntryCount).toBe(0);
}

const CHANNELS = ['email', 'device', 'sms'] as const;
const crmId = unique('CRM-agent');
const deviceId = unique('dev');
const store = unique('agent');
const email = `${crmId.toLowerCase()}@example.com`;
let customerId = '';
const decision: Record<(typeof CHANNELS)[number], string> = { email: '', device: '', sms: '' };

/** The outbox item of one channel of one decision, as the table holds it now. */
async function message(channel: string): Promise<Record<string, unknown>> {
  const items = await decisionsOf(customerId);
  return items.find((i) => i.pk === `DEC#${decision[channel as 'email']}` && i.sk === `MSG#${channel}`) ?? {};
}
const until = (what: string, channel: string, field: string) =>
  eventually(what, async () => ((await message(channel))[field] ? true : undefined), 30_000);
const consent = async (channel: string) => {
  const p = await profileByExternalId('crmId', crmId);
  return (JSON.parse(String(p?.state ?? '{}')) as { consent: Record<string, { v: boolean; via: string }> }).consent[channel];
};

beforeAll(async () => {
  await putTemplate({
    templateId: `${store}-email`,
    channel: 'email',
    locale: 'en',
    subject: 'Your code',
    html: '<p>Hi {{ customer.firstName }}, your code is {{ offer }}. <a href="https://example.com/renew">Renew</a></p><p><a href="{{ unsubscribeUrl }}">Unsubscribe</a></p>',
    text: 'Hi {{ customer.firstName }}, your code is {{ offer }}. Unsubscribe: {{ unsubscribeUrl }}',
  });
  await putTemplate({ templateId: `${store}-device`, channel: 'device', locale: 'en', text: 'Your device code is {{ offer }}' });
  await putTemplate({ templateId: `${store}-sms`, channel: 'sms', locale: 'en', text: 'Your SMS code is {{ offer }}' });
  const rules = join(work, 'rules.json');
  writeFileSync(
    rules,
    JSON.stringify(
      CHANNELS.map((channel) => ({
        ruleId: `${store}-${channel}`,
        campaignId: 'cli-agent',
        enabled: true,
        priority: 10,
        when: { source: ['baton.pos'], detail: { storeId: [`${store}-${channel}`] } },
        then: { channel, template: `${store}-${channel}`, offer: `AGENT-${channel.toUpperCase()}` },
      })),
    ),
  );
  const put = await local('rules', 'put', rules, '--by', 'agent-test');
  expect([put.code, put.stderr]).toEqual([0, '']);
  const at = new Date().toISOString();
  await send(
    ['baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { firstName: 'Agnes', email, phone: `+4917${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`, locale: 'en' } }],
    ...CHANNELS.map((channel): Entry => ['baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel, granted: true, via: 'web-form' }]),
    ['baton.device', 'DeviceRegistered', { ids: { crmId, deviceId }, occurredAt: at, deviceId, platform: 'android', agentVersion: '1.0.0' }],
  );
  const profile = await eventually('consents and the device', async () => {
    const p = await profileByExternalId('crmId', crmId);
    const s = String(p?.state ?? '');
    return (s.match(/web-form/g) ?? []).length === 3 && s.includes(deviceId) ? p : undefined;
  });
  customerId = String(profile.customerId);
  await rulesRefreshed(); // the rule cache refreshes every 300 ms in tests
  await send(
    ...CHANNELS.map((channel): Entry => [
      'baton.pos',
      'SaleCompleted',
      { ids: { crmId }, occurredAt: new Date().toISOString(), saleId: unique('S'), storeId: `${store}-${channel}`, items: [{ sku: 'A', category: 'x', quantity: 1, unitPrice: 9 }], total: 9, currency: 'EUR' },
    ]),
  );
  await eventually(
    'a sent message on every channel',
    async () => {
      const items = await decisionsOf(customerId);
      for (const channel of CHANNELS) {
        const m = items.find((i) => i.sk === `MSG#${channel}` && i.status === 'sent' && i.ruleId === `${store}-${channel}`);
        if (!m) return undefined;
        decision[channel] = String(m.decisionId);
      }
      return true;
    },
    60_000,
  );
}, 300_000);

describe('baton simulate', () => {
  it('publishes each e-mail feedback kind the way SES reports it, and the outbox and consent follow', async () => {
    const delivered = await local('simulate', decision.email, 'delivered');
    expect([delivered.code, delivered.stdout.trim()]).toEqual([0, 'delivered: already reported for this email message (Email Delivered); nothing new was published']);

    const opened = await local('simulate', decision.email, 'opened');
    expect([opened.code, opened.stderr]).toEqual([0, '']);
    await until('openedAt', 'email', 'openedAt');

    const clicked = await local('simulate', decision.email, 'clicked');
    expect(clicked.stdout).toContain(`simulated clicked on the email message of ${decision.email}: Email Opened (the first time only), Email Clicked (https://example.com/renew) on the local bus`);
    await until('clickedAt', 'email', 'clickedAt');

    expect((await local('simulate', decision.email, 'unsubscribed')).code).toBe(0);
    await eventually('consent withdrawn by the link', async () => ((await consent('email'))?.via === 'unsubscribe-link' ? true : undefined));

    const bounced = await local('simulate', decision.email, 'bounced');
    expect(bounced.stdout).toContain('Email Bounced on the local bus');
    await until('bouncedAt', 'email', 'bouncedAt');
    expect((await local('simulate', decision.email, 'complained')).code).toBe(0);
    await until('complainedAt', 'email', 'complainedAt');
    await eventually('consent withdrawn by the complaint', async () => ((await consent('email'))?.via === 'complaint' ? true : undefined));

    const m = await message('email');
    expect(m).toMatchObject({ bounceType: 'Permanent', deliveredAt: expect.any(String), openedAt: expect.any(String), clickedAt: expect.any(String) });
  }, 300_000);

  it('publishes device and SMS feedback through the bus', async () => {
    expect((await local('simulate', decision.device, 'displayed')).code).toBe(0);
    await until('displayedAt', 'device', 'displayedAt');
    const clicked = await local('simulate', `${decision.device}@${deviceId}`, 'clicked', '--link', 'https://example.com/device');
    expect([clicked.code, clicked.stdout.trim()]).toEqual([0, `simulated clicked on the device message of ${decision.device}: MessageClicked on the local bus`]);
    await until('device clickedAt', 'device', 'clickedAt');

    const stop = await local('simulate', decision.sms, 'opted-out');
    expect(stop.code).toBe(0);
    await eventually('SMS consent withdrawn', async () => ((await consent('sms'))?.via === 'sms-stop' ? true : undefined));
    expect(await consent('sms')).toMatchObject({ v: false });
  }, 300_000);

  it('says why it cannot simulate: no such decision, no such message, not the local stack', async () => {
    const [none, wrongChannel, cloud] = await Promise.all([
      local('simulate', 'dec-does-not-exist', 'displayed'),
      local('simulate', decision.email, 'displayed'),
      local('simulate', decision.email, 'opened', '--cloud'),
    ]);

    expect([none.code, none.stderr.trim()]).toEqual([1, 'no decision dec-does-not-exist (a device feedback needs the decision id)']);
    expect([wrongChannel.code, wrongChannel.stderr.trim()]).toEqual([1, `decision ${decision.email} has no device message (it has email)`]);
    expect(cloud.code).toBe(2);
    expect(cloud.stderr).toContain('simulate works on the local stack only');
  }, 300_000);
});

describe('baton customer show and explain --customer', () => {
  it("shows the agent one page: consent with where and when, and each recent decision's messages with their fates", async () => {
    const text = await local('customer', 'show', crmId);
    const asJson = await local('customer', 'show', customerId, '--json');

    expect(text.code).toBe(0);
    const page = text.stdout;
    expect(page).toContain('firstName: Agnes');
    expect(page).toMatch(/^ {2}email +no +withdrawn \S+ via complaint$/m);
    expect(page).toMatch(/^ {2}sms +no +withdrawn \S+ via sms-stop$/m);
    expect(page).toMatch(/^ {2}device +yes +given \S+ via web-form$/m);
    expect(page).toMatch(/^ {2}push +no +never given$/m);
    expect(page).toContain('recent decisions (3 of 3, newest first;');
    const emailLine = page.split('\n').find((l) => l.includes(`from ${store}-email`)) ?? '';
    expect(emailLine).toMatch(/^ {4}email +sent +template \S+-email, offer AGENT-EMAIL from \S+ · sent \S+ · delivered \S+ · opened \S+ · clicked \S+ · bounced \S+ \(Permanent\) · complained \S+ · unsubscribed \S+$/);
    expect(page.split('\n').find((l) => l.includes(`from ${store}-device`))).toMatch(/ · clicked \S+ · displayed \S+$/);
    expect(page).toContain(decision.sms);

    expect(asJson.code).toBe(0);
    const shown = JSON.parse(asJson.stdout) as {
      customerId: string;
      consent: Record<string, { granted: boolean; via: string | null; at: string | null }>;
      decisionsTotal: number;
      decisions: { decisionId: string; messages: Record<string, string>[] }[];
    };
    expect(shown.customerId).toBe(customerId);
    expect(shown.consent.email).toEqual({ granted: false, via: 'complaint', at: expect.any(String) });
    expect(shown.consent.push).toEqual({ granted: false, via: null, at: null });
    expect(shown.decisionsTotal).toBe(3);
    const mail = shown.decisions.find((d) => d.decisionId === decision.email)!.messages[0]!;
    expect(Object.keys(mail).filter((k) => k.endsWith('At')).sort()).toEqual(['bouncedAt', 'clickedAt', 'complainedAt', 'deliveredAt', 'openedAt', 'sentAt', 'unsubscribedAt']);
    expect(mail.messageId).toMatch(/^ses-/);
  }, 300_000);

  it('explains the newest decisions of a customer, and a decision with its message times', async () => {
    const [customer, asJson, one] = await Promise.all([
      local('explain', '--customer', crmId, '--limit', '2'),
      local('explain', '--customer', crmId, '--json'),
      local('explain', decision.email),
    ]);

    expect(customer.code).toBe(0);
    expect(customer.stdout).toMatch(new RegExp(`^customer ${customerId}: 2 of 3 decision\\(s\\), newest first$`, 'm'));
    expect(customer.stdout.match(/^decision dec-/gm)).toHaveLength(2);
    expect(customer.stdout).toMatch(/chosen +\S+ \((email|device|sms), campaign cli-agent/);
    expect(customer.stdout).not.toContain('Agnes');
    const explained = JSON.parse(asJson.stdout) as { customerId: string; total: number; decisions: { decisionId: string }[] };
    expect(explained).toMatchObject({ customerId, total: 3 });
    expect(explained.decisions.map((d) => d.decisionId).sort()).toEqual(Object.values(decision).sort());
    expect(one.stdout).toMatch(/email +sent +template \S+, offer AGENT-EMAIL from \S+ · sent \S+ · delivered \S+ · opened \S+ · clicked/);
  }, 300_000);
});
