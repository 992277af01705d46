// The reports workload: 200,000 decisions over 30 days for 20 campaigns, with their messages and
// feedback, loaded into DynamoDB Local (batch writes, a concurrency pool); the aggregates built by
// the rebuild; then `baton report campaign` against a scan of the decisions table that computes
// the same figures, measured in the same run (the ratio is the point).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { startDynamoDbLocal, freePort } from '../../local/servers.ts';
import { createTables } from '../../local/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { tableNames } from '../../lib/contract/tables.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { decisionItems } from '../../lib/adapters/dynamo/decisions.ts';
import { DynamoAggregates, itemKind, scanDecisionItems } from '../../lib/adapters/dynamo/aggregates.ts';
import { createReports, rebuildAggregates } from '../../lib/app/reports.ts';
import { countChange, exposureIncrements, fold, type Exposure, type Increment } from '../../lib/core/reports/aggregates.ts';
import { buildReport } from '../../lib/core/reports/report.ts';
import type { Decision } from '../../lib/core/decide.ts';
import { seededRandom } from '../../lib/core/seeded-random.ts';
import { fmt, median, passes, pool } from '../stats.ts';
import type { Workload } from '../run.ts';

const DECISIONS = Number(process.env.BENCH_REPORTS_DECISIONS ?? 200_000);
const CAMPAIGNS = 20;
const DAYS = 30;
const CONCURRENCY = 8;
const RANGE = { from: '2026-11-01', to: '2026-11-30', by: 'day' as const };

function* generate(): Generator<Record<string, unknown>> {
  const random = seededRandom(20);
  for (let n = 0; n < DECISIONS; n++) {
    const campaignId = `bench-${n % CAMPAIGNS}`;
    const customerId = `cus-${Math.floor(n / 4)}`; // each customer decided about 4 times
    const at = new Date(Date.UTC(2026, 10, 1 + (n % DAYS), 8 + (n % 12))).toISOString();
    const roll = random();
    const outcome = roll < 0.8 ? 'chosen' : roll < 0.9 ? 'holdout' : 'cap';
    const decisionId = `b-${n}`;
    const decision: Decision = {
      decisionId,
      customerId,
      eventId: `e-${n}`,
      eventType: 'baton.pos/SaleCompleted',
      at,
      candidates: [{ ruleId: `${campaignId}-email`, campaignId, priority: 1, campaignPriority: 1, channel: 'email', outcome, reason: outcome }],
      messages: outcome === 'chosen' ? [{ decisionId, customerId, ruleId: `${campaignId}-email`, campaignId, channel: 'email', template: 't', offer: `offer-${n % 5}`, transactional: false }] : [],
      setState: {},
    };
    for (const item of decisionItems(decision, new Date(at))) {
      if (itemKind(item) !== 'message') {
        yield item;
        continue;
      }
      // Feedback as it lands on the message: delivered 95 %, opened 40 %, clicked 10 %, bounced 2 %, complaints 0.2 %.
      const later = (h: number) => new Date(Date.parse(at) + h * 3_600_000).toISOString();
      const r = random();
      yield {
        ...item,
        status: 'sent',
        ...(r < 0.95 ? { deliveredAt: later(0) } : r < 0.97 ? { bouncedAt: later(0) } : {}),
        ...(r < 0.4 ? { openedAt: later(30) } : {}), // some open a day later: they count on the send's day
        ...(r < 0.1 ? { clickedAt: later(31) } : {}),
        ...(r > 0.998 ? { complainedAt: later(2) } : {}),
      };
    }
  }
}

/** The cells a scan of the whole decisions table gives for one campaign: the baseline. */
async function scanReport(db: ReturnType<typeof documentClient>, table: string, campaignId: string) {
  const increments: Increment[] = [];
  const first = new Map<string, Exposure>();
  await scanDecisionItems(
    db,
    table,
    (items) => {
      for (const item of items) {
        const counted = countChange(item);
        increments.push(...counted.increments.filter((i) => i.dimension.kind === 'campaign' && i.dimension.id === campaignId));
        for (const e of counted.exposures) if (e.campaignId === campaignId && (!first.has(e.customerId) || e.at < first.get(e.customerId)!.at)) first.set(e.customerId, e);
      }
    },
    4,
  );
  for (const e of first.values()) increments.push(...exposureIncrements(e).filter((i) => i.dimension.kind === 'campaign'));
  return buildReport({ kind: 'campaign', id: campaignId }, fold(increments), RANGE);
}

function cli(endpoint: string, ...args: string[]): Promise<{ ms: number; stdout: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [join(import.meta.dirname, '..', '..', 'bin', 'baton.js'), ...args, '--endpoint', endpoint, '--stage', 'bench'], (err, stdout, stderr) =>
      err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve({ ms: performance.now() - t0, stdout }),
    ),
  );
}

