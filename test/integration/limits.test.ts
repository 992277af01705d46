// Concurrent deciders on one customer and one campaign, through the real ingest path and the real
// DynamoDB commit (DynamoDB Local): however they interleave, no cap is passed and no budget is
// overspent. Each run moves the clock on 8 days, so the previous runs' contacts leave the cap
// windows and one customer serves 40 runs (then a fresh one keeps the state small); each run has
// its own campaign and budget counter. A second property puts many customers on one campaign, so only
// the counters order them.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { createIngest } from '../../lib/app/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import type { CustomerRepository } from '../../lib/app/ports.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import { campaignSchema, StaticCampaignBook, type CampaignInput } from '../../lib/core/campaigns/campaign.ts';
import { sharedLimits } from '../../lib/core/campaigns/reservations.ts';
import { counterKey } from '../../lib/adapters/dynamo/counters.ts';
import { policySchema } from '../../lib/core/campaigns/policy.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { db, tables, unique } from '../support/local.ts';
import { sized } from '../support/depth.ts';

/** Property runs per lane: CI's budget in `npm test`, the full 504 interleavings with BATON_TEST_DEPTH=full. */
const RUNS_PER_LANE = sized(24, 63);

const DAY = 86_400_000;
const BASE = Date.parse('2030-01-01T12:00:00Z');

