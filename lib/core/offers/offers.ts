// Offers that learn (docs/offers.md). A rule's message may carry a set of offers instead of one; with
// `learn`, Baton keeps per offer and context the exposures and responses it saw and picks the offer
// with the highest sampled expected value (Thompson sampling: a draw from each offer's Beta
// posterior times the offer's value), so a new offer is tried and a losing one fades. Without
// `learn`, or without learning state, the set is a priority list: the first eligible offer wins.
// Pure: the random source and the counts are the caller's.
import { z } from 'zod';
import { compilePattern } from '../event-pattern/index.ts';
import { patternSchema, ITEM_ID } from '../rules/item.ts';

/** Offer codes in a set: they become part of the learning state's keys, so a plain charset. */
const CODE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const code = z.string().regex(CODE, 'letters, digits, ".", "_" or "-", at most 64');
const skuSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a SKU code of letters, digits, ".", "_" or "-"');

export const offerSchema = z
  .object({
    offer: code,
    /** What one response to the offer is worth (any unit, the same across the set); the learner maximises probability × value. */
    value: z.number().positive().max(1_000_000_000).default(1),
    /** While no location has the SKU in stock this offer is left out of the set (docs/context.md). */
    sku: skuSchema.optional(),
  })
  .strict();
export type Offer = z.infer<typeof offerSchema>;

/** What counts as a response: a click, a conversion (an attributed sale), or the attributed revenue. */
export const OFFER_REWARDS = ['clicked', 'converted', 'revenue'] as const;
export type OfferReward = (typeof OFFER_REWARDS)[number];

/**
 * One part of the learning context besides the channel (always part of it): a view field whose value
 * is one of the listed values (anything else is `other`), or a named pattern on the view (`yes`/`no`).
 * Listed values and patterns keep the contexts few and the keys free of customer data.
 */
export const contextPartSchema = z.union([
  z.literal('channel'),
  z.object({ field: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/, 'a view field name'), values: z.array(code).min(1).max(20) }).strict(),
  z.object({ name: z.string().regex(ITEM_ID, 'lower-case letters, digits and dashes, at most 64'), if: patternSchema }).strict(),
]);
export type ContextPart = z.infer<typeof contextPartSchema>;

export const learnSchema = z
  .object({
    reward: z.enum(OFFER_REWARDS),
    context: z.array(contextPartSchema).max(3).default([]),
  })
  .strict();
export type Learn = z.infer<typeof learnSchema>;

/** The offers of one rule: at least two, distinct codes, listed by priority (the first wins without learning). */
export const offerSetSchema = z
  .array(offerSchema)
  .min(2)
  .max(20)
  .refine((offers) => new Set(offers.map((o) => o.offer)).size === offers.length, 'each offer code at most once');

/**
 * What the learning state holds for one offer in one context of one rule: every kind of response is
 * counted, so a rule may change its reward without starting over.
 */
export interface OfferCounts {
  readonly exposures: number;
  readonly clicks: number;
  readonly conversions: number;
  /** Attributed revenue, in the currency's major unit. */
  readonly revenue: number;
}
export const NO_COUNTS: OfferCounts = { exposures: 0, clicks: 0, conversions: 0, revenue: 0 };

/** The learning state as decide reads it (a snapshot, at most a stated time old). */
export interface OfferStats {
  counts(ruleId: string, context: string, offer: string): OfferCounts | undefined;
}

/** Responses under a reward: clicks, or conversions (for revenue too: the value per conversion is learned). */
export const responsesOf = (c: OfferCounts, reward: OfferReward): number => (reward === 'clicked' ? c.clicks : c.conversions);

/** What decide needs to learn: the counts, and where its randomness comes from (seeded in tests). */
export interface OfferLearning {
  readonly stats: OfferStats;
  readonly random: () => number;
}

export interface OfferArm {
  readonly offer: string;
  readonly value: number;
  readonly exposures: number;
  readonly responses: number;
  /** Posterior mean of the response probability, Beta(1 + responses, 1 + exposures - responses). */
  readonly mean: number;
  /** The Thompson draw from that posterior (absent when chosen by priority). */
  readonly sampled?: number;
  /** sampled (or mean) × value per response. */
  readonly score: number;
}

/** Why an offer went out: in the decision's candidate, for `baton explain` and `rules test`. */
export interface OfferChoice {
  readonly offer: string;
  readonly context: string;
  readonly method: 'thompson' | 'priority';
  readonly arms: readonly OfferArm[];
  readonly reason: string;
}

const patterns = new WeakMap<object, (view: unknown) => boolean>();
const patternOf = (part: { if: Record<string, unknown> }): ((view: unknown) => boolean) => {
  let fn = patterns.get(part);
  if (!fn) patterns.set(part, (fn = compilePattern(part.if)));
  return fn;
};

/** The context key, e.g. `channel=email|tier=gold|big-spender=yes`: listed values only, never customer data. */
export function contextKey(channel: string, learn: Learn | undefined, view: Readonly<Record<string, unknown>>): string {
  let key = `channel=${channel}`;
  for (const part of learn?.context ?? []) {
    if (part === 'channel') continue;
    if ('field' in part) {
      const v = view[part.field];
      key += `|${part.field}=${typeof v === 'string' && part.values.includes(v) ? v : 'other'}`;
    } else key += `|${part.name}=${patternOf(part)(view) ? 'yes' : 'no'}`;
  }
  return key;
}

