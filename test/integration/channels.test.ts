// Every channel end to end on the local stack: an event through the local bus, a rule, the
// outbox, dispatch, and the real sender code against the local SES, SNS and IoT stand-ins.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { busClient, endpoints, eventually, pipelineQuiet, profileByExternalId, putRule, putTemplate, rulesRefreshed, unique } from '../support/local.ts';

const CHANNELS = ['email', 'sms', 'push', 'device', 'bus'] as const;

type Entry = [source: string, detailType: string, detail: unknown];
/** One PutEvents call for up to 10 events; every entry must be accepted. */
async function send(...entries: Entry[]): Promise<void> {
  const out = await busClient().send(
    new PutEventsCommand({ Entries: entries.map(([Source, DetailType, detail]) => ({ Source, DetailType, Detail: JSON.stringify(detail), EventBusName: 'baton' })) }),
  );
  expect(out.FailedEntryCount).toBe(0);
}

interface LocalMessage {
  channel: string;
  to: string;
  subject?: string;
  text: string;
  html?: string;
  decisionId?: string;
  customerId?: string;
  ruleId?: string;
}
const localMessages = async (query: string): Promise<LocalMessage[]> =>
  ((await (await fetch(`${endpoints().bus}/local/messages?${query}`)).json()) as { messages: LocalMessage[] }).messages;

describe('channels on the local stack', { timeout: 600_000 }, () => {
  it('sends exactly one personalised message per channel, one event each: email, sms, push, device, bus action', async () => {
    // prepare
    const crmId = unique('CRM');
    const deviceId = unique('dev');
    const store = unique('store');
    const firstName = `Wil${crmId.slice(-4)}`;
    const email = `${crmId.toLowerCase()}@example.com`;
    const phone = `+4915${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`;
    const at = new Date().toISOString();
    const ruleFor = (channel: string) => `${store}-${channel}`;
    await Promise.all(CHANNELS.map(async (channel) => {
      if (channel !== 'bus') {
        await putTemplate({
          templateId: ruleFor(channel),
          channel,
          locale: 'en',
          ...(channel === 'email' || channel === 'push' ? { subject: `Hello ${channel}` } : {}),
          ...(channel === 'email' ? { html: '<p>Hi {{ customer.firstName }}, code {{ offer }}</p>' } : {}),
          text: `Hi {{ customer.firstName }}, your ${channel} code is {{ offer }}`,
        });
      }
      await putRule({
        ruleId: ruleFor(channel),
        campaignId: 'channels-test',
        enabled: true,
        priority: 10,
        when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [ruleFor(channel)] } },
        then:
          channel === 'bus'
            ? { channel: 'bus', action: 'add-to-call-list', payload: { list: 'vip' } }
            : { channel, template: ruleFor(channel), offer: `CODE-${channel.toUpperCase()}` },
      });
    }));
    await send(
      ['baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { firstName, email, phone, locale: 'en' } }],
      ...['email', 'sms', 'push', 'device'].map((channel): Entry => ['baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel, granted: true, via: 'web-form' }]),
      [
        'baton.device',
        'DeviceRegistered',
        {
          ids: { crmId, deviceId },
          occurredAt: at,
          deviceId,
          platform: 'android',
          agentVersion: '1.2.3',
          pushEndpointArn: `arn:aws:sns:us-east-1:000000000000:endpoint/GCM/baton/${deviceId}`,
        },
      ],
    );
    const profile = await eventually('consents and the device applied', async () => {
      const p = await profileByExternalId('crmId', crmId);
      const s = JSON.stringify(p?.state ?? {});
      return (s.match(/web-form/g) ?? []).length === 4 && s.includes(deviceId) ? p : undefined;
    });
    const customerId = profile.customerId as string;
    await rulesRefreshed();

    // act: one sale per channel
    await send(
      ...CHANNELS.map((channel): Entry => [
        'baton.pos',
        'SaleCompleted',
        {
          ids: { crmId },
          occurredAt: new Date().toISOString(),
          saleId: unique('S'),
          storeId: ruleFor(channel),
          items: [{ sku: 'X', category: 'accessories', quantity: 1, unitPrice: 5 }],
          total: 5,
          currency: 'EUR',
        },
      ]),
    );

    // assess
    const messages = await eventually('a message on every channel', async () => {
      const all = await localMessages(`customer=${customerId}`);
      return CHANNELS.every((c) => all.some((m) => m.channel === c)) ? all : undefined;
    });
    await pipelineQuiet(); // a second send would have happened by now
    const settled = await localMessages(`customer=${customerId}`);
    expect(settled.map((m) => m.channel).sort()).toEqual([...CHANNELS].sort());
    const by = (c: string) => settled.find((m) => m.channel === c)!;
    expect(by('email').to).toBe(email);
    expect(by('email').subject).toBe('Hello email');
    expect(by('email').html).toContain(`Hi ${firstName}, code CODE-EMAIL`);
    expect(by('sms').to).toBe(phone);
    expect(by('sms').text).toBe(`Hi ${firstName}, your sms code is CODE-SMS`);
    expect(by('push').to).toBe(`arn:aws:sns:us-east-1:000000000000:endpoint/GCM/baton/${deviceId}`);
    expect(by('push').text).toBe(`Hi ${firstName}, your push code is CODE-PUSH`);
    expect(by('device').to).toBe(`baton/devices/${deviceId}/messages`);
    expect(by('device').text).toBe(`Hi ${firstName}, your device code is CODE-DEVICE`);
    expect(JSON.parse(by('bus').text)).toEqual({ action: 'add-to-call-list', payload: { list: 'vip' } });
    for (const m of settled) expect(m.ruleId).toBe(ruleFor(m.channel));
    // The channel filter narrows to one channel.
    expect((await localMessages(`channel=sms&customer=${customerId}`)).map((m) => m.channel)).toEqual(['sms']);
    expect(messages.length).toBeGreaterThanOrEqual(5);
  });
});
