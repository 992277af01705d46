// A campaign as marketers keep it in the campaigns table: priority, validity window, budget and
// channel capacity. Rules name their campaign; a rule whose campaign has no item runs with the
// defaults (priority 0, always valid, no budget, no capacity, the default contact policy).
import { z } from 'zod';
import { CHANNELS, currency } from '../../../events/catalog.ts';
import { defaultPolicy, type ContactPolicy } from './policy.ts';
import { itemCheck, itemDescription, itemIdSchema as id, itemPriority, itemVersion, validityFields, validityWindow, type ItemCheck } from '../rules/item.ts';

const channelOrBus = z.enum([...CHANNELS, 'bus']);
const count = z.number().int().min(0).max(1_000_000_000);

export const budgetSchema = z.discriminatedUnion('unit', [
  /** At most `limit` messages over the campaign's life. */
  z.object({ unit: z.literal('messages'), limit: count }),
  /**
   * At most `limit` hundredths of the currency (cents) over the campaign's life; each message costs
   * `costPerMessage[channel]` hundredths (a channel not listed costs nothing). Integers, so sums are exact.
   */
  z.object({
    unit: z.literal('money'),
    limit: count,
    currency: currency.optional(),
    costPerMessage: z.partialRecord(channelOrBus, count),
  }),
]);

export const campaignSchema = z
  .object({
    campaignId: id,
    description: itemDescription,
    enabled: z.boolean().default(true),
    /** Compared before the rules' own priority: a higher campaign priority wins a channel. */
    priority: itemPriority.default(0),
    ...validityFields,
    budget: budgetSchema.optional(),
    /** Messages per channel per clock hour (UTC) this campaign may queue. */
    capacityPerHour: z.partialRecord(channelOrBus, count).optional(),
    /** The contact policy that applies to this campaign's messages. */
    policyId: id.default('default'),
    version: itemVersion,
  })
  .refine(...validityWindow);

export type Campaign = z.infer<typeof campaignSchema>;
export type CampaignInput = z.input<typeof campaignSchema>;
export type Budget = z.infer<typeof budgetSchema>;

export type CampaignCheck = ItemCheck<'campaign', Campaign>;

export const checkCampaign: (item: unknown) => CampaignCheck = itemCheck('campaign', campaignSchema);

/** The campaign a rule runs under when the table holds none for its id. */
export function defaultCampaign(campaignId: string): Campaign {
  return { campaignId, enabled: true, priority: 0, policyId: 'default' };
}

const windows = new WeakMap<Campaign, { fromMs: number; untilMs: number }>();

/** Enabled and inside its validity window (parsed once per campaign object). */
export function campaignActive(c: Campaign, nowMs: number): boolean {
  if (!c.enabled) return false;
  if (!c.validFrom && !c.validUntil) return true;
  let w = windows.get(c);
  if (!w) {
    w = { fromMs: c.validFrom ? Date.parse(c.validFrom) : -Infinity, untilMs: c.validUntil ? Date.parse(c.validUntil) : Infinity };
    windows.set(c, w);
  }
  return nowMs >= w.fromMs && nowMs < w.untilMs;
}

/** The campaigns and contact policies in force, as decide reads them. */
export interface CampaignBook {
  /** The campaign's item, or the defaults when the table has none for this id. */
  campaign(campaignId: string): Campaign;
  /** The policy's item, or the defaults (consent only) when the table has none for this id. */
  policy(policyId: string): ContactPolicy;
}

/** A campaign book over fixed lists (tests, benchmarks, and what the DynamoDB source builds). */
export class StaticCampaignBook implements CampaignBook {
  private readonly campaigns = new Map<string, Campaign>();
  private readonly policies = new Map<string, ContactPolicy>();
  private readonly defaults = new Map<string, Campaign>();

  constructor(campaigns: readonly Campaign[] = [], policies: readonly ContactPolicy[] = []) {
    for (const c of campaigns) this.campaigns.set(c.campaignId, c);
    for (const p of policies) this.policies.set(p.policyId, p);
  }

  campaign(campaignId: string): Campaign {
    const found = this.campaigns.get(campaignId);
    if (found) return found;
    let d = this.defaults.get(campaignId);
    if (!d) this.defaults.set(campaignId, (d = defaultCampaign(campaignId)));
    return d;
  }

  policy(policyId: string): ContactPolicy {
    return this.policies.get(policyId) ?? (policyId === 'default' ? DEFAULT_POLICY : defaultPolicy(policyId));
  }

  list(): { campaigns: Campaign[]; policies: ContactPolicy[] } {
    return { campaigns: [...this.campaigns.values()], policies: [...this.policies.values()] };
  }
}

const DEFAULT_POLICY = defaultPolicy();
export const EMPTY_CAMPAIGN_BOOK: CampaignBook = new StaticCampaignBook();
