// The state workload: 20,000 generated events for 2,000 customers applied through the real ingest
// path on DynamoDB Local, next to a baseline measured in the same run: a plain loop of 3-item
// TransactWriteItems at the same concurrency (the floor of what one event's commit costs).
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal, freePort } from '../../local/servers.ts';
import { createTables } from '../../local/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { tableNames } from '../../lib/contract/tables.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { DynamoCustomerRepository, customerKey, idItemKey, markerKey } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { CachingCustomerRepository } from '../../lib/adapters/caching.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { createIngest } from '../../lib/app/ingest.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { fmt, percentile, pool } from '../stats.ts';
import type { Workload } from '../run.ts';

const CUSTOMERS = Number(process.env.BENCH_STATE_CUSTOMERS ?? 2_000);
const EVENTS_PER_CUSTOMER = 10;
const CONCURRENCY = 16;

function events(run: string): string[][] {
  // Per customer: created by the CRM, then sales, device reports and consent in any order.
  return Array.from({ length: CUSTOMERS }, (_, c) => {
    const ids = { crmId: `CRM-${run}-${c}`, loyaltyCard: `LC-${run}-${c}` };
    const at = (i: number) => new Date(Date.UTC(2026, 10, 1, 8, i)).toISOString();
    const envelope = (i: number, source: string, type: string, detail: object) =>
      JSON.stringify({ version: '0', id: `${run}-${c}-${i}`, source, 'detail-type': type, time: at(i), detail });
    return Array.from({ length: EVENTS_PER_CUSTOMER }, (_, i) => {
      if (i === 0) return envelope(i, 'baton.crm', 'CustomerUpserted', { ids, occurredAt: at(i), profile: { firstName: 'Bench', email: `b${c}@example.com`, tier: 'gold', locale: 'en' } });
      if (i % 3 === 0) return envelope(i, 'baton.crm', 'ConsentChanged', { ids: { crmId: ids.crmId }, occurredAt: at(i), channel: 'email', granted: i % 2 === 0, via: 'web-form' });
      return envelope(i, 'baton.pos', 'SaleCompleted', {
        ids: { loyaltyCard: ids.loyaltyCard }, occurredAt: at(i), saleId: `S-${c}-${i}`, storeId: 'bench-store', currency: 'EUR', total: 10 + i,
        items: [{ sku: 'SKU-1', category: 'software', quantity: 1, unitPrice: 10 + i }],
      });
    });
  });
}


export const workload: Workload = {
  name: 'state',
  description: `${fmt(CUSTOMERS * EVENTS_PER_CUSTOMER)} events for ${fmt(CUSTOMERS)} customers through ingest on DynamoDB Local, ${CONCURRENCY} in flight`,
  async run() {
    const server = await startDynamoDbLocal({ port: await freePort() });
    try {
      const config = { endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 10 };
      const tables = tableNames('bench');
      await createTables(new DynamoDBClient(config), tables);
      const db = documentClient(config);
      const run = randomUUID().slice(0, 6);
      const perCustomer = events(run);
      const total = perCustomer.length * EVENTS_PER_CUSTOMER;

      // Warm-up: the JVM's JIT and the connection pool, on throwaway items.
      const warm = Array.from({ length: 500 }, (_, i) => () => tx(db, tables, `warm-${run}-${i}`));
      await pool(warm, CONCURRENCY);

      // Baseline: a plain 3-item transaction per event (state put + marker + one more put).
      const t0 = performance.now();
      const baseLatencies = await pool(Array.from({ length: total }, (_, i) => () => tx(db, tables, `${run}-base-${i}`)), CONCURRENCY);
      const baseSeconds = (performance.now() - t0) / 1000;

      // Baton: every event through ingest. Each customer's events are interleaved with the
      // others', in order per customer, as a partitioned stream delivers them.
      const metrics = new MemoryMetrics();
      const customers = new CachingCustomerRepository(new DynamoCustomerRepository<CustomerState>(db, tables));
      const ingest = createIngest({
        customers,
        quarantine: new DynamoQuarantine(db, tables.quarantine),
        rules: { current: async () => new RuleSet([]) },
        metrics,
      });
      const order: string[] = [];
      for (let i = 0; i < EVENTS_PER_CUSTOMER; i++) for (const list of perCustomer) order.push(list[i]!);
      const t1 = performance.now();
      const latencies = await pool(order.map((body) => () => ingest(body)), CONCURRENCY);
      const seconds = (performance.now() - t1) / 1000;

      const rate = total / seconds;
      const baseRate = total / baseSeconds;
      console.log(`baseline   3-item TransactWriteItems: ${fmt(baseRate)} /s · p50 ${fmt(percentile(baseLatencies, 50), 1)} ms · p99 ${fmt(percentile(baseLatencies, 99), 1)} ms`);
      console.log(`baton      ingest (validate, identity, reduce, decide, commit): ${fmt(rate)} events/s · p50 ${fmt(percentile(latencies, 50), 1)} ms · p99 ${fmt(percentile(latencies, 99), 1)} ms`);
      console.log(`ratio      ${fmt(rate / baseRate, 2)} × the baseline rate (goal ≥ 0.8) · applied ${fmt(metrics.counts.EventsApplied ?? 0)} · conflicts ${fmt(metrics.counts.CommitConflicts ?? 0)} · cache hits ${fmt(customers.stats.profileHits)}`);
      db.destroy();
    } finally {
      await server.stop();
    }
  },
};

function tx(db: ReturnType<typeof documentClient>, tables: ReturnType<typeof tableNames>, key: string) {
  return db.send(
    new TransactWriteCommand({
      TransactItems: [
        { Put: { TableName: tables.customers, Item: { ...customerKey(`baseline-${key}`), version: 1, state: '{"v":1}' }, ConditionExpression: 'attribute_not_exists(pk)' } },
        { Put: { TableName: tables.customers, Item: { ...markerKey(`baseline-${key}`) }, ConditionExpression: 'attribute_not_exists(pk)' } },
        { Put: { TableName: tables.customers, Item: { ...idItemKey(`baseline#${key}`), customerId: key } } },
      ],
    }),
  );
}