/** A standard normal draw (Box-Muller) from uniform draws. */
function normal(random: () => number): number {
  const u = 1 - random(); // (0, 1]: log(u) is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
}

/** A Gamma(shape, 1) draw for shape >= 1 (Marsaglia and Tsang's method). */
function gamma(shape: number, random: () => number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A Beta(a, b) draw for a, b >= 1 (both posteriors here start from the uniform prior Beta(1, 1)). */
export function sampleBeta(a: number, b: number, random: () => number): number {
  const x = gamma(a, random);
  return x / (x + gamma(b, random));
}

const round = (n: number, digits = 4): number => Number(n.toPrecision(digits));

/**
 * Picks one of the eligible offers (in the set's priority order). With learning: the highest
 * sampled expected value, ties to the earlier offer; without: the first one.
 */
export function chooseOffer(
  ruleId: string,
  channel: string,
  eligible: readonly Offer[],
  learn: Learn | undefined,
  view: Readonly<Record<string, unknown>>,
  learning: OfferLearning | undefined,
): OfferChoice {
  const context = contextKey(channel, learn, view);
  const arms: OfferArm[] = [];
  let best = 0;
  for (let i = 0; i < eligible.length; i++) {
    const o = eligible[i]!;
    const c = learn && learning ? learning.stats.counts(ruleId, context, o.offer) : undefined;
    const exposures = c?.exposures ?? 0;
    const responses = c && learn ? Math.min(responsesOf(c, learn.reward), exposures) : 0;
    const a = 1 + responses;
    const b = 1 + exposures - responses;
    // Revenue: once sales are seen, what a response is worth is learned too.
    const value = learn?.reward === 'revenue' && c && c.conversions > 0 ? c.revenue / c.conversions : o.value;
    const mean = a / (a + b);
    if (learn && learning) {
      const sampled = sampleBeta(a, b, learning.random);
      arms.push({ offer: o.offer, value: round(value), exposures, responses, mean: round(mean), sampled: round(sampled), score: sampled * value });
    } else arms.push({ offer: o.offer, value: round(value), exposures, responses, mean: round(mean), score: mean * value });
    if (learn && learning && arms[i]!.score > arms[best]!.score) best = i;
  }
  const won = arms[best]!;
  const shown = arms.map((a) => ({ ...a, score: round(a.score) }));
  if (!learn || !learning) {
    const why = learn ? 'no learning state is loaded, so' : 'the rule does not learn, so';
    return { offer: won.offer, context, method: 'priority', arms: shown, reason: `${why} the first eligible offer of the set wins` };
  }
  const reason =
    eligible.length === 1
      ? `${won.offer} is the only eligible offer`
      : `${won.offer} drew the highest expected value: sampled ${round(won.sampled!, 3)} × value ${round(won.value, 3)} = ${round(won.score, 3)} (posterior mean ${round(won.mean, 3)} from ${won.responses}/${won.exposures} in ${context})`;
  return { offer: won.offer, context, method: 'thompson', arms: shown, reason };
}

/** Counts by rule, context and offer, in memory: what a repository's snapshot and the simulations build. */
export class OfferCountsTable implements OfferStats {
  private readonly table = new Map<string, { -readonly [K in keyof OfferCounts]: number }>();

  static key(ruleId: string, context: string, offer: string): string {
    return `${ruleId}\u0000${context}\u0000${offer}`;
  }

  counts(ruleId: string, context: string, offer: string): OfferCounts | undefined {
    return this.table.get(OfferCountsTable.key(ruleId, context, offer));
  }

  add(ruleId: string, context: string, offer: string, delta: Partial<OfferCounts>): void {
    const k = OfferCountsTable.key(ruleId, context, offer);
    const c = this.table.get(k) ?? { ...NO_COUNTS };
    for (const f of Object.keys(NO_COUNTS) as (keyof OfferCounts)[]) c[f] += delta[f] ?? 0;
    this.table.set(k, c);
  }

  entries(): IterableIterator<[string, OfferCounts]> {
    return this.table.entries();
  }
}

/** The choice as `baton explain` and `baton rules test` print it: one line per offer, the winner marked. */
export function offerLines(choice: OfferChoice): string[] {
  const width = Math.max(...choice.arms.map((a) => a.offer.length));
  return [
    `offers in ${choice.context} (${choice.method === 'thompson' ? 'Thompson sampling: draw × value' : 'priority order'}):`,
    ...choice.arms.map(
      (a) =>
        `  ${a.offer.padEnd(width)}  value ${String(a.value).padStart(6)}  ${String(a.responses).padStart(6)}/${String(a.exposures).padEnd(6)} p≈${(a.mean * 100).toFixed(2).padStart(6)} %` +
        `${a.sampled === undefined ? '' : `  drew ${(a.sampled * 100).toFixed(2).padStart(6)} %  → ${a.score}`}${a.offer === choice.offer ? '  ← sent' : ''}`,
    ),
  ];
}
