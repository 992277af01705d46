// The renewal journey (examples/journeys/renewal.yaml, seeded as `npm start` seeds it) on the real
// local stack: events through the bus, the evaluate and dispatch handlers, the local Scheduler and a
// clock that stands still until POST /local/clock/advance moves it. Three customers: one renews
// after the email (exits, no device message), one never renews (email, then the device message 7
// days later), one has a threat during the wait (the priority message at once, then the device
// message). Each path is read back as a user reads it: /local/messages and `baton customer show`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { LocalClock } from '../../local/clock.ts';
import { seedJourneys } from '../../local/demo.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { getInstance } from '../../lib/adapters/dynamo/journeys.ts';
import { BUS_NAME } from '../../lib/contract/routes.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { batonWith, stackEnv } from '../support/cli.ts';
import { endpoints } from '../support/local.ts';

const START = '2030-03-04T08:00:00.000Z';
const STAGE = 'jrnlocal';
const DUE = '2030-03-11T08:00:00.000Z';
let stack: LocalStack;
let db: DynamoDBDocumentClient;
let bus: EventBridgeClient;

beforeAll(async () => {
  const clock = new LocalClock({ speed: 0, start: new Date(START) });
  stack = await startLocalStack({ busPort: 0, dynamodbEndpoint: endpoints().dynamodb, sesPort: 0, stage: STAGE, clock });
  db = documentClient({ endpoint: stack.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  bus = new EventBridgeClient({ endpoint: stack.endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  await seedJourneys(db, stack.tables, clock.now());
}, 300_000);
afterAll(async () => {
  bus?.destroy();
  db?.destroy();
  await stack?.stop();
}, 60_000);

async function publish(...events: { source: string; type: string; detail: Record<string, unknown> }[]): Promise<void> {
  const occurredAt = stack.clock.now().toISOString();
  const out = await bus.send(
    new PutEventsCommand({
      Entries: events.map((e) => ({ Source: e.source, DetailType: e.type, Detail: JSON.stringify({ occurredAt, ...e.detail }), EventBusName: BUS_NAME })),
    }),
  );
  expect(out.FailedEntryCount ?? 0).toBe(0);
  await stack.settled(60_000);
}

const advance = async (by: string): Promise<string> => {
  const res = await fetch(`${stack.endpoints.bus}/local/clock/advance`, { method: 'POST', body: JSON.stringify({ by }) });
  expect(res.status).toBe(200);
  const now = String(((await res.json()) as { now: string }).now);
  await stack.settled(60_000);
  return now;
};

async function customerIdOf(crmId: string): Promise<string> {
  const link = await db.send(new GetCommand({ TableName: stack.tables.customers, Key: { pk: `ID#crmId#${crmId}`, sk: 'ID' }, ConsistentRead: true }));
  return String(link.Item!.customerId);
}

/** The journey's messages the providers accepted for the customer, as `<channel>:<step>` in the order sent. */
async function sent(customerId: string): Promise<string[]> {
  const res = await fetch(`${stack.endpoints.bus}/local/messages?customer=${encodeURIComponent(customerId)}`);
  const { messages } = (await res.json()) as { messages: { channel: string; ruleId?: string }[] };
  return messages.filter((m) => m.ruleId?.startsWith('journey:renewal:')).map((m) => `${m.channel}:${m.ruleId!.slice('journey:renewal:'.length)}`);
}

const show = (crmId: string) => batonWith(stackEnv(stack.endpoints), 'customer', 'show', crmId, '--stage', STAGE);
const journeyLine = async (crmId: string): Promise<string> => {
  const out = await show(crmId);
  expect(out.code, out.stderr).toBe(0);
  return out.stdout.split('\n').find((l) => l.startsWith('  renewal v'))!;
};

const onboard = (tag: string) => [
  { source: 'baton.crm', type: 'CustomerUpserted', detail: { ids: { crmId: `crm-${tag}` }, profile: { firstName: 'Ada', email: `${tag}@example.com`, locale: 'en', timeZone: 'Europe/Berlin' } } },
  { source: 'baton.crm', type: 'ConsentChanged', detail: { ids: { crmId: `crm-${tag}` }, channel: 'email', granted: true, via: 'web-form' } },
  { source: 'baton.crm', type: 'ConsentChanged', detail: { ids: { crmId: `crm-${tag}` }, channel: 'device', granted: true, via: 'web-form' } },
  {
    source: 'baton.device',
    type: 'DeviceRegistered',
    detail: { ids: { crmId: `crm-${tag}`, deviceId: `dev-${tag}` }, deviceId: `dev-${tag}`, platform: 'windows', agentVersion: '5.1.0' },
  },
];
const licence = (tag: string) => ({ ids: { crmId: `crm-${tag}`, licenseId: `LIC-${tag}` }, licenseId: `LIC-${tag}`, product: 'total-security' });

describe('the renewal journey on the local stack, on a simulated clock', { timeout: 600_000 }, () => {
  it('walks three customers through it: renewed, never renewed, a threat during the wait', async () => {
    const tags = ['renews', 'never', 'threat'];
    // Sequentially per customer kind: the bus delivers in order within one PutEvents call.
    for (const tag of tags) await publish(...onboard(tag));
    await publish(
      ...tags.map((tag) => ({ source: 'baton.device', type: 'DeviceStatusReported', detail: { ids: { deviceId: `dev-${tag}` }, deviceId: `dev-${tag}`, status: 'protected', agentVersion: '5.1.0' } })),
    );
    await publish(...tags.map((tag) => ({ source: 'baton.erp', type: 'LicenseRenewalDue', detail: { ...licence(tag), expiresAt: '2030-04-01T00:00:00Z', daysLeft: 28 } })));
    const [renews, never, threat] = await Promise.all(tags.map((t) => customerIdOf(`crm-${t}`)));
    for (const c of [renews!, never!, threat!]) expect(await sent(c)).toEqual(['email:email']);
    expect(await journeyLine('crm-never')).toBe(`  renewal v1: in wait-for-renewal, waiting until ${DUE}`);
    expect(stack.summary.line()).toContain('journeys entered 3, converted 0, waiting: renewal/wait-for-renewal 3');

    // Day 2: one renews, the other's device reports a threat.
    expect(await advance('2d')).toBe('2030-03-06T08:00:00.000Z');
    await publish(
      { source: 'baton.erp', type: 'LicenseRenewed', detail: { ...licence('renews'), expiresAt: '2031-04-01T00:00:00Z', amount: 49.9, currency: 'EUR' } },
      {
        source: 'baton.device',
        type: 'ThreatDetected',
        detail: { ids: { deviceId: 'dev-threat' }, deviceId: 'dev-threat', threatId: 'THR-1', threatName: 'Trojan.Test', severity: 'high', action: 'quarantined' },
      },
    );
    expect(await sent(renews!)).toEqual(['email:email']);
    expect(await journeyLine('crm-renews')).toBe('  renewal v1: converted at 2030-03-06T08:00:00.000Z (goal) after wait-for-renewal');
    expect(await sent(threat!)).toEqual(['email:email', 'device:wait-for-renewal.threat']);
    // The priority message does not change what the customer waits for.
    expect(await journeyLine('crm-threat')).toBe(`  renewal v1: in wait-for-renewal, waiting until ${DUE}`);

    // A minute short of seven days after the email: nothing more yet.
    expect(await advance('4d23h59m')).toBe('2030-03-11T07:59:00.000Z');
    expect(await sent(never!)).toEqual(['email:email']);
    expect(stack.summary.line()).toContain('journeys entered 3, converted 1, waiting: renewal/wait-for-renewal 2');

    expect(await advance('1m')).toBe(DUE);
    expect(await sent(never!)).toEqual(['email:email', 'device:device-reminder']);
    expect(await sent(threat!)).toEqual(['email:email', 'device:wait-for-renewal.threat', 'device:device-reminder']);
    expect(await sent(renews!)).toEqual(['email:email']);
    for (const tag of ['never', 'threat']) expect(await journeyLine(`crm-${tag}`)).toBe(`  renewal v1: exited at ${DUE} (exit-step) after done`);
    expect((await getInstance(db, stack.tables.customers, threat!, 'renewal'))?.path.map((p) => `${p.stepId}: ${p.what}`)).toEqual([
      'email: entered',
      'email: send email',
      'wait-for-renewal: waiting until 2030-03-11T08:00:00.000Z',
      'wait-for-renewal.threat: meanwhile: send device',
      'wait-for-renewal: timed out',
      'device-active: branch → device-reminder',
      'device-reminder: send device',
      'done: exit',
    ]);
    expect(stack.summary.figures()).toMatchObject({ timers: { waiting: 0, fired: 2, late: 0, deadLettered: 0 }, journeys: { entered: 3, converted: 1, waiting: {} } });
  });
});
