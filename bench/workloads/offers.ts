// The offers workload: offers that learn, simulated in process (no DynamoDB). One rule offers three
// offers; customers fall in four contexts (tier gold, silver, bronze, other) whose hidden conversion
// rates differ so that no single offer is best everywhere (a context-blind learner loses). Every
// decision goes through the real decide (lib/core/decide.ts) with the real learner; the feedback goes
// through the real feedback use case's learning step (lib/app/offers.ts) into the memory store,
// arriving FEEDBACK_DELAY decisions later, and decide reads a snapshot refreshed every
// SNAPSHOT_EVERY decisions (as running functions read the table through a cache).
// Compared: an oracle that knows the rates, a fixed priority that favours the wrong offer, uniform random.
import { decide } from '../../lib/core/decide.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import { seededRandom } from '../../lib/core/seeded-random.ts';
import { createOfferLearning } from '../../lib/app/offers.ts';
import { MemoryOfferLearning } from '../../lib/adapters/memory/offers.ts';
import { fmt } from '../stats.ts';
import type { Workload } from '../run.ts';

const DECISIONS = Number(process.env.BENCH_OFFER_DECISIONS ?? 100_000);
const WARM_UP = Math.round(DECISIONS / 10);
const FEEDBACK_DELAY = 2_000;
const SNAPSHOT_EVERY = 1_000;
const TIERS = ['gold', 'silver', 'bronze', 'other'] as const;
const OFFERS = ['A', 'B', 'C'] as const;
/** Hidden conversion rates by tier, then offer. A is what the fixed priority favours: the worst on average. */
const RATES: Record<(typeof TIERS)[number], Record<(typeof OFFERS)[number], number>> = {
  gold: { A: 0.03, B: 0.09, C: 0.05 },
  silver: { A: 0.02, B: 0.04, C: 0.08 },
  bronze: { A: 0.06, B: 0.02, C: 0.03 },
  other: { A: 0.01, B: 0.05, C: 0.04 },
};

const rule = ruleSchema.parse({
  ruleId: 'renewal-offer',
  campaignId: 'renewal',
  enabled: true,
  priority: 10,
  when: { source: ['baton.crm'], 'detail-type': ['LicenceExpiring'] },
  then: {
    channel: 'email',
    template: 'renewal-offer',
    offers: OFFERS.map((offer) => ({ offer, value: 1 })),
    learn: { reward: 'converted', context: ['channel', { field: 'tier', values: ['gold', 'silver', 'bronze'] }] },
  },
});
const fixedRule = ruleSchema.parse({ ...rule, then: { ...rule.then, learn: undefined } });

interface Tally {
  all: number;
  afterWarmUp: number;
}

type Tier = (typeof TIERS)[number];
type Offer = (typeof OFFERS)[number];
/** Chooses the offer for decision i; `feedback` is told whether it converted. */
interface Policy {
  choose(i: number, tier: Tier): Promise<Offer> | Offer;
  converted?(i: number, converted: boolean): void;
  /** Feedback due by decision i arrives (late, as real sales do). */
  arrive?(i: number): Promise<void>;
}

/** The same world for every policy: the tiers and the uniform draws that decide conversions. */
async function simulate(policy: Policy): Promise<Tally> {
  const world = seededRandom(11);
  const tally: Tally = { all: 0, afterWarmUp: 0 };
  for (let i = 0; i < DECISIONS; i++) {
    await policy.arrive?.(i);
    const tier = TIERS[Math.floor(world() * TIERS.length)]!;
    const offer = await policy.choose(i, tier);
    const converted = world() < RATES[tier][offer];
    if (converted) {
      tally.all++;
      if (i >= WARM_UP) tally.afterWarmUp++;
    }
    policy.converted?.(i, converted);
  }
  return tally;
}

const NOW = new Date('2026-06-01T10:00:00Z');

