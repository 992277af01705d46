// The loyalty items an operator keeps (docs/loyalty.md): programmes with their earning and spending
// rules, promotions, partners and the reward catalogue. Checked with zod at write (the CLI refuses
// an invalid item, naming the field) and again at load (an item that slipped in is skipped).
import { z } from 'zod';
import { currency } from '../../../events/catalog.ts';
import { itemCheck, itemDescription, itemIdSchema as id, itemVersion, patternSchema as pattern, type ItemCheck } from '../rules/item.ts';

export const PERIODS = ['day', 'week', 'month', 'year'] as const;
export type Period = (typeof PERIODS)[number];

/** How a fraction of a point becomes a whole one (per rule line, on the line's total). */
export const ROUNDING = ['floor', 'round', 'ceil'] as const;
export type Rounding = (typeof ROUNDING)[number];

const category = z.string().min(1).max(64);
const multiplier = z.number().min(0).max(100);
const points = z.number().int().min(0).max(1_000_000_000);

/** One earning rule: `when` on the transaction event, `if` on the member (tier, balance, programme). */
export const earningRuleSchema = z.object({
  ruleId: id,
  description: itemDescription,
  when: pattern,
  if: pattern.optional(),
  /** Points per unit of the programme's money currency spent (before multipliers). */
  pointsPerUnit: z.number().min(0).max(1000).default(0),
  /** Per item category: the base points of that category's lines are multiplied by it. */
  categoryMultipliers: z.record(category, multiplier).default({}),
  /** Fixed points on every matching transaction. */
  bonus: points.default(0),
  /** At most `points` from this rule per member per calendar `period` (UTC). */
  cap: z.object({ points: points.min(1), period: z.enum(PERIODS) }).optional(),
});
export type EarningRule = z.infer<typeof earningRuleSchema>;

/** One spending rule: an order is allowed when some rule's `when` matches it (none: every order is). */
export const spendingRuleSchema = z.object({
  ruleId: id,
  description: itemDescription,
  /** On the order: `{ rewardId, category, partnerId, points }`. */
  when: pattern,
  /** On the member: `{ tier, balance }`. */
  if: pattern.optional(),
});
export type SpendingRule = z.infer<typeof spendingRuleSchema>;

export const tierSchema = z.object({
  tierId: id,
  /** Lifetime points earned from which the member holds this tier. */
  minEarned: points,
  /** Applied to the base points of every earning rule. */
  multiplier: multiplier.default(1),
});

export const expirySchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('never') }),
  z.object({
    kind: z.literal('months'),
    /** A lot expires this many months after it was earned... */
    months: z.number().int().min(1).max(120),
    /** ...at the end of that month (UTC) when true. */
    endOfMonth: z.boolean().default(true),
    /** PointsExpiring is published this many days ahead. */
    warnDays: z.number().int().min(0).max(365).default(30),
  }),
]);
export type ExpiryPolicy = z.infer<typeof expirySchema>;

export const programmeSchema = z
  .object({
    programmeId: id,
    name: z.string().min(1).max(128),
    /** What members collect, e.g. "points", "miles". */
    currencyName: z.string().min(1).max(32).default('points'),
    /** The money transactions are in; a transaction in another currency earns nothing. */
    moneyCurrency: currency,
    /** Money one point is worth in partner settlement. */
    pointValue: z.number().min(0).max(1000),
    rounding: z.enum(ROUNDING).default('floor'),
    earning: z.array(earningRuleSchema).min(1).max(100),
    spending: z.array(spendingRuleSchema).max(100).default([]),
    expiry: expirySchema,
    tiers: z.array(tierSchema).max(20).default([]),
    description: itemDescription,
    version: itemVersion,
  })
  .refine((p) => new Set(p.earning.map((r) => r.ruleId)).size === p.earning.length, { message: 'ruleIds must be unique', path: ['earning'] })
  .refine((p) => new Set(p.tiers.map((t) => t.tierId)).size === p.tiers.length, { message: 'tierIds must be unique', path: ['tiers'] });
export type Programme = z.infer<typeof programmeSchema>;
export type ProgrammeInput = z.input<typeof programmeSchema>;

const window = {
  validFrom: z.iso.datetime({ offset: true }),
  validUntil: z.iso.datetime({ offset: true }),
};
const windowRefine: [(v: { validFrom: string; validUntil: string }) => boolean, { message: string; path: PropertyKey[] }] = [
  (v) => Date.parse(v.validFrom) < Date.parse(v.validUntil),
  { message: 'validFrom must be before validUntil', path: ['validUntil'] },
];

