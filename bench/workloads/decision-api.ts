// The decision API on the local stack: p50 and p99 of `POST /v1/decisions` over HTTP on the bus
// port (the real Lambda handler: resolve, load, rules, decide, commit the presented offer) next
// to a bare DynamoDB `GetItem` of the same customer's profile, measured in the same run. Several
// passes after a warm-up; the median pass is reported.
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalStack } from '../../local/stack.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { fmt, percentile } from '../stats.ts';
import type { Workload } from '../run.ts';

const REQUESTS = Number(process.env.BENCH_API_REQUESTS ?? 300);
const PASSES = 3;
const CUSTOMERS = 50;

async function timed(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn(i);
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out.sort((a, b) => a - b);
}

export const workload: Workload = {
  name: 'decision-api',
  description: `POST /v1/decisions on the local stack (${REQUESTS} sequential requests × ${PASSES} passes) vs a bare DynamoDB GetItem`,
  async run() {
    const stack = await startLocalStack({ busPort: 0, dynamodbPort: 0, sesPort: 0, stage: 'bench', rulesRefreshMs: 300, logLevel: 'ERROR' });
    const db = documentClient({ endpoint: stack.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const bus = new EventBridgeClient({ endpoint: stack.endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    try {
      // A rule for inbound requests (with consent and a per-rule limit, so arbitration has work).
      await db.send(
        new PutCommand({
          TableName: stack.tables.rules,
          Item: {
            pk: 'RULE#bench-web-offer',
            sk: 'CURRENT',
            version: 1,
            ruleId: 'bench-web-offer',
            campaignId: 'bench',
            enabled: true,
            priority: 10,
            when: { source: ['baton.api'], 'detail-type': ['OfferRequested'], detail: { channel: ['web'] } },
            if: { tier: ['gold'] },
            then: { channel: 'email', template: 'bench', offer: 'WEB10' },
            limit: { count: 1000, periodDays: 1 },
          },
        }),
      );
      const at = new Date().toISOString();
      for (let c = 0; c < CUSTOMERS; c += 5) {
        const entries = Array.from({ length: 5 }, (_, k) => c + k).flatMap((i) => [
          { Source: 'baton.crm', DetailType: 'CustomerUpserted', Detail: JSON.stringify({ ids: { crmId: `BENCH-${i}` }, occurredAt: at, profile: { firstName: 'B', tier: 'gold' } }), EventBusName: 'baton' },
          { Source: 'baton.crm', DetailType: 'ConsentChanged', Detail: JSON.stringify({ ids: { crmId: `BENCH-${i}` }, occurredAt: at, channel: 'email', granted: true, via: 'bench' }), EventBusName: 'baton' },
        ]);
        await bus.send(new PutEventsCommand({ Entries: entries }));
      }
      await stack.settled(60_000);
      await new Promise((r) => setTimeout(r, 700));
      const link = await db.send(new GetCommand({ TableName: stack.tables.customers, Key: { pk: 'ID#crmId#BENCH-0', sk: 'ID' } }));
      const profileKey = { pk: `CUS#${link.Item!.customerId}`, sk: 'PROFILE' };

      const url = `${stack.endpoints.bus}/v1/decisions`;
      const request = (i: number) =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ customer: { kind: 'crmId', value: `BENCH-${i % CUSTOMERS}` }, channel: 'web', context: { page: 'home' } }),
        }).then(async (res) => {
          if (res.status !== 200) throw new Error(`decision API answered ${res.status}: ${await res.text()}`);
          const body = (await res.json()) as { offers: unknown[] };
          if (body.offers.length !== 1) throw new Error(`expected one offer per request; got ${JSON.stringify(body)}`);
        });
      const getItem = () => db.send(new GetCommand({ TableName: stack.tables.customers, Key: profileKey })).then(() => undefined);

      await timed(50, request); // warm-up: caches, JIT, connections
      await timed(50, getItem);
      const api: number[][] = [];
      const base: number[][] = [];
      for (let p = 0; p < PASSES; p++) {
        base.push(await timed(REQUESTS, getItem));
        api.push(await timed(REQUESTS, request));
      }
      const medianBy = (passes: number[][], q: number) => passes.map((s) => percentile(s, q)).sort((a, b) => a - b)[Math.floor(passes.length / 2)]!;
      const [a50, a99, b50, b99] = [medianBy(api, 50), medianBy(api, 99), medianBy(base, 50), medianBy(base, 99)];
      console.log(`baseline   DynamoDB GetItem (profile, DynamoDB Local): p50 ${fmt(b50, 2)} ms · p99 ${fmt(b99, 2)} ms`);
      console.log(`baton      POST /v1/decisions (HTTP, handler, resolve + load + decide + commit): p50 ${fmt(a50, 2)} ms · p99 ${fmt(a99, 2)} ms`);
      console.log(`ratio      p50 ${fmt(a50 / b50, 1)} × GetItem · p99 ${fmt(a99 / b99, 1)} × GetItem (a decision is 2 reads + 1 three-item transaction)`);
    } finally {
      bus.destroy();
      db.destroy();
      await stack.stop();
    }
  },
};
