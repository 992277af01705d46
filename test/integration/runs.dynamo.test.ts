// Outbound runs on DynamoDB Local, in-process, on a clock the test drives: every member decided
// once through the arbitration, a crash mid-page resumed without a second decision, capacity per
// hour and quiet hours held, a local-time run deciding each zone at its own 10:00, and the
// pause/resume/cancel moves.
import { describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createRuns, type RunDeps } from '../../lib/app/runs.ts';
import { runDeps } from '../../lib/wiring/runs.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { seedSegmentMembers, type SeededCustomer } from '../../local/seed.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { wallClockIn } from '../../lib/core/runs/run.ts';
import { freshTables } from '../support/tables.ts';
import { db, endpoints, putRule } from '../support/local.ts';
import { auditRun } from '../support/runs.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';

const ZONES = ['UTC', 'America/New_York', 'Asia/Tokyo', 'Europe/Paris'];
const QUIET = { start: '21:00', end: '08:00' };
const START = Date.parse('2026-03-10T06:00:00Z');

async function setup(n: number, capacity: number) {
  const tables = await freshTables('runs');
  const client = db();
  const customers: SeededCustomer[] = Array.from({ length: n }, (_, i) => ({ customerId: `c${String(i).padStart(5, '0')}`, email: `c${i}@example.com`, timeZone: ZONES[i % ZONES.length]! }));
  await seedSegmentMembers(client, tables, 'gold', customers, new Date(START - 86_400_000));
  await client.send(new PutCommand({ TableName: tables.campaigns, Item: { pk: 'POLICY#default', sk: 'CURRENT', policyId: 'default', version: 1, quietHours: QUIET } }));
  await client.send(new PutCommand({ TableName: tables.campaigns, Item: { pk: 'CAMPAIGN#spring', sk: 'CURRENT', campaignId: 'spring', version: 1, capacityPerHour: { email: capacity } } }));
  await putRule({ ruleId: 'spring-email', campaignId: 'spring', enabled: true, priority: 1, when: { source: ['baton.runs'], detail: { campaignId: ['spring'] } }, then: { channel: 'email', template: 'spring-offer' } }, { db: client, tables });
  return { tables, client, customers, zones: new Map(customers.map((c) => [c.customerId, c.timeZone])) };
}

/** A clock the runs' sleeps move forward: the run's pacing takes no real time. */
function manualClock(startMs: number) {
  let now = startMs;
  return { clock: () => new Date(now), sleep: async (ms: number) => void (now += ms), advance: (ms: number) => void (now += ms), nowMs: () => now };
}

function deps(tables: TableNames, clock: ReturnType<typeof manualClock>, overrides: Partial<RunDeps> = {}): RunDeps {
  const settings = { tables, aws: { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoints: { dynamodb: endpoints().dynamodb } } };
  const o = { port: new MemoryMetrics(), logger: { warn: () => undefined } };
  return { ...runDeps(settings, o, { clients: { dynamodb: () => db() }, clock: clock.clock, sleep: clock.sleep, pageSize: 25 }), ...overrides };
}

