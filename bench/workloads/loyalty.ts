// The loyalty workload: sales accrued through the ledger (read the account and lots, apply the
// programme's rules, one conditional TransactWriteItems) on DynamoDB Local, next to a baseline in
// the same run: a bare loop of the same conditional transactions, built once up front.
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal, freePort } from '../../local/servers.ts';
import { createTables } from '../../local/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { tableNames } from '../../lib/contract/tables.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { DynamoLoyaltyItems } from '../../lib/adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../../lib/adapters/dynamo/loyalty.ts';
import { createLoyalty } from '../../lib/app/loyalty.ts';
import type { LedgerPosting } from '../../lib/app/ports.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { fmt, percentile, pool } from '../stats.ts';
import type { Workload } from '../run.ts';

const MEMBERS = Number(process.env.BENCH_LOYALTY_MEMBERS ?? 500);
const SALES_PER_MEMBER = Number(process.env.BENCH_LOYALTY_SALES ?? 6);
const CONCURRENCY = 16;

export const workload: Workload = {
  name: 'loyalty',
  description: `${fmt(MEMBERS * SALES_PER_MEMBER)} sales for ${fmt(MEMBERS)} members through the ledger on DynamoDB Local, ${CONCURRENCY} in flight`,
  async run() {
    const server = await startDynamoDbLocal({ port: await freePort() });
    try {
      const config = { endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 10 };
      const tables = tableNames('bench');
      await createTables(new DynamoDBClient(config), tables);
      const db = documentClient(config);
      const run = randomUUID().slice(0, 6);
      const programmeId = `bench-${run}`;
      const items = new DynamoLoyaltyItems(db, tables.ledger, { refreshMs: 60_000 });
      await items.put({
        programmeId, name: 'Bench', moneyCurrency: 'EUR', pointValue: 0.01,
        earning: [{ ruleId: 'base', when: { 'detail-type': ['SaleCompleted'] }, pointsPerUnit: 1, categoryMultipliers: { electronics: 2 } }],
        expiry: { kind: 'months', months: 12, endOfMonth: true, warnDays: 30 },
      });
      const ledger = new DynamoLoyaltyLedger(db, tables.ledger);
      const metrics = new MemoryMetrics();
      const loyalty = createLoyalty({ ledger, programmes: items, metrics });
      const members = Array.from({ length: MEMBERS }, (_, m) => `cus-${run}-${m}`);
      await pool(members.map((c) => () => loyalty.enrol(programmeId, c, '2026-11-01T00:00:00.000Z')), CONCURRENCY);
      const sale = (c: string, i: number) => {
        const at = new Date(Date.UTC(2026, 10, 2, 8, i)).toISOString();
        const lines = [{ category: i % 2 ? 'electronics' : 'grocery', quantity: 1, unitPrice: 10 + i }];
        return { saleId: `${c}-S${i}`, at, total: 10 + i, currency: 'EUR', items: lines, event: { source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { total: 10 + i } } };
      };
      // Interleaved across members, in order per member, as a partitioned stream delivers them.
      const order: (() => Promise<unknown>)[] = [];
      for (let i = 0; i < SALES_PER_MEMBER; i++) for (const c of members) order.push(() => loyalty.accrueSale(programmeId, c, sale(c, i)));

      // Baseline: the same conditional writes of an accrual (marker, balance, entry, lot, expiry pointer, counter shard), on other members.
      const baseMembers = members.map((c) => `${c}-base`);
      await pool(baseMembers.map((c) => () => ledger.enrol(programmeId, c, '2026-11-01T00:00:00.000Z')), CONCURRENCY);
      const postings: LedgerPosting[] = [];
      for (let i = 0; i < SALES_PER_MEMBER; i++) {
        for (const c of baseMembers) {
          const s = sale(c, i);
          const txId = `sale:${s.saleId}`;
          postings.push({ programmeId, customerId: c, txId, payloadHash: 'h', at: s.at, entries: [{ kind: 'accrual', txId, at: s.at, points: 10, ruleId: 'base' }], delta: 10, totals: { earned: 10 }, newLot: { lotId: txId, earnedAt: s.at, expiresAt: '2027-11-30T23:59:59.999Z', points: 10 }, takes: [], sale: { saleTxId: txId, record: { total: s.total, earned: 10, refunded: 0, reversed: 0, lotId: txId } }, events: [] });
        }
      }
      const writes = postings.map((p) => ledger.postingItems(p).items);
      await pool(Array.from({ length: 300 }, (_, i) => () => db.send(new TransactWriteCommand({ TransactItems: ledger.postingItems({ ...postings[i % postings.length]!, sale: undefined, txId: `warm-${i}`, newLot: { lotId: `warm-${i}`, earnedAt: '2026-11-02T00:00:00.000Z', points: 1 } }).items }))), CONCURRENCY);

      const t0 = performance.now();
      const baseLatencies = await pool(writes.map((w) => () => db.send(new TransactWriteCommand({ TransactItems: w }))), CONCURRENCY);
      const baseSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      const latencies = await pool(order, CONCURRENCY);
      const seconds = (performance.now() - t1) / 1000;

      const total = order.length;
      const rate = total / seconds;
      const baseRate = writes.length / baseSeconds;
      console.log(`baseline   the accrual's conditional TransactWriteItems alone: ${fmt(baseRate)} /s · p50 ${fmt(percentile(baseLatencies, 50), 1)} ms · p99 ${fmt(percentile(baseLatencies, 99), 1)} ms`);
      console.log(`baton      ledger accrual (read account and lots, rules, posting): ${fmt(rate)} transactions/s · p50 ${fmt(percentile(latencies, 50), 1)} ms · p99 ${fmt(percentile(latencies, 99), 1)} ms`);
      console.log(`ratio      ${fmt(rate / baseRate, 2)} × the baseline rate (goal ≥ 0.8) · postings ${fmt(metrics.counts.LoyaltyPostings ?? 0)} · conflicts ${fmt(metrics.counts.LoyaltyConflicts ?? 0)}`);
      db.destroy();
    } finally {
      await server.stop();
    }
  },
};
