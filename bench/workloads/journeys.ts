// The journeys workload: 2,000 customers wait in a journey on DynamoDB Local; their timers fire and
// each fire becomes a step decision (the wait left, a send arbitrated, position + profile + marker +
// decision + outbox committed in one transaction) through the real ingest path, composed as
// lib/wiring/ingest.ts composes it: a warm function holds the profile and positions it committed.
// Baseline in the same run: a bare loop of the same 5-item TransactWriteItems at the same concurrency.
// Then in process: the step evaluation (lib/core/journeys/evaluate.ts) against decide's rate.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal, freePort } from '../../local/servers.ts';
import { createTables } from '../../local/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { tableNames } from '../../lib/contract/tables.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { DynamoJourneyInstances } from '../../lib/adapters/dynamo/journeys.ts';
import { CachingCustomerRepository } from '../../lib/adapters/caching.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { MemoryJourneySource, MemoryJourneyTimers } from '../../lib/adapters/memory/journeys.ts';
import { createIngest } from '../../lib/app/ingest.ts';
import { createJourneyStep } from '../../lib/app/journeys.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { checkRule } from '../../lib/core/rules/rule.ts';
import { decide } from '../../lib/core/decide.ts';
import { checkJourney } from '../../lib/core/journeys/check.ts';
import { advance, StaticJourneyBook } from '../../lib/core/journeys/evaluate.ts';
import { customerView, newCustomer, type CustomerState } from '../../lib/core/customer/index.ts';
import { fmt, percentile, pool } from '../stats.ts';
import type { Workload } from '../run.ts';

const CUSTOMERS = Number(process.env.BENCH_JOURNEY_CUSTOMERS ?? 2_000);
const CONCURRENCY = 16;
const START = Date.parse('2026-03-02T08:00:00Z');

const check = checkJourney({
  journeyId: 'bench',
  campaignId: 'bench',
  entry: { event: { source: ['baton.crm'], 'detail-type': ['CustomerUpserted'] } },
  steps: [
    { id: 'wait', type: 'wait', duration: { days: 1 } },
    { id: 'mail', type: 'send', channel: 'email', template: 'bench', transactional: true },
  ],
});
if (!check.ok) throw new Error(check.reason);
const journey = check.journey;


function inProcess(): void {
  const N = 200_000;
  const now = new Date(START + 86_400_000);
  const state: CustomerState = newCustomer('cus-bench');
  const view = customerView(state, now);
  const book = new StaticJourneyBook([journey]);
  const waiting = advance({ event: { id: 'e', source: 'baton.crm', 'detail-type': 'CustomerUpserted' }, view, contacts: [], instances: [], book, now: new Date(START) }).instances[0]!;
  const timer = { id: 't', source: 'baton.journeys', 'detail-type': 'JourneyTimerDue', detail: { journeyId: 'bench', version: 1, instanceId: waiting.instanceId, customerId: 'cus-bench', stepId: 'wait', dueAt: waiting.dueAt } };
  const rule = checkRule({ ruleId: 'r', campaignId: 'bench', enabled: true, priority: 1, when: { source: ['baton.journeys'] }, then: { channel: 'email', template: 'bench', transactional: true } });
  if (!rule.ok) throw new Error(rule.reason);
  const rules = new RuleSet([rule.rule]);
  for (let i = 0; i < 20_000; i++) advance({ event: timer, view, contacts: [], instances: [waiting], book, now });
  let t0 = performance.now();
  for (let i = 0; i < N; i++) advance({ event: timer, view, contacts: [], instances: [waiting], book, now });
  const stepRate = N / ((performance.now() - t0) / 1000);
  for (let i = 0; i < 20_000; i++) decide({ event: timer, customer: view, rules, now, contacts: [] });
  t0 = performance.now();
  for (let i = 0; i < N; i++) decide({ event: timer, customer: view, rules, now, contacts: [] });
  const decideRate = N / ((performance.now() - t0) / 1000);
  console.log(`in process step evaluation (timer → leave the wait, queue the send): ${fmt(stepRate)} /s · decide on the same event (1 matching rule): ${fmt(decideRate)} /s · ratio ${fmt(stepRate / decideRate, 2)}`);
}