export const promotionSchema = z
  .discriminatedUnion('kind', [
    z.object({
      kind: z.literal('earning'),
      promotionId: id,
      programmeId: id,
      description: itemDescription,
      /** On the transaction event, like an earning rule's. */
      when: pattern,
      /** Only lines of this category count (default: the whole transaction). */
      category: category.optional(),
      /** The base points of the counted lines are multiplied by it: 2 is double points. */
      multiplier: multiplier.default(1),
      bonus: points.default(0),
      /** The partner that funds the extra points, charged to its budget. */
      partnerId: id.optional(),
      ...window,
      version: itemVersion,
    }),
    z.object({
      kind: z.literal('spending'),
      promotionId: id,
      programmeId: id,
      description: itemDescription,
      /** Rewards it applies to (default: all). */
      rewardIds: z.array(id).min(1).max(500).optional(),
      /** Share of the points price taken off: 0.2 is 20 % fewer points. */
      discount: z.number().min(0).max(1),
      partnerId: id.optional(),
      ...window,
      version: itemVersion,
    }),
  ])
  .refine(...windowRefine);
export type Promotion = z.infer<typeof promotionSchema>;
export type EarningPromotion = Extract<Promotion, { kind: 'earning' }>;
export type SpendingPromotion = Extract<Promotion, { kind: 'spending' }>;

export const partnerSchema = z.object({
  partnerId: id,
  programmeId: id,
  name: z.string().min(1).max(128),
  /** Promotional points the partner funds, over the programme's life. */
  budget: points,
  description: itemDescription,
  version: itemVersion,
});
export type Partner = z.infer<typeof partnerSchema>;

export const rewardSchema = z.object({
  rewardId: id,
  programmeId: id,
  name: z.string().min(1).max(128),
  category: category.default('reward'),
  points: points.min(1),
  /** Units that can ever be ordered (claimed like a budget). */
  stock: z.number().int().min(0).max(100_000_000),
  /** The partner that supplies it: redemptions of it are settled with that partner. */
  partnerId: id.optional(),
  description: itemDescription,
  version: itemVersion,
});
export type Reward = z.infer<typeof rewardSchema>;

export const LOYALTY_KINDS = ['programme', 'promotion', 'partner', 'reward'] as const;
export type LoyaltyKind = (typeof LOYALTY_KINDS)[number];

export const checkProgramme: (item: unknown) => ItemCheck<'programme', Programme> = itemCheck('programme', programmeSchema);
export const checkPromotion: (item: unknown) => ItemCheck<'promotion', Promotion> = itemCheck('promotion', promotionSchema);
export const checkPartner: (item: unknown) => ItemCheck<'partner', Partner> = itemCheck('partner', partnerSchema);
export const checkReward: (item: unknown) => ItemCheck<'reward', Reward> = itemCheck('reward', rewardSchema);

/** A loyalty item's kind from the id field it carries (programmeId alone: a programme). */
export function kindOf(item: unknown): LoyaltyKind | undefined {
  if (item === null || typeof item !== 'object') return undefined;
  const o = item as Record<string, unknown>;
  if ('promotionId' in o) return 'promotion';
  if ('partnerId' in o && !('rewardId' in o)) return 'partner';
  if ('rewardId' in o) return 'reward';
  if ('programmeId' in o) return 'programme';
  return undefined;
}

export type LoyaltyItem =
  | { kind: 'programme'; item: Programme }
  | { kind: 'promotion'; item: Promotion }
  | { kind: 'partner'; item: Partner }
  | { kind: 'reward'; item: Reward };

/** Checks any loyalty item: the parsed item, or the reason naming each field and what was expected. */
export function checkLoyaltyItem(raw: unknown): { ok: true; value: LoyaltyItem } | { ok: false; id: string; reason: string } {
  const kind = kindOf(raw);
  switch (kind) {
    case 'programme': {
      const c = checkProgramme(raw);
      return c.ok ? { ok: true, value: { kind, item: c.programme } } : { ok: false, id: c.programmeId, reason: `programme: ${c.reason}` };
    }
    case 'promotion': {
      const c = checkPromotion(raw);
      return c.ok ? { ok: true, value: { kind, item: c.promotion } } : { ok: false, id: c.promotionId, reason: `promotion: ${c.reason}` };
    }
    case 'partner': {
      const c = checkPartner(raw);
      return c.ok ? { ok: true, value: { kind, item: c.partner } } : { ok: false, id: c.partnerId, reason: `partner: ${c.reason}` };
    }
    case 'reward': {
      const c = checkReward(raw);
      return c.ok ? { ok: true, value: { kind, item: c.reward } } : { ok: false, id: c.rewardId, reason: `reward: ${c.reason}` };
    }
    default:
      return { ok: false, id: '(no id)', reason: '(item): expected a programme, promotion, partner or reward (programmeId with promotionId, partnerId or rewardId)' };
  }
}

/** A programme with everything that belongs to it, as loaded. */
export interface ProgrammeBook {
  readonly programme: Programme;
  readonly promotions: readonly Promotion[];
  readonly partners: readonly Partner[];
  readonly rewards: readonly Reward[];
}