describe('outbound runs on DynamoDB Local', () => {
  it('decides every member once, within capacity per hour and quiet hours, and counts what it decided', async () => {
    const { tables, client, customers, zones } = await setup(240, 100);
    const clock = manualClock(START);
    const runs = createRuns(deps(tables, clock));
    const run = await runs.start({ campaignId: 'spring', segmentId: 'gold', at: new Date(START).toISOString(), rate: 1000 });
    const after = await runs.work(run.runId);
    expect(after?.state).toBe('done');
    const audit = await auditRun(client, tables, run.runId, zones, QUIET);
    expect(audit.decisionsPer.size).toBe(customers.length);
    expect([...audit.decisionsPer.values()].every((n) => n === 1)).toBe(true);
    expect(Math.max(...audit.perHour.values())).toBeLessThanOrEqual(100);
    expect(audit.inQuietHours).toBe(0);
    const { counts } = await runs.status(run.runId);
    expect(counts.decided).toBe(customers.length);
    expect(counts.sent + counts.deferred).toBe(audit.messages);
    expect(counts.deferred).toBeGreaterThan(0); // New York and Tokyo are in quiet hours at 06:00 UTC... Tokyo is 15:00, New York 01:00
  });

  it('resumes after a crash mid-page without deciding anyone twice or skipping anyone', async () => {
    const { tables, client, customers, zones } = await setup(200, 1000);
    const clock = manualClock(START);
    const first = deps(tables, clock);
    let commits = 0;
    // The process dies after 37 commits, in the middle of a page of 25 (pages are decided 8 at a time).
    const crashing = { ...first.customers, load: first.customers.load.bind(first.customers), resolve: first.customers.resolve.bind(first.customers), markSeen: first.customers.markSeen.bind(first.customers), erase: first.customers.erase.bind(first.customers), commit: async (c: Parameters<typeof first.customers.commit>[0]) => {
      if (++commits > 37) throw new Error('crash');
      return first.customers.commit(c);
    } };
    const runs = createRuns({ ...first, customers: crashing });
    const run = await runs.start({ campaignId: 'spring', segmentId: 'gold', at: new Date(START).toISOString(), rate: 1000 });
    await expect(runs.work(run.runId)).rejects.toThrow('crash');
    const resumed = await createRuns(deps(tables, clock)).work(run.runId);
    expect(resumed?.state).toBe('done');
    const audit = await auditRun(client, tables, run.runId, zones, QUIET);
    expect(audit.decisionsPer.size).toBe(customers.length);
    expect([...audit.decisionsPer.entries()].filter(([, n]) => n > 1)).toEqual([]);
    expect((await createRuns(deps(tables, clock)).status(run.runId)).counts.decided).toBe(customers.length);
  });

  it('with --local-time decides each member at the wall-clock time in their own zone', async () => {
    const { tables, client, customers, zones } = await setup(80, 1000);
    const clock = manualClock(Date.parse('2026-03-09T20:00:00Z'));
    const runs = createRuns(deps(tables, clock));
    const run = await runs.start({ campaignId: 'spring', segmentId: 'gold', at: '2026-03-10T10:00', localTime: true, rate: 1000 });
    // Work whenever the clock passes the next pass's time, as the stack's worker does.
    for (let i = 0; i < 20; i++) {
      const now = await runs.work(run.runId);
      if (now?.state === 'done') break;
      clock.advance(Math.max(0, (now?.pass.at ?? 0) - clock.nowMs()));
    }
    expect((await runs.status(run.runId)).run.state).toBe('done');
    const audit = await auditRun(client, tables, run.runId, zones, QUIET);
    expect(audit.decisionsPer.size).toBe(customers.length);
    for (const d of audit.decisions) {
      const due = wallClockIn('2026-03-10T10:00', zones.get(String(d.customerId))!);
      expect(Date.parse(String(d.at))).toBeGreaterThanOrEqual(due);
      expect(Date.parse(String(d.at)) - due).toBeLessThan(3_600_000);
    }
    expect(audit.inQuietHours).toBe(0);
  });

  it('pauses, resumes and cancels, and refuses a move the state does not allow or a segment not in force', async () => {
    const { tables } = await setup(10, 1000);
    const clock = manualClock(START);
    const runs = createRuns(deps(tables, clock));
    const run = await runs.start({ campaignId: 'spring', segmentId: 'gold', at: new Date(START + 3_600_000).toISOString() });
    expect((await runs.control(run.runId, 'pause')).state).toBe('paused');
    expect((await runs.work(run.runId))?.state).toBe('paused');
    await expect(runs.control(run.runId, 'pause')).rejects.toThrow('a paused run cannot pause');
    expect((await runs.control(run.runId, 'resume')).state).toBe('scheduled');
    expect((await runs.control(run.runId, 'cancel')).state).toBe('cancelled');
    await expect(runs.control(run.runId, 'resume')).rejects.toThrow(/cannot resume/);
    await expect(runs.start({ campaignId: 'spring', segmentId: 'gold', at: '2026-03-10 10:00' })).rejects.toThrow(/^at: expected an ISO 8601 time/);
    // A segment that is not in force (never put, or a typo) is refused before anything is scheduled.
    const before = (await runs.list()).length;
    await expect(runs.start({ campaignId: 'spring', segmentId: 'glod', at: new Date(START).toISOString() })).rejects.toThrow(/^--segment: no segment with this id is in force/);
    expect((await runs.list()).length).toBe(before);
  });
});