export const workload: Workload = {
  name: 'journeys',
  description: `${fmt(CUSTOMERS)} journey timers fired into step decisions through ingest on DynamoDB Local, ${CONCURRENCY} in flight; step evaluation in process`,
  async run() {
    inProcess();
    const server = await startDynamoDbLocal({ port: await freePort() });
    try {
      const config = { endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 10 };
      const tables = tableNames('bench');
      await createTables(new DynamoDBClient(config), tables);
      const db = documentClient(config);
      const run = randomUUID().slice(0, 6);
      let now = START;
      const clock = () => new Date(now);
      const metrics = new MemoryMetrics();
      const store = new DynamoJourneyInstances(db, tables.customers, clock);
      const timers = new MemoryJourneyTimers();
      const customers = new CachingCustomerRepository(new DynamoCustomerRepository<CustomerState>(db, tables, clock));
      const ingest = createIngest({
        customers,
        quarantine: new DynamoQuarantine(db, tables.quarantine),
        rules: { current: async () => new RuleSet([]) },
        metrics,
        clock,
        // As lib/wiring/ingest.ts composes them: positions cached beside the profile they were read with.
        journeys: createJourneyStep({ journeys: new MemoryJourneySource(new StaticJourneyBook([journey])), instances: customers.journeyInstances(store), outbox: store, timers, metrics, clock }),
      });
      // Set-up (not timed): every customer enters and waits a day.
      const entries = Array.from({ length: CUSTOMERS }, (_, c) =>
        JSON.stringify({ version: '0', id: `${run}-in-${c}`, source: 'baton.crm', 'detail-type': 'CustomerUpserted', time: clock().toISOString(), detail: { ids: { crmId: `CRM-${run}-${c}` }, occurredAt: clock().toISOString(), profile: { tier: 'gold' } } }),
      );
      await pool(entries.map((body) => () => ingest(body)), CONCURRENCY);
      now += 86_400_000;
      const due = timers.due(now).map((s) => JSON.stringify(s.event));
      if (due.length !== CUSTOMERS) throw new Error(`expected ${CUSTOMERS} timers, got ${due.length}`);

      // Baseline: the same transaction a fire commits (profile, marker, position, decision, outbox message).
      const warm = Array.from({ length: 300 }, (_, i) => () => tx(db, tables, `warm-${run}-${i}`));
      await pool(warm, CONCURRENCY);
      const t0 = performance.now();
      const baseLatencies = await pool(Array.from({ length: CUSTOMERS }, (_, i) => () => tx(db, tables, `${run}-base-${i}`)), CONCURRENCY);
      const baseSeconds = (performance.now() - t0) / 1000;

      const before = metrics.counts.JourneySteps ?? 0;
      const t1 = performance.now();
      const latencies = await pool(due.map((body) => () => ingest(body)), CONCURRENCY);
      const seconds = (performance.now() - t1) / 1000;
      const rate = CUSTOMERS / seconds;
      const baseRate = CUSTOMERS / baseSeconds;
      console.log(`baseline   5-item TransactWriteItems: ${fmt(baseRate)} /s · p50 ${fmt(percentile(baseLatencies, 50), 1)} ms · p99 ${fmt(percentile(baseLatencies, 99), 1)} ms`);
      console.log(`baton      timer fire → step decision (cached position, leave wait, arbitrate send, commit): ${fmt(rate)} /s · p50 ${fmt(percentile(latencies, 50), 1)} ms · p99 ${fmt(percentile(latencies, 99), 1)} ms`);
      console.log(`ratio      ${fmt(rate / baseRate, 2)} × the baseline rate (goal ≥ 0.8) · steps ${fmt((metrics.counts.JourneySteps ?? 0) - before)} · messages ${fmt(metrics.counts.MessagesQueued ?? 0)} · conflicts ${fmt(metrics.counts.CommitConflicts ?? 0)}`);
      db.destroy();
    } finally {
      await server.stop();
    }
  },
};

function tx(db: ReturnType<typeof documentClient>, tables: ReturnType<typeof tableNames>, key: string) {
  // Keys of the baseline's own (not Baton's formats): the same tables, items of the same size.
  const put = (table: string, pk: string, sk: string, extra: Record<string, unknown>, fresh: boolean) => ({
    Put: { TableName: table, Item: { pk, sk, ...extra }, ...(fresh ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}) },
  });
  return db.send(
    new TransactWriteCommand({
      TransactItems: [
        put(tables.customers, `base-${key}`, 'profile', { version: 1, state: '{"v":1}' }, true),
        put(tables.customers, `base-evt-${key}`, 'evt', {}, true),
        put(tables.customers, `base-${key}`, 'journey-bench', { seq: 2, instance: '{}' }, true),
        put(tables.decisions, `base-dec-${key}`, 'decision', { customerId: key, candidates: [] }, false),
        put(tables.decisions, `base-dec-${key}`, 'msg-email', { customerId: key, status: 'pending' }, false),
      ],
    }),
  );
}