/** The real decide with the real learner, fed by the real feedback step through the memory store. */
function learner(seed: number): Policy {
  const rules = new RuleSet([rule]);
  const store = new MemoryOfferLearning();
  const learning = createOfferLearning({ store, messages: store });
  const random = seededRandom(seed);
  let stats = store.snapshot();
  const sent: string[] = [];
  const sales: { due: number; decisionId: string }[] = [];
  return {
    async arrive(i) {
      while (sales.length && sales[0]!.due <= i) {
        const s = sales.shift()!;
        await learning.converted(s.decisionId, undefined, 1);
      }
      if (i % SNAPSHOT_EVERY === 0) stats = store.snapshot();
    },
    async choose(i, tier) {
      const d = decide({
        event: { id: `ev-${i}`, source: 'baton.crm', 'detail-type': 'LicenceExpiring' },
        customer: { customerId: `c${i}`, tier, consent: { email: true } },
        rules,
        now: NOW,
        learning: { stats, random },
      })!;
      store.remember(d);
      // The email went out: SES's Sent event arrives about at once.
      await learning.exposed(d.decisionId, 'email');
      sent[i] = d.decisionId;
      return d.messages[0]!.offer as Offer;
    },
    converted(i, converted) {
      if (converted) sales.push({ due: i + FEEDBACK_DELAY, decisionId: sent[i]! });
      delete sent[i - FEEDBACK_DELAY];
    },
  };
}

const bestFor = (tier: Tier): Offer => OFFERS.reduce((a, b) => (RATES[tier][b] > RATES[tier][a] ? b : a));
const oracle: Policy = { choose: (_, tier) => bestFor(tier) };
/** What decide sends when the rule does not learn: the first offer of the set, the worst on average. */
function fixedPriority(): Policy {
  const rules = new RuleSet([fixedRule]);
  return {
    choose(i, tier) {
      const d = decide({ event: { id: `ev-${i}`, source: 'baton.crm', 'detail-type': 'LicenceExpiring' }, customer: { customerId: `c${i}`, tier, consent: { email: true } }, rules, now: NOW })!;
      return d.messages[0]!.offer as Offer;
    },
  };
}
function uniform(seed: number): Policy {
  const r = seededRandom(seed);
  return { choose: () => OFFERS[Math.floor(r() * OFFERS.length)]! };
}

export const workload: Workload = {
  name: 'offers',
  description: `offers that learn: ${fmt(DECISIONS)} decisions, 3 offers × 4 contexts with hidden conversion rates, conversions ${fmt(FEEDBACK_DELAY)} decisions late, state refreshed every ${fmt(SNAPSHOT_EVERY)}`,
  async run() {
    const t0 = performance.now();
    const learned = await simulate(learner(7));
    const ms = performance.now() - t0;
    const results = { learner: learned, oracle: await simulate(oracle), 'fixed priority (wrong offer first)': await simulate(fixedPriority()), 'uniform random': await simulate(uniform(5)) };
    const after = DECISIONS - WARM_UP;
    console.log(`policy                               conversions   after warm-up (${fmt(WARM_UP)})   rate after warm-up`);
    for (const [name, t] of Object.entries(results)) {
      console.log(`${name.padEnd(36)} ${fmt(t.all).padStart(11)}   ${fmt(t.afterWarmUp).padStart(24)}   ${((t.afterWarmUp / after) * 100).toFixed(2).padStart(17)} %`);
    }
    const l = learned.afterWarmUp;
    const o = results.oracle.afterWarmUp;
    const w = results['fixed priority (wrong offer first)'].afterWarmUp;
    const u = results['uniform random'].afterWarmUp;
    const goal = (ok: boolean, text: string) => console.log(`${ok ? 'PASS' : 'MISS'} ${text}`);
    goal(l >= 0.9 * o, `learner within 10 % of the oracle after warm-up: ${((l / o) * 100).toFixed(1)} % of it`);
    goal(l >= 1.3 * w, `learner at least 1.3x the wrong fixed priority: ${(l / w).toFixed(2)}x`);
    goal(l > u, `learner better than uniform random: ${(l / u).toFixed(2)}x`);
    console.log(`learner: ${fmt(Math.round((DECISIONS / ms) * 1000))} decisions/s including feedback (${(ms / 1000).toFixed(1)} s)`);
  },
};
