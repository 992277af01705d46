// A rule as marketers keep it in the rules table (see docs/rules.md). Validated with zod at write
// (CLI) and again at load (a bad item that slipped in is skipped with its reason).
import { z } from 'zod';
import { MESSAGE_CHANNELS } from '../../../events/catalog.ts';
import { learnSchema, offerSetSchema } from '../offers/offers.ts';
import { itemCheck, itemDescription, itemIdSchema as id, itemPriority, itemVersion, validityFields, validityWindow, type ItemCheck, patternSchema as pattern } from './item.ts';


const code = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a code of letters, digits, ".", "_" or "-" (at most 64)');

export const messageAction = z.object({
  channel: z.enum(MESSAGE_CHANNELS),
  template: id,
  offer: z.string().min(1).max(64).optional(),
  /** A set of offers instead of one, by priority; with `learn` Baton picks among them (docs/offers.md). */
  offers: offerSetSchema.optional(),
  /** Learn which offer of `offers` works best per context, from the reward named here. */
  learn: learnSchema.optional(),
  /** The SKU the offer sells: while no location has it in stock the offer is suppressed (`out-of-stock`). */
  sku: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a SKU code of letters, digits, ".", "_" or "-"').optional(),
  /** Transactional messages skip marketing consent, caps and quiet hours (stated explicitly). */
  transactional: z.boolean().default(false),
});
/**
 * A call booked with a team (docs/channels.md, "Calls"): a call-list entry for the team's system,
 * briefed by the template, under the contact policy's consent (`call`), caps and quiet hours, and
 * throttled by the team's live load (`CallCentreLoadReported` in the context).
 */
export const callAction = z.object({
  channel: z.literal('call'),
  team: code,
  template: id,
  offer: z.string().min(1).max(64).optional(),
  /** The team reports no agent free: `defer` books the call `retryMinutes` later, `suppress` drops it (`team-busy`). */
  whenTeamBusy: z.enum(['defer', 'suppress']).default('defer'),
  retryMinutes: z.number().int().min(1).max(1440).default(30),
  transactional: z.boolean().default(false),
});
/**
 * A bus action, for any subscriber; naming a `destination` (docs/destinations.md) sends it to that
 * system's HTTP API with the destination's payload template.
 */
export const busAction = z.object({
  channel: z.literal('bus'),
  action: z.string().min(1).max(128),
  payload: z.record(z.string(), z.unknown()).optional(),
  destination: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a destination id: lower-case letters, digits and dashes, at most 64').optional(),
});
export const ruleAction = z.discriminatedUnion('channel', [messageAction, callAction, busAction]);

export const ruleSchema = z
  .object({
    ruleId: id,
    campaignId: id,
    enabled: z.boolean(),
    priority: itemPriority,
    description: itemDescription,
    when: pattern,
    if: pattern.optional(),
    then: ruleAction,
    setState: z.record(z.string().regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/), z.union([z.string().max(256), z.number(), z.boolean()])).optional(),
    ...validityFields,
    /** At most `count` messages from this rule per customer within `periodDays`. */
    limit: z.object({ count: z.number().int().min(1).max(1000), periodDays: z.number().int().min(1).max(3650) }).optional(),
    /** Share of customers (0..0.5) held out as a control group, chosen per customer and campaign. */
    holdout: z.number().min(0).max(0.5).default(0),
    /** A message held by the contact policy's quiet hours: `defer` (queue it for the window's end) or `drop`. */
    quietHours: z.enum(['defer', 'drop']).default('defer'),
    version: itemVersion,
  })
  .refine(...validityWindow)
  .superRefine((rule, ctx) => {
    const then = messageOf(rule.then);
    if (!then) return;
    if (then.offers && then.offer !== undefined) ctx.addIssue({ code: 'custom', path: ['then', 'offers'], message: 'give either "offer" or "offers", not both' });
    if (then.offers && then.sku !== undefined) ctx.addIssue({ code: 'custom', path: ['then', 'sku'], message: 'with "offers", give each offer its own "sku"' });
    if (then.learn && !then.offers) ctx.addIssue({ code: 'custom', path: ['then', 'learn'], message: '"learn" needs a set of "offers" to choose from' });
  });

export type Rule = z.infer<typeof ruleSchema>;
export type RuleInput = z.input<typeof ruleSchema>;
export type RuleAction = z.infer<typeof ruleAction>;
export type MessageAction = z.infer<typeof messageAction>;

/** The action when it sends a message (email, SMS, push, device): the only kind with offers, sets and learning. */
export const messageOf = (then: RuleAction): MessageAction | undefined => (then.channel === 'bus' || then.channel === 'call' ? undefined : then);

export type RuleCheck = ItemCheck<'rule', Rule>;

/** Validate one rule item; the reason names the field and what was expected. */
export const checkRule: (item: unknown) => RuleCheck = itemCheck('rule', ruleSchema);