export const workload: Workload = {
  name: 'reports',
  description: `${fmt(DECISIONS)} decisions with messages and feedback on DynamoDB Local: baton report campaign against a scan computing the same figures`,
  async run() {
    const server = await startDynamoDbLocal({ port: await freePort() });
    try {
      const config = { endpoint: server.endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 10 };
      const tables = tableNames('bench');
      const raw = new DynamoDBClient(config);
      await createTables(raw, tables);
      const db = documentClient(config);

      // The loader: batches of 25, 16 in flight.
      const t0 = performance.now();
      const batches: Record<string, unknown>[][] = [];
      let batch: Record<string, unknown>[] = [];
      let items = 0;
      for (const item of generate()) {
        batch.push(item);
        items++;
        if (batch.length === 25) (batches.push(batch), (batch = []));
      }
      if (batch.length) batches.push(batch);
      await pool(
        batches.map((b) => async () => {
          let pending = b.map((Item) => ({ PutRequest: { Item } }));
          for (let attempt = 0; pending.length; attempt++) {
            try {
              const out = await db.send(new BatchWriteCommand({ RequestItems: { [tables.decisions]: pending } }));
              pending = (out.UnprocessedItems?.[tables.decisions] ?? []) as typeof pending;
            } catch (err) {
              // DynamoDB Local on a busy machine times out waiting for its lock: the batch is tried again.
              if ((err as { name?: string }).name !== 'InternalServerError' || attempt > 20) throw err;
              await new Promise((r) => setTimeout(r, 100 * (attempt + 1)));
            }
          }
        }),
        CONCURRENCY,
      );
      const loadS = (performance.now() - t0) / 1000;
      console.log(`load       ${fmt(items)} decision and message items in ${fmt(loadS, 1)} s (${fmt(items / loadS)} items/s)`);

      // The aggregates, built by the rebuild (the incremental path gives the same, test/integration/reports.test.ts).
      const t1 = performance.now();
      const rebuilt = await rebuildAggregates({ scanDecisions: (onPage) => scanDecisionItems(db, tables.decisions, onPage), aggregates: new DynamoAggregates(db, tables.aggregates) });
      console.log(`rebuild    ${fmt(rebuilt.cells)} cells from ${fmt(rebuilt.decisionItems)} items in ${fmt((performance.now() - t1) / 1000, 1)} s`);

      const campaignId = 'bench-0';
      const reports = createReports({ aggregates: new DynamoAggregates(db, tables.aggregates) });
      const fromAggregates = await passes(5, 1, async () => {
        const s = performance.now();
        const r = await reports.one('campaign', campaignId, RANGE);
        return { ms: performance.now() - s, r };
      });
      const fromScan = await passes(Number(process.env.BENCH_REPORTS_SCANS ?? 1), 0, async () => {
        const s = performance.now();
        const r = await scanReport(db, tables.decisions, campaignId);
        return { ms: performance.now() - s, r };
      });
      const sorted = (c: object) => JSON.stringify(Object.entries(c).sort(([x], [y]) => x.localeCompare(y)));
      const same = sorted(fromAggregates[0]!.r.total) === sorted(fromScan[0]!.r.total);
      const command = await passes(3, 1, () => cli(server.endpoint, 'report', 'campaign', campaignId, '--from', RANGE.from, '--to', RANGE.to, '--json'));
      const a = median(fromAggregates.map((x) => x.ms));
      const s = median(fromScan.map((x) => x.ms));
      const t = fromAggregates[0]!.r.total;
      console.log(`figures    ${campaignId}: decided ${fmt(t.decided ?? 0)} · sent ${fmt(t.sent ?? 0)} · opened ${fmt(t.opened ?? 0)} · treatment ${fmt(t.treatment ?? 0)} · control ${fmt(t.control ?? 0)} · scan gives the same: ${same ? 'yes' : 'NO'}`);
      console.log(`aggregates report read (${RANGE.from} to ${RANGE.to}, ${8} shards × 30 days): median ${fmt(a, 1)} ms`);
      console.log(`scan       the decisions table scanned and counted for the same figures: median ${fmt(s, 0)} ms`);
      console.log(`command    baton report campaign --json, the whole process (node start included): median ${fmt(median(command.map((c) => c.ms)), 0)} ms (goal < 1,000 ms)`);
      console.log(`ratio      the scan takes ${fmt(s / a, 0)} × as long as the aggregates`);
      db.destroy();
      raw.destroy();
    } finally {
      await server.stop();
    }
  },
};
