// Offers that learn (docs/offers.md): the offer set's checks at write, the context key, the
// Thompson choice with a seeded random source, what the explanation shows, and feedback crediting
// each response once.
import { describe, expect, it } from 'vitest';
import { decide } from '../../lib/core/decide.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { checkRule, ruleSchema, type RuleInput } from '../../lib/core/rules/rule.ts';
import { contextKey, OfferCountsTable, sampleBeta } from '../../lib/core/offers/offers.ts';
import { seededRandom } from '../../lib/core/seeded-random.ts';
import { businessContext } from '../../lib/core/context/index.ts';
import { createOfferLearning } from '../../lib/app/offers.ts';
import { MemoryOfferLearning } from '../../lib/adapters/memory/offers.ts';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const base: RuleInput = {
  ruleId: 'renew',
  campaignId: 'renewal',
  enabled: true,
  priority: 10,
  when: { source: ['baton.crm'] },
  then: {
    channel: 'email',
    template: 'renewal-offer',
    offers: [
      { offer: 'RENEW20', value: 20 },
      { offer: 'RENEW10', value: 12 },
    ],
    learn: { reward: 'converted', context: ['channel', { field: 'tier', values: ['gold', 'silver'] }] },
  },
};
const event = { id: 'ev-1', source: 'baton.crm', 'detail-type': 'ProfileUpdated' };
const gold = { customerId: 'cus-1', tier: 'gold', consent: { email: true } };

describe('the offer set at write', () => {
  const reason = (then: Record<string, unknown>) => {
    const c = checkRule({ ...base, then: { channel: 'email', template: 't', ...then } });
    return c.ok ? 'ok' : c.reason;
  };
  it('accepts the set and keeps a single offer working', () => {
    expect(checkRule(base).ok).toBe(true);
    expect(reason({ offer: 'SPRING' })).toBe('ok');
  });
  it('names the field and what was expected', () => {
    expect(reason({ offer: 'X', offers: [{ offer: 'A' }, { offer: 'B' }] })).toBe('then.offers: give either "offer" or "offers", not both');
    expect(reason({ learn: { reward: 'clicked' } })).toBe('then.learn: "learn" needs a set of "offers" to choose from');
    expect(reason({ offers: [{ offer: 'A' }, { offer: 'A' }] })).toBe('then.offers: each offer code at most once');
    expect(reason({ offers: [{ offer: 'A' }] })).toMatch(/^then\.offers: /);
    expect(reason({ offers: [{ offer: 'A' }, { offer: 'B', value: -1 }] })).toMatch(/^then\.offers\.1\.value: /);
    expect(reason({ offers: [{ offer: 'A' }, { offer: 'B' }], learn: { reward: 'likes' } })).toMatch(/^then\.learn\.reward: /);
    expect(reason({ offers: [{ offer: 'A' }, { offer: 'B' }], learn: { reward: 'clicked', context: [{ field: 'tier' }] } })).toMatch(/^then\.learn\.context\.0: /);
  });
});

describe('the context', () => {
  const learn = ruleSchema.parse({ ...base, then: { ...base.then, learn: { reward: 'clicked', context: [{ field: 'tier', values: ['gold'] }, { name: 'big-spender', if: { lifetimeSpend: [{ numeric: ['>=', 500] }] } }] } } }).then;
  it('keys listed values, `other` for the rest, and named patterns as yes/no: never customer data', () => {
    if (learn.channel === 'bus' || learn.channel === 'call') throw new Error('unreachable');
    expect(contextKey('email', learn.learn, { tier: 'gold', lifetimeSpend: 800 })).toBe('channel=email|tier=gold|big-spender=yes');
    expect(contextKey('email', learn.learn, { tier: 'a@example.com', lifetimeSpend: 1 })).toBe('channel=email|tier=other|big-spender=no');
  });
});

