// Journey timers on a local stack of its own, on a clock that stands still until the test moves
// it (the shared stack runs in real time for every other test): the real Scheduler SDK creates a
// schedule on the stack's Scheduler, POST /local/clock/advance brings its time, and its Input
// reaches the evaluate handler through the evaluate queue as any bus event does.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateScheduleCommand, GetScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { localSchedulerSettings, startLocalStack, type LocalStack } from '../../local/stack.ts';
import { LocalClock } from '../../local/clock.ts';
import { endpoints } from '../support/local.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { SWEEP_EVENT } from '../../lib/contract/journeys.ts';
import { journeyWrites, DynamoJourneyInstances } from '../../lib/adapters/dynamo/journeys.ts';
import { localSettings } from '../../local/stack.ts';
import type { TimerRequest } from '../../lib/core/journeys/instance.ts';

const START = '2030-01-01T08:00:00.000Z';
let stack: LocalStack;
let db: DynamoDBDocumentClient;
let scheduler: SchedulerClient;
beforeAll(async () => {
  stack = await startLocalStack({ busPort: 0, dynamodbEndpoint: endpoints().dynamodb, sesPort: 0, stage: 'timers', clock: new LocalClock({ speed: 0, start: new Date(START) }) });
  db = documentClient({ endpoint: stack.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  scheduler = new SchedulerClient({ endpoint: stack.endpoints.scheduler, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}, 300_000);
afterAll(async () => {
  scheduler?.destroy();
  db?.destroy();
  await stack?.stop();
}, 60_000);

const clockApi = async (path: string, body?: unknown) => {
  const res = await fetch(`${stack.endpoints.bus}${path}`, body === undefined ? {} : { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const profileOf = async (crmId: string) => {
  const link = await db.send(new GetCommand({ TableName: stack.tables.customers, Key: { pk: `ID#crmId#${crmId}`, sk: 'ID' } }));
  return link.Item;
};

describe('the local stack on a simulated clock', { timeout: 240_000 }, () => {
  it('reads the clock at GET /local/clock and refuses an advance it cannot read, naming the field', async () => {
    expect(await clockApi('/local/clock')).toEqual({ status: 200, body: { now: START, speed: 0, advancedMs: 0 } });
    for (const [body, field] of [['{"by":"a week"}', 'by'], ['{"to":"yesterday"}', 'to'], ['{"to":"2029-01-01T00:00:00Z"}', 'to'], ['{}', 'body'], ['not json', 'body']] as const) {
      const out = await clockApi('/local/clock/advance', body);
      expect(out.status, body).toBe(400);
      expect(String(out.body.error)).toMatch(new RegExp(`^${field}:`));
    }
    expect((await clockApi('/local/clock')).body.now).toBe(START);
  });

  it('hands the stack clock to ingest: a quarantined event is stamped with the simulated time', async () => {
    const bus = new EventBridgeClient({ endpoint: stack.endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    await bus.send(new PutEventsCommand({ Entries: [{ Source: 'baton.crm', DetailType: 'CustomerUpserted', Detail: JSON.stringify({ not: 'valid' }), EventBusName: 'baton' }] }));
    bus.destroy();
    const [item] = await until('the quarantined event', async () => {
      const out = await db.send(new ScanCommand({ TableName: stack.tables.quarantine }));
      return out.Items?.length ? out.Items : undefined;
    });
    expect(item!.receivedAt).toBe((await clockApi('/local/clock')).body.now);
    expect(String(item!.receivedAt).startsWith('2030-01-01')).toBe(true);
  });

  it('fires a 7-day wait when the clock is advanced 7 days, into the evaluate handler', async () => {
    const { group, roleArn, targetArn, deadLetterArn } = localSchedulerSettings('timers');
    const crmId = 'CRM-TIMER-1';
    // What a fired timer carries is an EventBridge-shaped event; a catalog event makes its arrival visible.
    const envelope = {
      version: '0',
      id: 'timer-event-1',
      source: 'baton.crm',
      'detail-type': 'CustomerUpserted',
      account: '000000000000',
      region: LOCAL_REGION,
      time: '2030-01-08T08:00:00Z',
      resources: [],
      detail: { ids: { crmId }, occurredAt: '2030-01-08T08:00:00Z', profile: { firstName: 'Tamsin', locale: 'en' } },
    };
    await scheduler.send(
      new CreateScheduleCommand({
        Name: 'instance-1-wait-7d',
        GroupName: group,
        // 09:00 in Paris on 8 January: 08:00 UTC, seven days after the clock's start.
        ScheduleExpression: 'at(2030-01-08T09:00:00)',
        ScheduleExpressionTimezone: 'Europe/Paris',
        FlexibleTimeWindow: { Mode: 'OFF' },
        ActionAfterCompletion: 'DELETE',
        Target: { Arn: targetArn, RoleArn: roleArn, Input: JSON.stringify(envelope), RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 }, DeadLetterConfig: { Arn: deadLetterArn } },
      }),
    );
    expect((await clockApi('/local/stats')).body.summary).toMatchObject({ timers: { waiting: 1, due: 0, fired: 0, late: 0, deadLettered: 0 } });

    expect((await clockApi('/local/clock/advance', { by: '6d23h59m' })).body.now).toBe('2030-01-08T07:59:00.000Z');
    await stack.settled();
    expect(await profileOf(crmId)).toBeUndefined();
    expect(stack.scheduler.stats.fired).toBe(0);

    expect((await clockApi('/local/clock/advance', { by: '1m' })).body.now).toBe('2030-01-08T08:00:00.000Z');
    await until('the timer to reach the evaluate handler', () => profileOf(crmId));
    await stack.settled();
    const stats = (await clockApi('/local/stats')).body;
    expect(stats.summary).toMatchObject({ timers: { waiting: 0, due: 0, fired: 1, late: 0, deadLettered: 0 }, clock: { now: '2030-01-08T08:00:00.000Z', speed: 0 } });
    expect(stats.scheduler).toMatchObject({ created: 1, fired: 1, waiting: 0 });
    expect(stack.summary.line()).toContain('timers waiting 0, due 0, fired 1 (late 0) · clock 2030-01-08 08:00 UTC (×0)');
    const gone = await scheduler.send(new GetScheduleCommand({ Name: 'instance-1-wait-7d', GroupName: group })).catch((err: Error) => err.name);
    expect(gone).toBe('ResourceNotFoundException');
  });

  it('sweeps a timer the commit wrote but nobody relayed (a crash after the commit): evaluate creates its schedule and clears the outbox', async () => {
    const settings = localSettings({ endpoints: stack.endpoints, tables: stack.tables, stage: 'timers' });
    const request: TimerRequest = {
      op: 'create',
      name: 'swept-instance-wait-1',
      at: '2030-01-09T08:00:00',
      timeZone: 'UTC',
      detail: { journeyId: 'swept', version: 1, instanceId: 'swept-instance', customerId: 'no-such-customer', stepId: 'wait', dueAt: '2030-01-09T08:00:00.000Z' },
    };
    // What the commit's transaction leaves when the function dies before its relay: the request in the outbox only.
    await db.send(new TransactWriteCommand({ TransactItems: journeyWrites(stack.tables.customers, { instances: [], timers: [request] }, stack.clock.now()) as never }));
    const outbox = new DynamoJourneyInstances(db, stack.tables.customers);
    expect((await outbox.pending(100)).map((t) => t.name)).toContain(request.name);
    const missing = await scheduler.send(new GetScheduleCommand({ Name: request.name, GroupName: settings.scheduler!.group })).catch((err: Error) => err.name);
    expect(missing).toBe('ResourceNotFoundException');

    // The cloud's recurring sweep schedule puts its message on the inbound queue (infra/constructs/journeys.ts).
    stack.queue.send(JSON.stringify(SWEEP_EVENT));
    await stack.settled();
    const created = await scheduler.send(new GetScheduleCommand({ Name: request.name, GroupName: settings.scheduler!.group }));
    expect(created.ScheduleExpression).toBe('at(2030-01-09T08:00:00)');
    expect((await outbox.pending(100)).map((t) => t.name)).not.toContain(request.name);
  });
});