describe('limits under concurrency', () => {
  const store = unique('limits-store');
  let repo: DynamoCustomerRepository<CustomerState>;
  let client: ReturnType<typeof db>;

  const deps = (campaignBook: StaticCampaignBook, ruleSet: RuleSet, at: number) => ({
    customers: repo,
    quarantine: { put: async () => undefined, withdraw: async () => undefined },
    rules: { current: async () => ruleSet },
    campaigns: { current: async () => campaignBook },
    metrics: { count: () => undefined },
    clock: () => new Date(at),
    // Short random pauses between retries keep the interleavings varied without slowing the run.
    sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 3) * Math.random())),
    maxAttempts: 30,
  });
  const ev = (detailType: string, detail: Record<string, unknown>, at: number) =>
    JSON.stringify({
      version: '0',
      id: randomUUID(),
      source: detailType === 'SaleCompleted' ? 'baton.pos' : 'baton.crm',
      'detail-type': detailType,
      account: '123456789012',
      time: new Date(at).toISOString(),
      region: 'eu-west-1',
      resources: [],
      detail: { occurredAt: new Date(at).toISOString(), ...detail },
    });

  beforeAll(() => {
    // One client for the whole run: a new one per call would pay a fresh connection each time.
    client = db();
    repo = new DynamoCustomerRepository<CustomerState>(client, tables());
  });

  async function freshCustomer(): Promise<string> {
    const card = unique('LC-limits');
    const setup = createIngest(deps(new StaticCampaignBook(), new RuleSet([]), BASE - DAY));
    await setup(ev('CustomerUpserted', { ids: { loyaltyCard: card }, profile: { locale: 'en' } }, BASE - DAY));
    const consent = await setup(ev('ConsentChanged', { ids: { loyaltyCard: card }, channel: 'email', granted: true, via: 'web-form' }, BASE - DAY));
    expect(consent.status).toBe('applied');
    return card;
  }

  it(`never passes a cap or a budget, over ${8 * RUNS_PER_LANE} interleavings of 2-3 parallel deciders (property)`, async () => {
    // What each run did; the stored contacts and counters are checked in bulk, to keep the run short.
    const runs: { at: string; cap: number; budget: number; campaignId: string; sent: number; customerId: string }[] = [];
    // Eight independent loops (own customer, own instants) run side by side: 8 × 24 interleavings in
    // `npm test`, 8 × 63 = 504 with BATON_TEST_DEPTH=full (test/support/depth.ts).
    // Each run waits mostly on DynamoDB round trips and retry pauses, so more lanes finish sooner.
    const loop = async (lane: number) => {
      let run = 0;
      let card = '';
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 2, max: 3 }),
          fc.integer({ min: 1, max: 3 }),
          fc.integer({ min: 1, max: 3 }),
          fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }),
          async (deciders, cap, budget, delays) => {
            if (run % 40 === 0) card = await freshCustomer();
            const at = BASE + (lane * 1000 + ++run) * 8 * DAY;
            const campaignId = `lim-${randomUUID().slice(0, 12)}`;
            const ruleSet = new RuleSet([
              ruleSchema.parse({
                ruleId: 'limits-thanks',
                campaignId,
                enabled: true,
                priority: 10,
                when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
                then: { channel: 'email', template: 'thanks' },
              }),
            ]);
            const book = new StaticCampaignBook(
              [campaignSchema.parse({ campaignId, policyId: 'limits', budget: { unit: 'messages', limit: budget } })],
              [policySchema.parse({ policyId: 'limits', caps: { email: { perDay: cap } } })],
            );
            // Each decider is its own ingest, as separate Lambda instances are.
            const outcomes = await Promise.all(
              Array.from({ length: deciders }, async (_, i) => {
                await new Promise((r) => setTimeout(r, delays[i]!));
                const sale = ev('SaleCompleted', { ids: { loyaltyCard: card }, saleId: unique('S'), storeId: store, items: [{ sku: 'X', category: 'c', quantity: 1, unitPrice: 5 }], total: 5, currency: 'EUR' }, at);
                return createIngest(deps(book, ruleSet, at))(sale);
              }),
            );
            const first = outcomes[0]!;
            expect(outcomes.every((o) => o.status === 'applied')).toBe(true);
            const sent = outcomes.reduce((n, o) => n + (o.status === 'applied' ? o.messages : 0), 0);
            runs.push({ at: new Date(at).toISOString(), cap, budget, campaignId, sent, customerId: first.status === 'applied' ? first.customerId : '' });
            // Both limits are reachable, so every run sends exactly the smallest of the three.
            expect(sent).toBe(Math.min(cap, budget, deciders));
          },
        ),
        { numRuns: RUNS_PER_LANE, seed: 500 + lane },
      );
    };
    await Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(loop));

    // Contacts recorded in each customer's state, per run (each run has its own instant).
    const recorded = new Map<string, number>();
    for (const customerId of new Set(runs.map((r) => r.customerId))) {
      const profile = await repo.load(customerId);
      for (const c of profile!.state.contacts) if (c.sentAt) recorded.set(c.sentAt, (recorded.get(c.sentAt) ?? 0) + 1);
    }
    // Budget counters, 100 per request.
    const used = new Map<string, number>();
    for (let i = 0; i < runs.length; i += 100) {
      const keys = runs.slice(i, i + 100).map((r) => counterKey(sharedLimits.budget(r.campaignId)));
      const out = await client.send(new BatchGetCommand({ RequestItems: { [tables().counters]: { Keys: keys, ConsistentRead: true } } }));
      for (const item of out.Responses?.[tables().counters] ?? []) used.set(String(item.pk), Number(item.used));
    }
    const capBreaches = runs.filter((r) => r.sent > r.cap || (recorded.get(r.at) ?? 0) > r.cap || (recorded.get(r.at) ?? 0) !== r.sent).length;
    const overspent = runs.filter((r) => {
      const u = used.get(counterKey(sharedLimits.budget(r.campaignId)).pk) ?? 0;
      return u > r.budget || u !== r.sent;
    }).length;
    expect({ runs: runs.length, capBreaches, overspent }).toEqual({ runs: 8 * RUNS_PER_LANE, capBreaches: 0, overspent: 0 });
  }, 900_000);

  it('holds one campaign\'s budget and capacity across many customers deciding at once (property)', async () => {
    // Each decider is another customer, so no profile version orders them: only the counters do.
    const pool = await Promise.all(Array.from({ length: 8 }, () => freshCustomer()));
    const limitsArb = fc.record({
      budget: fc.oneof(
        fc.constant(undefined),
        fc.record({ unit: fc.constant('messages' as const), limit: fc.integer({ min: 0, max: 6 }) }),
        // Costs above the whole budget included: such a claim never fits.
        fc.record({ unit: fc.constant('money' as const), limit: fc.integer({ min: 0, max: 1500 }), cost: fc.integer({ min: 1, max: 1600 }) }),
      ),
      capacity: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
    }).filter((l) => l.budget !== undefined || l.capacity !== undefined);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(fc.nat(pool.length - 1), { minLength: 2, maxLength: pool.length }), limitsArb, async (deciders, { budget, capacity }) => {
        const at = BASE + 3_000 * 8 * DAY + ++run * DAY;
        const campaignId = `many-${randomUUID().slice(0, 12)}`;
        const ruleSet = new RuleSet([
          ruleSchema.parse({
            ruleId: 'many-thanks', campaignId, enabled: true, priority: 10,
            when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
            then: { channel: 'email', template: 'thanks' },
          }),
        ]);
        const book = new StaticCampaignBook([
          campaignSchema.parse({
            campaignId,
            ...(budget?.unit === 'messages' ? { budget } : {}),
            ...(budget?.unit === 'money' ? { budget: { unit: 'money', limit: budget.limit, costPerMessage: { email: budget.cost } } } : {}),
            ...(capacity === undefined ? {} : { capacityPerHour: { email: capacity } }),
          }),
        ]);
        const outcomes = await Promise.all(
          deciders.map((k) => {
            const sale = ev('SaleCompleted', { ids: { loyaltyCard: pool[k]! }, saleId: unique('S'), storeId: store, items: [{ sku: 'X', category: 'c', quantity: 1, unitPrice: 5 }], total: 5, currency: 'EUR' }, at);
            return createIngest(deps(book, ruleSet, at))(sale);
          }),
        );
        expect(outcomes.every((o) => o.status === 'applied')).toBe(true);
        const sent = outcomes.reduce((n, o) => n + (o.status === 'applied' ? o.messages : 0), 0);
        const fits = budget === undefined ? Infinity : budget.unit === 'messages' ? budget.limit : Math.floor(budget.limit / budget.cost);
        expect(sent).toBe(Math.min(deciders.length, fits, capacity ?? Infinity));
        const used = async (Key: { pk: string; sk: string }) =>
          (await client.send(new GetCommand({ TableName: tables().counters, Key, ConsistentRead: true }))).Item?.used as number | undefined;
        if (budget) expect(await used(counterKey(sharedLimits.budget(campaignId)))).toBe(sent === 0 ? undefined : sent * (budget.unit === 'money' ? budget.cost : 1));
        if (capacity !== undefined) expect(await used(counterKey(sharedLimits.capacity(campaignId, 'email', at)))).toBe(sent === 0 ? undefined : sent);
      }),
      { numRuns: 40, seed: 4_242 },
    );
  }, 900_000);
});

