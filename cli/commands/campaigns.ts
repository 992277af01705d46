// `baton campaigns validate|put|list|diff|enable|disable|rollback` and
// `baton policies validate|put|list|diff|rollback`: campaigns and contact policies, versioned like
// rules (items of the campaigns table, kept by lib/adapters/dynamo/campaigns.ts; see docs/rules.md).
import { CHANNELS } from '../../events/catalog.ts';
import { checkCampaign, type Campaign } from '../../lib/core/campaigns/campaign.ts';
import { checkPolicy, type ContactPolicy } from '../../lib/core/campaigns/policy.ts';
import { DynamoCampaignRepository, DynamoPolicyRepository } from '../../lib/adapters/dynamo/campaigns.ts';
import type { CliFlags } from '../io.ts';
import { runItems, type ItemsContext, type ItemSpec, type Reference } from './items.ts';

/** A campaign naming a policy other than `default` needs that policy's item (`default` always applies). */
async function campaignReferences(campaigns: Campaign[], ctx: ItemsContext): Promise<Reference[]> {
  const policies = new DynamoPolicyRepository(ctx.db, ctx.names.campaigns);
  const refs: Reference[] = [];
  for (const c of campaigns) {
    if (c.policyId === 'default' || (await policies.current(c.policyId))) continue;
    refs.push({ id: c.campaignId, errors: [`policyId: no contact policy "${c.policyId}" in ${ctx.names.campaigns}; put it first with baton policies put`], warnings: [] });
  }
  return refs;
}

export const CAMPAIGNS: ItemSpec<Campaign> = {
  noun: 'campaign',
  plural: 'campaigns',
  toggles: true,
  check(item) {
    const c = checkCampaign(item);
    return c.ok ? { ok: true, id: c.campaign.campaignId, value: c.campaign } : { ok: false, id: c.campaignId, reason: c.reason };
  },
  repository: (ctx) => new DynamoCampaignRepository(ctx.db, ctx.names.campaigns, ctx.clock),
  references: campaignReferences,
  describe(campaign, stored) {
    const c = (campaign ?? stored.content) as Partial<Campaign>;
    const window = c.validFrom || c.validUntil ? `  ${c.validFrom ?? '…'} to ${c.validUntil ?? '…'}` : '';
    const budget = c.budget ? `  budget ${c.budget.limit} ${c.budget.unit === 'money' ? `${c.budget.currency ?? ''} hundredths`.trim() : 'messages'}` : '';
    return `${c.enabled === false ? 'disabled' : 'enabled '} prio ${String(c.priority ?? 0).padStart(4)}  policy ${c.policyId ?? 'default'}${budget}${window}`;
  },
  listFooter: () => ['a rule whose campaign has no item runs with priority 0, no window, no budget, no capacity and the default policy'],
};

/** One line a person reads: caps per channel, quiet hours, cooldown. */
export function policySummary(p: Partial<ContactPolicy>): string {
  // In the catalog's channel order: a map read back from DynamoDB has none of its own.
  const caps = CHANNELS.flatMap((channel) => (p.caps?.[channel] ? [[channel, p.caps[channel]] as const] : []))
    .map(([channel, cap]) => `${channel} ${[cap?.perDay !== undefined ? `${cap.perDay}/day` : '', cap?.perWeek !== undefined ? `${cap.perWeek}/week` : ''].filter(Boolean).join(' ')}`)
    .join(', ');
  const quiet = p.quietHours ? `quiet ${p.quietHours.start}-${p.quietHours.end} (${(p.quietHours.channels ?? ['all']).join(', ')}; default zone ${p.quietHours.defaultTimeZone ?? 'UTC'})` : 'no quiet hours';
  return `caps ${caps || 'none'} · ${quiet} · cooldown ${p.cooldownHours ? `${p.cooldownHours} h` : 'none'}`;
}

export const POLICIES: ItemSpec<ContactPolicy> = {
  noun: 'policy',
  plural: 'policies',
  toggles: false,
  check(item) {
    const c = checkPolicy(item);
    return c.ok ? { ok: true, id: c.policy.policyId, value: c.policy } : { ok: false, id: c.policyId, reason: c.reason };
  },
  repository: (ctx) => new DynamoPolicyRepository(ctx.db, ctx.names.campaigns, ctx.clock),
  describe: (policy, stored) => policySummary((policy ?? stored.content) as Partial<ContactPolicy>),
  listFooter: (items) =>
    items.some((i) => i.id === 'default')
      ? []
      : ['default: no item, so campaigns that name no policy get consent only (no caps, quiet hours or cooldown)'],
};

export const runCampaigns = (args: string[], flags: CliFlags, ctx: ItemsContext) => runItems(CAMPAIGNS, args, flags, ctx);
export const runPolicies = (args: string[], flags: CliFlags, ctx: ItemsContext) => runItems(POLICIES, args, flags, ctx);
