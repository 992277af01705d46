// The runs workload: an outbound run over a segment of BENCH_RUN_CUSTOMERS customers (default 4,000)
// on DynamoDB Local: membership paged bucket by bucket, each member read and decided through the
// decision step, the marker, profile, decision, outbox message and the run's count committed in one
// transaction. Baseline in the same run: a bare loop that pages the same membership the same way
// (4 buckets at once, 8 members of a page at once) and commits one transaction per customer.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal, freePort } from '../../local/servers.ts';
import { createTables } from '../../local/tables.ts';
import { seedSegmentMembers } from '../../local/seed.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { tableNames } from '../../lib/contract/tables.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { DynamoRunMembers } from '../../lib/adapters/dynamo/run-members.ts';
import { ruleKey } from '../../lib/adapters/dynamo/rules.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { createRuns } from '../../lib/app/runs.ts';
import { runDeps } from '../../lib/wiring/runs.ts';
import { fmt } from '../stats.ts';
import type { Workload } from '../run.ts';

const CUSTOMERS = Number(process.env.BENCH_RUN_CUSTOMERS ?? 4_000);
const BUCKETS_AT_ONCE = 4;
const PER_PAGE_AT_ONCE = 8;
const PAGE = 100;

export const workload: Workload = {
  name: 'runs',
  description: `an outbound run over ${fmt(CUSTOMERS)} segment members on DynamoDB Local against a bare loop paging the same membership, one transaction per customer`,
  async run() {
    const server = await startDynamoDbLocal({ port: await freePort() });
    try {
      const config = { endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 10 };
      const tables = tableNames('bench');
      await createTables(new DynamoDBClient(config), tables);
      const db = documentClient(config);
      const zones = ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'];
      const customers = Array.from({ length: CUSTOMERS }, (_, i) => ({ customerId: `c${i}`, email: `c${i}@example.com`, timeZone: zones[i % zones.length]! }));
      await seedSegmentMembers(db, tables, 'gold', customers, new Date());
      await db.send(new PutCommand({ TableName: tables.rules, Item: { ...ruleKey('bench-email'), version: 1, ruleId: 'bench-email', campaignId: 'bench', enabled: true, priority: 1, when: { source: ['baton.runs'] }, then: { channel: 'email', template: 'bench' } } }));
      const members = new DynamoRunMembers(db, tables);

      // Baseline: the same pages, one 5-item transaction per member (keys of its own, the same tables).
      const t0 = performance.now();
      const buckets = Array.from({ length: members.buckets }, (_, b) => b);
      await Promise.all(
        Array.from({ length: BUCKETS_AT_ONCE }, async () => {
          for (let b = buckets.shift(); b !== undefined; b = buckets.shift()) {
            let cursor: string | undefined;
            do {
              const page = await members.page('gold', b, cursor, PAGE);
              const ids = [...page.customerIds];
              await Promise.all(Array.from({ length: PER_PAGE_AT_ONCE }, async () => {
                for (let id = ids.shift(); id; id = ids.shift()) await tx(db, tables, id);
              }));
              cursor = page.cursor;
            } while (cursor);
          }
        }),
      );
      const baseRate = CUSTOMERS / ((performance.now() - t0) / 1000);

      const metrics = new MemoryMetrics();
      const settings = { tables, aws: { region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, endpoints: { dynamodb: server.endpoint } } };
      const runs = createRuns(runDeps(settings, { port: metrics, logger: { warn: () => undefined } }, { clients: { dynamodb: () => db }, concurrency: PER_PAGE_AT_ONCE, parallelBuckets: BUCKETS_AT_ONCE, pageSize: PAGE }));
      const run = await runs.start({ campaignId: 'bench', segmentId: 'gold', at: new Date().toISOString(), rate: 100_000 });
      const t1 = performance.now();
      const done = await runs.work(run.runId);
      const rate = CUSTOMERS / ((performance.now() - t1) / 1000);
      const { counts } = await runs.status(run.runId);
      if (done?.state !== 'done' || counts.decided !== CUSTOMERS) throw new Error(`run ended ${done?.state} with ${counts.decided} of ${CUSTOMERS} decided`);
      console.log(`baseline   page the membership, one 5-item TransactWriteItems per member: ${fmt(baseRate)} customers/s`);
      console.log(`baton      run: page, read the profile, arbitrate, commit marker + profile + decision + outbox + count: ${fmt(rate)} customers/s`);
      console.log(`ratio      ${fmt(rate / baseRate, 2)} × the baseline rate (goal ≥ 0.8) · sent ${fmt(counts.sent)} · deferred ${fmt(counts.deferred)} · conflicts ${fmt(metrics.counts.CommitConflicts ?? 0)}`);
      db.destroy();
    } finally {
      await server.stop();
    }
  },
};

function tx(db: ReturnType<typeof documentClient>, tables: ReturnType<typeof tableNames>, key: string) {
  const put = (table: string, pk: string, sk: string, extra: Record<string, unknown>, fresh: boolean) => ({
    Put: { TableName: table, Item: { pk, sk, ...extra }, ...(fresh ? { ConditionExpression: 'attribute_not_exists(pk)' } : {}) },
  });
  return db.send(
    new TransactWriteCommand({
      TransactItems: [
        put(tables.customers, `base-${key}`, 'profile', { version: 1, state: '{"v":1}' }, true),
        put(tables.customers, `base-evt-${key}`, 'evt', {}, true),
        put(tables.decisions, `base-dec-${key}`, 'decision', { customerId: key, candidates: [] }, false),
        put(tables.decisions, `base-dec-${key}`, 'msg-email', { customerId: key, status: 'pending' }, false),
        { Update: { TableName: tables.counters, Key: { pk: `base-count-${Math.floor(Math.random() * 32)}`, sk: 'count' }, UpdateExpression: 'ADD sent :one', ExpressionAttributeValues: { ':one': 1 } } },
      ],
    }),
  );
}