// A limit no message fits: the first claim on a counter that does not exist yet must be refused too.
describe('limits that no message fits', () => {
  const at = Date.parse('2030-06-01T12:00:00Z');
  const cases: { name: string; campaign: Omit<CampaignInput, 'campaignId'>; outcome: 'budget' | 'capacity' }[] = [
    { name: 'a budget of 0 messages', campaign: { budget: { unit: 'messages', limit: 0 } }, outcome: 'budget' },
    { name: 'a money budget of 100 with a message costing 500', campaign: { budget: { unit: 'money', limit: 100, costPerMessage: { email: 500 } } }, outcome: 'budget' },
    { name: 'an hourly capacity of 0', campaign: { capacityPerHour: { email: 0 } }, outcome: 'capacity' },
  ];

  /** One customer with email consent, then one sale the campaign's rule answers; what was queued. */
  async function saleUnder(customers: CustomerRepository<CustomerState>, campaign: CampaignInput) {
    const ruleSet = new RuleSet([
      ruleSchema.parse({
        ruleId: 'no-room', campaignId: campaign.campaignId, enabled: true, priority: 10,
        when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] },
        then: { channel: 'email', template: 'thanks' },
      }),
    ]);
    const ingest = createIngest({
      customers,
      quarantine: { put: async () => undefined, withdraw: async () => undefined },
      rules: { current: async () => ruleSet },
      campaigns: { current: async () => new StaticCampaignBook([campaignSchema.parse(campaign)]) },
      metrics: { count: () => undefined },
      clock: () => new Date(at),
      sleep: async () => undefined,
    });
    const card = unique('LC-noroom');
    const body = (type: string, detail: Record<string, unknown>) =>
      JSON.stringify({
        version: '0', id: randomUUID(), source: type === 'SaleCompleted' ? 'baton.pos' : 'baton.crm', 'detail-type': type,
        account: '123456789012', time: new Date(at).toISOString(), region: 'eu-west-1', resources: [],
        detail: { ids: { loyaltyCard: card }, occurredAt: new Date(at).toISOString(), ...detail },
      });
    expect((await ingest(body('ConsentChanged', { channel: 'email', granted: true, via: 'web-form' }))).status).toBe('applied');
    const sale = await ingest(body('SaleCompleted', { saleId: unique('S'), storeId: 'st', total: 5, currency: 'EUR', items: [{ sku: 'X', category: 'c', quantity: 1, unitPrice: 5 }] }));
    expect(sale.status).toBe('applied');
    return sale as Extract<typeof sale, { status: 'applied' }>;
  }

  it.each(cases)('$name sends nothing on DynamoDB Local, as in memory', async ({ campaign, outcome }) => {
    const campaignId = `noroom-${randomUUID().slice(0, 8)}`;
    const memory = await saleUnder(new MemoryCustomerRepository<CustomerState>(), { campaignId, ...campaign });
    expect(memory.messages).toBe(0);

    const client = db();
    const dynamo = await saleUnder(new DynamoCustomerRepository<CustomerState>(client, tables()), { campaignId, ...campaign });
    expect(dynamo.messages).toBe(0);
    const stored = await new DynamoDecisionStore(client, tables().decisions).decision(dynamo.decisionId!);
    expect((stored!.decision.candidates as { outcome: string }[]).map((c) => c.outcome)).toEqual([outcome]);
    expect(stored!.messages).toEqual([]);
    // Nothing was claimed: the counter item was never written.
    const claimed = [counterKey(sharedLimits.budget(campaignId)), counterKey(sharedLimits.capacity(campaignId, 'email', at))];
    for (const Key of claimed) expect((await client.send(new GetCommand({ TableName: tables().counters, Key, ConsistentRead: true }))).Item).toBeUndefined();
  });
});
