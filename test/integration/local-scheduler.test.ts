// The local Scheduler stand-in driven by the real @aws-sdk/client-scheduler, on DynamoDB Local,
// with a clock that stands still until the test advances it: nothing here waits on real time.
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  CreateScheduleCommand,
  DeleteScheduleCommand,
  GetScheduleCommand,
  ListSchedulesCommand,
  SchedulerClient,
  type CreateScheduleCommandInput,
} from '@aws-sdk/client-scheduler';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { LocalClock } from '../../local/clock.ts';
import { LocalScheduler, atInstant, type ScheduleTargets } from '../../local/scheduler.ts';
import { createSchedulesTable } from '../../local/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { endpoints, unique } from '../support/local.ts';

const QUEUE = 'arn:aws:sqs:us-east-1:000000000000:baton-test-inbound';
const DLQ = 'arn:aws:sqs:us-east-1:000000000000:baton-test-scheduler-dlq';
const ROLE = 'arn:aws:iam::000000000000:role/baton-scheduler';
const GROUP = 'baton-test-journeys';

interface Harness {
  readonly scheduler: LocalScheduler;
  readonly client: SchedulerClient;
  readonly clock: LocalClock;
  readonly delivered: string[];
}

const db = documentClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
const running: Harness[] = [];

