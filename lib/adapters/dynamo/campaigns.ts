// The campaigns table: campaigns and contact policies, cached like rules (see ./rules.ts), and
// written through DynamoCampaignRepository and DynamoPolicyRepository (the CLI) with their history.
//   CAMPAIGN#<campaignId> / CURRENT   a campaign (lib/core/campaigns/campaign.ts)
//   POLICY#<policyId>     / CURRENT   a contact policy (lib/core/campaigns/policy.ts); `default` applies
//                                     to every campaign that names no other
//   CAMPAIGN#… / V#000001…, POLICY#… / V#000001…   every version written (./versioned.ts)
// An invalid item is reported once and skipped; the last good version of it stays in force.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { checkCampaign, StaticCampaignBook, type Campaign, type CampaignBook } from '../../core/campaigns/campaign.ts';
import { type CampaignSource } from '../../app/ports.ts';
import { checkPolicy, type ContactPolicy } from '../../core/campaigns/policy.ts';
import { RejectionLog, scanCurrent, WarmCache, type WarmCacheOptions } from './rules.ts';
import { VersionedItems, type VersionedKind } from './versioned.ts';

const CAMPAIGN_PREFIX = 'CAMPAIGN#';
const POLICY_PREFIX = 'POLICY#';
export const campaignKey = (campaignId: string) => ({ pk: `${CAMPAIGN_PREFIX}${campaignId}`, sk: 'CURRENT' });
export const policyKey = (policyId: string) => ({ pk: `${POLICY_PREFIX}${policyId}`, sk: 'CURRENT' });

export interface ItemRejection {
  readonly kind: 'campaign' | 'policy' | 'unknown';
  readonly id: string;
  readonly reason: string;
}

export interface CachedCampaignSourceOptions extends WarmCacheOptions {
  readonly onRejected?: (rejection: ItemRejection) => void;
}

export class CachedCampaignSource implements CampaignSource {
  private readonly cache: WarmCache<CampaignBook>;
  private campaigns = new Map<string, Campaign>();
  private policies = new Map<string, ContactPolicy>();
  private readonly rejections = new RejectionLog();

  /** `load` returns the live items, each with its partition key as `__pk`. */
  constructor(
    private readonly load: () => Promise<Record<string, unknown>[]>,
    private readonly opts: CachedCampaignSourceOptions = {},
  ) {
    this.cache = new WarmCache(() => this.refresh(), opts);
  }

  current(): Promise<CampaignBook> {
    return this.cache.current();
  }

  private async refresh(): Promise<CampaignBook> {
    const campaigns = new Map<string, Campaign>();
    const policies = new Map<string, ContactPolicy>();
    for (const { __pk, ...item } of await this.load()) {
      const pk = String(__pk);
      if (pk.startsWith(CAMPAIGN_PREFIX)) {
        const check = checkCampaign(item);
        if (check.ok) campaigns.set(check.campaign.campaignId, check.campaign);
        else this.reject('campaign', check.campaignId, check.reason, item, this.campaigns.get(check.campaignId), (c) => campaigns.set(c.campaignId, c));
      } else if (pk.startsWith(POLICY_PREFIX)) {
        const check = checkPolicy(item);
        if (check.ok) policies.set(check.policy.policyId, check.policy);
        else this.reject('policy', check.policyId, check.reason, item, this.policies.get(check.policyId), (p) => policies.set(p.policyId, p));
      } else {
        this.rejections.note(pk, item, () => this.opts.onRejected?.({ kind: 'unknown', id: pk, reason: `partition key is neither ${CAMPAIGN_PREFIX}<id> nor ${POLICY_PREFIX}<id>` }));
      }
    }
    this.rejections.done();
    this.campaigns = campaigns;
    this.policies = policies;
    return new StaticCampaignBook([...campaigns.values()], [...policies.values()]);
  }

  private reject<T>(kind: 'campaign' | 'policy', id: string, reason: string, item: unknown, previous: T | undefined, keep: (t: T) => void): void {
    if (previous) keep(previous);
    this.rejections.note(`${kind}#${id}`, item, () => this.opts.onRejected?.({ kind, id, reason }));
  }
}

export function scanCampaignItems(db: DynamoDBDocumentClient, table: string): () => Promise<Record<string, unknown>[]> {
  return scanCurrent(db, table);
}

export const CAMPAIGN_ITEMS: VersionedKind = { noun: 'campaign', prefix: CAMPAIGN_PREFIX, idField: 'campaignId', check: checkCampaign };
export const POLICY_ITEMS: VersionedKind = { noun: 'policy', prefix: POLICY_PREFIX, idField: 'policyId', check: checkPolicy };

/** Campaign writes: every put, disable and rollback is a new version, conditional on the one read. */
export class DynamoCampaignRepository extends VersionedItems {
  constructor(db: DynamoDBDocumentClient, table: string, clock?: () => Date) {
    super(db, table, CAMPAIGN_ITEMS, clock);
  }
}

/** Contact policy writes, versioned like campaigns. */
export class DynamoPolicyRepository extends VersionedItems {
  constructor(db: DynamoDBDocumentClient, table: string, clock?: () => Date) {
    super(db, table, POLICY_ITEMS, clock);
  }
}
