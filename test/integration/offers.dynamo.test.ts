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
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { batonWith, stackEnv } from '../support/cli.ts';
import { busClient, db, endpoints, eventually, profileByExternalId, tables, unique } from '../support/local.ts';

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

  it('`baton rules test` shows each offer\'s estimate and why one won, from the counts in the table', async () => {
    const work = mkdtempSync(join(tmpdir(), 'baton-offers-'));
    try {
      const ruleId = unique('renew');
      const crmId = unique('CRM-offers');
      const at = new Date().toISOString();
      const out = await busClient().send(
        new PutEventsCommand({
          Entries: [
            ['CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { firstName: 'Ola', tier: 'gold' } }],
            ['ConsentChanged', { ids: { crmId }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' }],
          ].map(([t, d]) => ({ Source: 'baton.crm', DetailType: t as string, Detail: JSON.stringify(d), EventBusName: 'baton' })),
        }),
      );
      expect(out.FailedEntryCount).toBe(0);
      await eventually('the consenting profile', async () => (JSON.stringify((await profileByExternalId('crmId', crmId))?.state ?? {}).includes('web-form') ? true : undefined));
      // What feedback taught the rule so far: RENEW10 converts gold customers far better.
      const store = new DynamoOfferLearning(db(), tables().counters);
      await store.add(`${ruleId}-a`, { ruleId, context: 'channel=email|tier=gold', offer: 'RENEW20', exposures: 1200, conversions: 18 });
      await store.add(`${ruleId}-b`, { ruleId, context: 'channel=email|tier=gold', offer: 'RENEW10', exposures: 1150, conversions: 69 });
      const rules = join(work, 'rule.json');
      writeFileSync(rules, JSON.stringify({ ruleId, campaignId: 'renewal', enabled: true, priority: 10, when: { source: ['baton.crm'], 'detail-type': ['CustomerUpserted'] }, then: { channel: 'email', template: 'renewal-offer', offers: [{ offer: 'RENEW20', value: 20 }, { offer: 'RENEW10', value: 12 }, { offer: 'RENEW-NEW', value: 15 }], learn: { reward: 'converted', context: ['channel', { field: 'tier', values: ['gold', 'silver'] }] } } }));
      const events = join(work, 'events.json');
      writeFileSync(events, JSON.stringify([{ source: 'baton.crm', 'detail-type': 'CustomerUpserted', detail: { ids: { crmId }, occurredAt: at, profile: { tier: 'gold' } } }]));
      const run = await batonWith(stackEnv(endpoints()), 'rules', 'test', rules, '--events', events, '--stage', 'test');
      console.log(run.stdout);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('offers in channel=email|tier=gold (Thompson sampling: draw × value):');
      expect(run.stdout).toMatch(/RENEW20 +value +20 +18\/1200/);
      expect(run.stdout).toMatch(/RENEW10 +value +12 +69\/1150/);
      expect(run.stdout).toMatch(/RENEW-NEW +value +15 +0\/0/);
      expect(run.stdout).toContain('← sent');
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