async function harness(table: string, clock: LocalClock, targets?: ScheduleTargets, retryDelayMs?: (n: number) => number): Promise<Harness> {
  const delivered: string[] = [];
  const scheduler = new LocalScheduler({
    port: 0,
    clock,
    db,
    table,
    groups: [GROUP],
    targets: targets ?? { [QUEUE]: (input) => void delivered.push(input) },
    ...(retryDelayMs ? { retryDelayMs } : {}),
  });
  await scheduler.start();
  const client = new SchedulerClient({ endpoint: scheduler.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const h = { scheduler, client, clock, delivered };
  running.push(h);
  return h;
}

/** Each stand-in its own table: a stand-in fires every schedule it finds in its table. */
async function newTable(): Promise<string> {
  const table = unique('baton-test-schedules');
  const raw = new DynamoDBClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  await createSchedulesTable(raw, table);
  raw.destroy();
  return table;
}

const timer = (name: string, at: string, timeZone = 'UTC', extra: Partial<CreateScheduleCommandInput> = {}): CreateScheduleCommandInput => ({
  Name: name,
  GroupName: GROUP,
  ScheduleExpression: `at(${at})`,
  ScheduleExpressionTimezone: timeZone,
  FlexibleTimeWindow: { Mode: 'OFF' },
  ActionAfterCompletion: 'DELETE',
  Target: {
    Arn: QUEUE,
    RoleArn: ROLE,
    Input: JSON.stringify({ source: 'baton.journeys', 'detail-type': 'JourneyTimerDue', detail: { instanceId: name, stepId: 'wait' } }),
    RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
    DeadLetterConfig: { Arn: DLQ },
  },
  ...extra,
});

/** Polls a condition the stand-in reaches on its own after the clock moved (no real-time wait asserted). */
async function until<T>(what: string, probe: () => T | undefined): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

const errorOf = async (p: Promise<unknown>) => p.then(() => undefined, (err: Error & { $metadata?: { httpStatusCode?: number } }) => ({ name: err.name, message: err.message, status: err.$metadata?.httpStatusCode }));

afterAll(async () => {
  for (const h of running) {
    h.client.destroy();
    await h.scheduler.stop();
    h.clock.stop();
  }
  db.destroy();
});

describe('the local Scheduler answers the API the SDK speaks', { timeout: 60_000 }, () => {
  it('creates, gets, lists and deletes a schedule; a second create of the name is a ConflictException', async () => {
    const { client } = await harness(await newTable(), new LocalClock({ speed: 0, start: new Date('2030-01-01T00:00:00Z') }));
    const name = 'inst-1-wait';
    const created = await client.send(new CreateScheduleCommand(timer(name, '2030-01-08T09:00:00', 'Europe/Paris')));
    expect(created.ScheduleArn).toBe(`arn:aws:scheduler:us-east-1:000000000000:schedule/${GROUP}/${name}`);

    const got = await client.send(new GetScheduleCommand({ Name: name, GroupName: GROUP }));
    expect(got).toMatchObject({
      Name: name,
      GroupName: GROUP,
      ScheduleExpression: 'at(2030-01-08T09:00:00)',
      ScheduleExpressionTimezone: 'Europe/Paris',
      State: 'ENABLED',
      ActionAfterCompletion: 'DELETE',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: { Arn: QUEUE, RoleArn: ROLE, RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 }, DeadLetterConfig: { Arn: DLQ } },
    });
    expect(got.CreationDate).toEqual(new Date('2030-01-01T00:00:00Z'));

    const listed = await client.send(new ListSchedulesCommand({ GroupName: GROUP, NamePrefix: 'inst-1' }));
    expect(listed.Schedules?.map((s) => [s.Name, s.Target?.Arn])).toEqual([[name, QUEUE]]);

    const again = await errorOf(client.send(new CreateScheduleCommand(timer(name, '2030-01-09T09:00:00'))));
    expect(again).toMatchObject({ name: 'ConflictException', status: 409 });

    await client.send(new DeleteScheduleCommand({ Name: name, GroupName: GROUP }));
    expect(await errorOf(client.send(new GetScheduleCommand({ Name: name, GroupName: GROUP })))).toMatchObject({ name: 'ResourceNotFoundException', status: 404 });
    expect(await errorOf(client.send(new DeleteScheduleCommand({ Name: name, GroupName: GROUP })))).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('pages ListSchedules with NextToken', async () => {
    const { client } = await harness(await newTable(), new LocalClock({ speed: 0, start: new Date('2030-01-01T00:00:00Z') }));
    for (const n of [1, 2, 3]) await client.send(new CreateScheduleCommand(timer(`page-${n}`, '2030-02-01T00:00:00')));
    const first = await client.send(new ListSchedulesCommand({ GroupName: GROUP, MaxResults: 2 }));
    const second = await client.send(new ListSchedulesCommand({ GroupName: GROUP, MaxResults: 2, NextToken: first.NextToken }));
    expect([...(first.Schedules ?? []), ...(second.Schedules ?? [])].map((s) => s.Name)).toEqual(['page-1', 'page-2', 'page-3']);
    expect(second.NextToken).toBeUndefined();
  });

  it('refuses what Scheduler refuses, naming the field and never the value', async () => {
    const { client } = await harness(await newTable(), new LocalClock({ speed: 0 }));
    const cases: [Partial<CreateScheduleCommandInput>, string, string][] = [
      [{ ScheduleExpression: 'at(2030-02-30T09:00:00)' }, 'ValidationException', 'ScheduleExpression'],
      [{ ScheduleExpression: 'at(2030-01-01 09:00)' }, 'ValidationException', 'ScheduleExpression'],
      [{ ScheduleExpression: 'rate(5 minutes)' }, 'ValidationException', 'one-time'],
      [{ ScheduleExpressionTimezone: 'Mars/Olympus_Mons' }, 'ValidationException', 'ScheduleExpressionTimezone'],
      [{ GroupName: 'no-such-group' }, 'ResourceNotFoundException', 'group'],
      [{ Name: 'x'.repeat(65) }, 'ValidationException', 'Name'],
      [{ Target: { Arn: 'arn:aws:sqs:us-east-1:000000000000:elsewhere', RoleArn: ROLE } }, 'ValidationException', 'Target.Arn'],
    ];
    for (const [change, type, field] of cases) {
      const err = await errorOf(client.send(new CreateScheduleCommand({ ...timer(unique('bad'), '2030-01-01T09:00:00'), ...change })));
      expect(err, JSON.stringify(change)).toMatchObject({ name: type });
      expect(err!.message).toContain(field);
      expect(err!.message).not.toContain('Mars');
    }
  });
});

describe('the local Scheduler fires on the stack clock', { timeout: 60_000 }, () => {
  it('delivers Target.Input when the clock reaches at() in its time zone, then deletes the schedule', async () => {
    // 09:00 in Paris in January is 08:00 UTC.
    const clock = new LocalClock({ speed: 0, start: new Date('2030-01-08T07:00:00Z') });
    const { client, scheduler, delivered } = await harness(await newTable(), clock);
    const input = timer('fire-paris', '2030-01-08T09:00:00', 'Europe/Paris');
    await client.send(new CreateScheduleCommand(input));
    expect(scheduler.nextDueAt).toBe(Date.parse('2030-01-08T08:00:00Z'));

    clock.advance(59 * 60_000); // 07:59 UTC: a minute early
    await scheduler.idle();
    expect(delivered).toEqual([]);

    clock.advance(60_000);
    await until('the timer to fire', () => (delivered.length ? delivered : undefined));
    expect(delivered).toEqual([input.Target!.Input]);
    await until('the schedule to be deleted', () => (scheduler.stats.fired === 1 && scheduler.waiting === 0 ? true : undefined));
    expect(await errorOf(client.send(new GetScheduleCommand({ Name: 'fire-paris', GroupName: GROUP })))).toMatchObject({ name: 'ResourceNotFoundException' });
    expect(scheduler.stats.late).toBe(0);
  });

  it('keeps a fired schedule with ActionAfterCompletion NONE, and never fires it twice', async () => {
    const clock = new LocalClock({ speed: 0, start: new Date('2030-03-01T00:00:00Z') });
    const { client, scheduler, delivered } = await harness(await newTable(), clock);
    await client.send(new CreateScheduleCommand(timer('keep-after', '2030-03-01T00:00:10', 'UTC', { ActionAfterCompletion: 'NONE' })));
    clock.advance(10_000);
    await until('the timer to fire', () => (delivered.length ? true : undefined));
    await scheduler.idle();
    clock.advance(86_400_000);
    await scheduler.idle();
    expect(delivered).toHaveLength(1);
    expect((await client.send(new GetScheduleCommand({ Name: 'keep-after', GroupName: GROUP }))).Name).toBe('keep-after');
  });

  it('fires a schedule whose time has passed at once, and counts it late', async () => {
    const clock = new LocalClock({ speed: 0, start: new Date('2030-04-01T12:00:00Z') });
    const { client, scheduler, delivered } = await harness(await newTable(), clock);
    await client.send(new CreateScheduleCommand(timer('in-the-past', '2030-04-01T11:00:00')));
    await until('the timer to fire', () => (delivered.length ? true : undefined));
    await until('the fire to be counted', () => (scheduler.stats.fired === 1 ? true : undefined));
    expect(scheduler.stats.late).toBe(1);
  });

  it('is not late for a time the clock jumped over: late counts only what follows the jump', async () => {
    const clock = new LocalClock({ speed: 0, start: new Date('2030-05-01T00:00:00Z') });
    const { client, scheduler, delivered } = await harness(await newTable(), clock);
    await client.send(new CreateScheduleCommand(timer('jumped-over', '2030-05-03T00:00:00')));
    clock.advance(7 * 86_400_000);
    await until('the timer to fire', () => (delivered.length && scheduler.stats.fired === 1 ? true : undefined));
    expect(scheduler.stats.late).toBe(0);
  });

  it('keeps its schedules in DynamoDB: a new stand-in on the same table fires what the last one was given', async () => {
    const own = await newTable();
    const clock = new LocalClock({ speed: 0, start: new Date('2030-06-01T00:00:00Z') });
    const first = await harness(own, clock);
    await first.client.send(new CreateScheduleCommand(timer('survives-restart', '2030-06-08T00:00:00')));
    await first.scheduler.stop();

    const second = await harness(own, clock);
    const got = await second.client.send(new GetScheduleCommand({ Name: 'survives-restart', GroupName: GROUP }));
    expect(got.ScheduleExpression).toBe('at(2030-06-08T00:00:00)');
    clock.advance(7 * 86_400_000);
    await until('the kept timer to fire', () => (second.delivered.length ? true : undefined));
    expect(first.delivered).toEqual([]);
  });

  it('retries a failing delivery as its RetryPolicy says, then dead-letters it and deletes the schedule', async () => {
    const clock = new LocalClock({ speed: 0, start: new Date('2030-07-01T00:00:00Z') });
    let calls = 0;
    const failing = () => {
      calls++;
      throw new Error('queue unavailable');
    };
    const { client, scheduler } = await harness(await newTable(), clock, { [QUEUE]: failing }, () => 1);
    await client.send(new CreateScheduleCommand(timer('always-fails', '2030-07-01T00:00:01')));
    clock.advance(1000);
    const [dead] = await until('the dead letter', () => (scheduler.deadLetters.length ? scheduler.deadLetters : undefined));
    // One attempt and MaximumRetryAttempts (3) retries.
    expect(calls).toBe(4);
    expect(dead).toMatchObject({ deadLetterArn: DLQ, attempts: 4, scheduleArn: expect.stringContaining('always-fails') });
    expect(scheduler.stats).toMatchObject({ retried: 3, deadLettered: 1, fired: 0 });
    await until('the schedule to be deleted', () => (scheduler.waiting === 0 ? true : undefined));
    expect(await errorOf(client.send(new GetScheduleCommand({ Name: 'always-fails', GroupName: GROUP })))).toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('delivers once a failing target recovers within the retry policy', async () => {
    const clock = new LocalClock({ speed: 0, start: new Date('2030-08-01T00:00:00Z') });
    const got: string[] = [];
    let calls = 0;
    const flaky = (input: string) => {
      if (++calls < 3) throw new Error('throttled');
      got.push(input);
    };
    const { client, scheduler } = await harness(await newTable(), clock, { [QUEUE]: flaky }, () => 1);
    await client.send(new CreateScheduleCommand(timer('flaky', '2030-08-01T00:00:01')));
    clock.advance(1000);
    await until('the delivery', () => (got.length && scheduler.stats.fired === 1 ? true : undefined));
    expect(scheduler.stats).toMatchObject({ retried: 2, deadLettered: 0 });
  });
});

describe('at() on a wall clock with daylight saving', () => {
  it('reads the time in the zone, the first pass of a repeated hour, past the jump of a skipped one', () => {
    expect(new Date(atInstant('at(2030-07-01T09:00:00)', 'Europe/Paris')).toISOString()).toBe('2030-07-01T07:00:00.000Z');
    expect(new Date(atInstant('at(2030-01-01T09:00:00)', 'UTC')).toISOString()).toBe('2030-01-01T09:00:00.000Z');
    // New York falls back on 2030-11-03: 01:30 happens twice; the first is EDT (UTC-4).
    expect(new Date(atInstant('at(2030-11-03T01:30:00)', 'America/New_York')).toISOString()).toBe('2030-11-03T05:30:00.000Z');
    // and springs forward on 2030-03-10: 02:30 does not exist; it runs at 03:30 EDT.
    expect(new Date(atInstant('at(2030-03-10T02:30:00)', 'America/New_York')).toISOString()).toBe('2030-03-10T07:30:00.000Z');
  });
});
