// Offers that learn on DynamoDB Local (docs/offers.md): a learning rule's decision is written as
// decide-and-commit writes it; feedback through the real outbox and feedback use case credits the
// offer once per message (replays add nothing); the counts are spread over shards and summed by the
// cached reader that decide reads.
import { describe, expect, it } from 'vitest';
import { BatchWriteCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { decisionItems, DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import { CachedOfferStats, DynamoOfferLearning, OFFER_SHARDS, offerShardKey } from '../../lib/adapters/dynamo/offers.ts';
import { createFeedback } from '../../lib/app/feedback.ts';
import { createOfferLearning } from '../../lib/app/offers.ts';
import { decide } from '../../lib/core/decide.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import { seededRandom } from '../../lib/core/seeded-random.ts';
import type { BatonEvent } from '../../events/catalog.ts';
import { db, tables, unique } from '../support/local.ts';

describe('offers that learn on DynamoDB', () => {
  it('credits exposure, click and sale once each, on sharded counters the cached reader sums', async () => {
    const client = db();
    const names = tables();
    const ruleId = unique('learn');
    const rule = ruleSchema.parse({
      ruleId,
      campaignId: 'offers-test',
      enabled: true,
      priority: 1,
      when: { source: ['baton.crm'] },
      then: { channel: 'email', template: 'renewal-offer', offers: [{ offer: 'RENEW20', value: 20 }, { offer: 'RENEW10', value: 12 }], learn: { reward: 'clicked', context: [{ field: 'tier', values: ['gold'] }] } },
    });
    const rules = new RuleSet([rule]);
    const store = new DynamoOfferLearning(client, names.counters);
    const stats = new CachedOfferStats(store, { current: async () => rules });
    const outbox = new DynamoDecisionStore(client, names.decisions);
    const learning = createOfferLearning({ store, messages: outbox });
    const feedback = createFeedback({ outbox, learning });

    // A decision on the (empty) learning state, written as the commit writes it.
    const now = new Date();
    const d = decide({ event: { id: unique('ev'), source: 'baton.crm', 'detail-type': 'ProfileUpdated' }, customer: { customerId: unique('cus'), tier: 'gold', consent: { email: true } }, rules, now, learning: { stats: await stats.current(), random: seededRandom(4) } })!;
    const m = d.messages[0]!;
    expect(m.offerContext).toBe('channel=email|tier=gold');
    await client.send(new BatchWriteCommand({ RequestItems: { [names.decisions]: decisionItems(d, now).map((Item) => ({ PutRequest: { Item } })) } }));

    // Sent, delivered, clicked twice (a replay), and a sale attributed to it twice.
    const at = now.toISOString();
    for (const field of ['sentAt', 'deliveredAt', 'clickedAt', 'clickedAt'] as const) {
      const f = { decisionId: d.decisionId, channel: 'email' as const, field, at };
      await learning.message(f, await outbox.recordFeedback(f));
    }
    const attributed = { id: unique('attributed'), source: 'baton.loyalty', 'detail-type': 'SaleAttributed', time: at, detail: { programmeId: '-', customerId: d.customerId, saleId: 'S1', decisionId: d.decisionId, campaignId: 'offers-test', offer: m.offer, touch: 'email', revenue: 49.5, currency: 'EUR', occurredAt: at } } as unknown as BatonEvent;
    await feedback(attributed);
    await feedback(attributed);

    const counts = (await store.read([ruleId])).counts(ruleId, m.offerContext!, m.offer!);
    expect(counts).toEqual({ exposures: 1, clicks: 1, conversions: 1, revenue: 49.5 });

    // Many writes to one offer land on several shards, and the reader sums them.
    for (let i = 0; i < 24; i++) await store.add(`${ruleId}-bulk-${i}`, { ruleId, context: 'channel=email|tier=other', offer: 'RENEW10', exposures: 1 });
    const used = await Promise.all(
      Array.from({ length: OFFER_SHARDS }, async (_, s) => (await client.send(new QueryCommand({ TableName: names.counters, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': offerShardKey(ruleId, s) } }))).Items?.length ?? 0),
    );
    expect(used.filter((n) => n > 0).length).toBeGreaterThan(1);
    const fresh = new CachedOfferStats(store, { current: async () => rules });
    expect((await fresh.current()).counts(ruleId, 'channel=email|tier=other', 'RENEW10')).toEqual({ exposures: 24, clicks: 0, conversions: 0, revenue: 0 });
  });
});
