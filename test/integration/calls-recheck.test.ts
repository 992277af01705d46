// A deferred call checked again when its deferral fires, on a local stack of its own whose clock
// stands still until the test moves it: the team still reports no agent free, so the call waits
// again by the rule's retry time instead of ringing; once the team reports agents free, the next
// firing books it onto the team's call list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { LocalClock } from '../../local/clock.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { putRule, putTemplate } from '../support/local.ts';

const START = '2030-01-07T10:00:00.000Z';
let stack: LocalStack;
let db: DynamoDBDocumentClient;
let bus: EventBridgeClient;
beforeAll(async () => {
  stack = await startLocalStack({ busPort: 0, dynamodbPort: 0, sesPort: 0, stage: 'calls', rulesRefreshMs: 200, clock: new LocalClock({ speed: 0, start: new Date(START) }) });
  db = documentClient({ endpoint: stack.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  bus = new EventBridgeClient({ endpoint: stack.endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}, 300_000);
afterAll(async () => {
  bus?.destroy();
  db?.destroy();
  await stack?.stop();
}, 60_000);

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}
const send = async (source: string, detailType: string, detail: unknown) => {
  const out = await bus.send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));
  expect(out.FailedEntryCount ?? 0).toBe(0);
};
const now = () => stack.clock.now().toISOString();
const advance = (by: string) => fetch(`${stack.endpoints.bus}/local/clock/advance`, { method: 'POST', body: JSON.stringify({ by }) });
const calls = async (customerId: string) =>
  ((await (await fetch(`${stack.endpoints.bus}/local/messages?channel=call&customer=${customerId}`)).json()) as { messages: Record<string, unknown>[] }).messages;

describe('a deferred call at delivery', { timeout: 300_000 }, () => {
  it('waits again while the team still has no agent free, and rings once it has', async () => {
    const to = { db, tables: stack.tables };
    await db.send(new PutCommand({ TableName: stack.tables.campaigns, Item: { pk: 'POLICY#calls', sk: 'CURRENT', version: 1, policyId: 'calls', caps: { call: { perDay: 5 } } } }));
    await db.send(new PutCommand({ TableName: stack.tables.campaigns, Item: { pk: 'CAMPAIGN#service', sk: 'CURRENT', version: 1, campaignId: 'service', enabled: true, priority: 10, policyId: 'calls' } }));
    await putTemplate({ templateId: 'complaint', channel: 'call', locale: 'en', text: '{{ customer.firstName }} complained.' }, to);
    await putRule({ ruleId: 'complaint', campaignId: 'service', enabled: true, priority: 50, when: { source: ['baton.crm'], 'detail-type': ['CaseOpened'] }, then: { channel: 'call', team: 'service', template: 'complaint', retryMinutes: 30 } }, to);
    await send('baton.crm', 'CustomerUpserted', { ids: { crmId: 'C1' }, occurredAt: now(), profile: { firstName: 'Vera', phone: '+4915112345678' } });
    await send('baton.crm', 'ConsentChanged', { ids: { crmId: 'C1' }, occurredAt: now(), channel: 'call', granted: true, via: 'call-centre' });
    await send('baton.crm', 'CallCentreLoadReported', { occurredAt: now(), team: 'service', agentsFree: 0, queueLength: 9 });
    const customerId = await until('the consent to be called', async () => {
      const link = (await db.send(new GetCommand({ TableName: stack.tables.customers, Key: { pk: 'ID#crmId#C1', sk: 'ID' } }))).Item;
      if (!link) return undefined;
      const profile = (await db.send(new GetCommand({ TableName: stack.tables.customers, Key: { pk: `CUS#${link.customerId}`, sk: 'PROFILE' } }))).Item;
      return JSON.stringify(profile ?? {}).includes('call-centre') ? String(link.customerId) : undefined;
    });
    await new Promise((r) => setTimeout(r, 1000)); // the rule and the team's load reach the warm caches (200 ms)

    await send('baton.crm', 'CaseOpened', { ids: { crmId: 'C1' }, occurredAt: now(), caseId: 'CASE-1', category: 'billing', sentiment: 'negative' });
    const messageOf = async () => {
      const { Items } = await import('@aws-sdk/lib-dynamodb').then(({ QueryCommand }) =>
        db.send(new QueryCommand({ TableName: stack.tables.decisions, IndexName: 'byCustomer', KeyConditionExpression: 'customerId = :c', ExpressionAttributeValues: { ':c': customerId } })),
      );
      return (Items ?? []).find((i) => i.sk === 'MSG#call');
    };
    const deferred = await until('the deferred call', messageOf);
    expect(deferred.notBefore).toBe('2030-01-07T10:30:00.000Z');

    // The deferral fires; the team still reports none free: held again, 30 minutes on, not rung.
    await advance('31m');
    const again = await until('the call held again', async () => {
      const m = await messageOf();
      return m && m.notBefore !== deferred.notBefore ? m : undefined;
    });
    expect(again).toMatchObject({ status: 'pending', notBefore: '2030-01-07T11:01:00.000Z' });
    expect(await calls(customerId)).toEqual([]);

    // Agents free now: the next firing books the call.
    await send('baton.crm', 'CallCentreLoadReported', { occurredAt: now(), team: 'service', agentsFree: 2, queueLength: 1 });
    await new Promise((r) => setTimeout(r, 1500)); // the context cache (at most 200 ms here) sees the report
    await advance('31m');
    const [entry] = await until('the call-list entry', async () => ((await calls(customerId)).length ? calls(customerId) : undefined));
    expect(entry).toMatchObject({ to: 'team:service', text: 'Vera complained.' });
    expect(await messageOf()).toMatchObject({ status: 'sent' });
  });
});