describe('the choice', () => {
  const rules = new RuleSet([ruleSchema.parse(base)]);
  it('without learning state the first offer of the set wins, and the message carries no context', () => {
    const d = decide({ event, customer: gold, rules, now: NOW })!;
    expect(d.messages[0]).toMatchObject({ offer: 'RENEW20' });
    expect(d.messages[0]!.offerContext).toBeUndefined();
    expect(d.candidates[0]!.offers).toMatchObject({ method: 'priority', offer: 'RENEW20' });
  });

  it('samples the Beta posterior reproducibly and favours the offer with the higher expected value', () => {
    const stats = new OfferCountsTable();
    // RENEW20: 1 % of 2,000 (0.2 per send); RENEW10: 5 % of 2,000 (0.6 per send).
    stats.add('renew', 'channel=email|tier=gold', 'RENEW20', { exposures: 2000, conversions: 20 });
    stats.add('renew', 'channel=email|tier=gold', 'RENEW10', { exposures: 2000, conversions: 100 });
    const pick = (seed: number) => {
      const random = seededRandom(seed);
      return Array.from({ length: 200 }, (_, i) => decide({ event: { ...event, id: `e${i}` }, customer: gold, rules, now: NOW, learning: { stats, random } })!.messages[0]!.offer);
    };
    expect(pick(3)).toEqual(pick(3));
    expect(pick(3).filter((o) => o === 'RENEW10').length).toBeGreaterThan(190);
    const d = decide({ event, customer: gold, rules, now: NOW, learning: { stats, random: seededRandom(1) } })!;
    const choice = d.candidates[0]!.offers!;
    expect(choice.method).toBe('thompson');
    expect(choice.context).toBe('channel=email|tier=gold');
    expect(choice.arms.map((a) => [a.offer, a.exposures, a.responses, a.mean])).toEqual([
      ['RENEW20', 2000, 20, 0.01049],
      ['RENEW10', 2000, 100, 0.05045],
    ]);
    expect(d.messages[0]).toMatchObject({ offer: 'RENEW10', offerContext: 'channel=email|tier=gold' });
    expect(d.candidates[0]!.reason).toContain('offer RENEW10: RENEW10 drew the highest expected value');
  });

  it('explores a new offer: with no counts both are drawn', () => {
    const random = seededRandom(9);
    const stats = new OfferCountsTable();
    const offers = Array.from({ length: 200 }, (_, i) => decide({ event: { ...event, id: `e${i}` }, customer: gold, rules, now: NOW, learning: { stats, random } })!.messages[0]!.offer);
    expect(new Set(offers)).toEqual(new Set(['RENEW20', 'RENEW10']));
  });

  it('leaves out an offer whose SKU no location has', () => {
    const withSku = new RuleSet([ruleSchema.parse({ ...base, then: { ...base.then, offers: [{ offer: 'RENEW20', value: 20, sku: 'SKU-1' }, { offer: 'RENEW10', value: 12 }] } })]);
    const context = businessContext([{ kind: 'inventory', sku: 'SKU-1', location: 'w1', available: 0, at: NOW.toISOString() }], NOW);
    const d = decide({ event, customer: gold, rules: withSku, now: NOW, context })!;
    expect(d.messages[0]!.offer).toBe('RENEW10');
  });

  it('Beta draws have the posterior mean', () => {
    const random = seededRandom(42);
    const draws = Array.from({ length: 4000 }, () => sampleBeta(3, 7, random));
    expect(draws.reduce((a, b) => a + b, 0) / draws.length).toBeCloseTo(0.3, 1);
  });
});

describe('feedback credits each response once', () => {
  it('an exposure at the first proof of sending, a click at the first click, a conversion with its revenue', async () => {
    const store = new MemoryOfferLearning();
    const learning = createOfferLearning({ store, messages: store });
    const d = decide({ event, customer: gold, rules: new RuleSet([ruleSchema.parse(base)]), now: NOW, learning: { stats: store.snapshot(), random: seededRandom(1) } })!;
    store.remember(d);
    const m = d.messages[0]!;
    const at = NOW.toISOString();
    for (const field of ['sentAt', 'deliveredAt', 'clickedAt', 'clickedAt'] as const) await learning.message({ decisionId: d.decisionId, channel: 'email', field, at }, m);
    await learning.converted(d.decisionId, m.offer, 49.5);
    await learning.converted(d.decisionId, m.offer, 49.5); // the same sale, replayed
    expect(store.snapshot().counts('renew', m.offerContext!, m.offer!)).toEqual({ exposures: 1, clicks: 1, conversions: 1, revenue: 49.5 });
    // A message of a rule that does not learn is not counted.
    await learning.message({ decisionId: 'dec-other', channel: 'email', field: 'clickedAt', at }, { ruleId: 'x', channel: 'email', offer: 'SPRING' });
    expect([...store.snapshot().entries()]).toHaveLength(1);
  });
});
