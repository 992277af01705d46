// The learning state of offers (docs/offers.md), in the counters table under its own prefixes:
//   OFFERS#<ruleId>#<shard> / <context>#<offer>   { exposures, clicks, conversions, revenue }
//   OFFERS-ONCE#<once>      / ONCE                marker: this feedback was counted (TTL 30 days)
// Each write goes to one of SHARDS items picked at random, so a busy offer is no hot key; a reader
// sums the shards. Marker and counter are written in one transaction: a replay adds nothing.
// Running functions read it through a WarmCache refreshed like the rules: a choice is made on counts
// at most two refresh periods old (20 s by default).
import { QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OfferCountsTable, NO_COUNTS, type OfferCounts, type OfferStats } from '../../core/offers/offers.ts';
import { messageOf } from '../../core/rules/rule.ts';
import type { OfferCountWrite, OfferLearningStore, OfferStatsSource, RuleSource } from '../../app/ports.ts';
import { cancellationCodes } from './client.ts';
import { WarmCache, type WarmCacheOptions } from './rules.ts';

/** Items per offer and context: writes spread over this many partitions. */
export const OFFER_SHARDS = 8;
/** How long a counted feedback is remembered: replays come within hours (retries, archive redrive within days). */
export const OFFER_ONCE_TTL_DAYS = 30;

const FIELDS = Object.keys(NO_COUNTS) as (keyof OfferCounts)[];
export const offerShardKey = (ruleId: string, shard: number) => `OFFERS#${ruleId}#${shard}`;
export const offerArmKey = (context: string, offer: string) => `${context}#${offer}`;

export class DynamoOfferLearning implements OfferLearningStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly opts: { readonly random?: () => number; readonly now?: () => Date } = {},
  ) {}

  async add(once: string, write: OfferCountWrite): Promise<boolean> {
    const fields = FIELDS.filter((f) => (write[f] ?? 0) !== 0);
    if (fields.length === 0) return false;
    const shard = Math.floor((this.opts.random ?? Math.random)() * OFFER_SHARDS);
    const expiresAt = Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000) + OFFER_ONCE_TTL_DAYS * 86_400;
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.table, Item: { pk: `OFFERS-ONCE#${once}`, sk: 'ONCE', expiresAt }, ConditionExpression: 'attribute_not_exists(pk)' } },
            {
              Update: {
                TableName: this.table,
                Key: { pk: offerShardKey(write.ruleId, shard), sk: offerArmKey(write.context, write.offer) },
                UpdateExpression: `ADD ${fields.map((f) => `#${f} :${f}`).join(', ')}`,
                ExpressionAttributeNames: Object.fromEntries(fields.map((f) => [`#${f}`, f])),
                ExpressionAttributeValues: Object.fromEntries(fields.map((f) => [`:${f}`, write[f]])),
              },
            },
          ],
        }),
      );
      return true;
    } catch (err) {
      if (cancellationCodes(err)?.[0] === 'ConditionalCheckFailed') return false;
      throw err;
    }
  }

  /** Every shard of the rules' counts, summed. */
  async read(ruleIds: readonly string[]): Promise<OfferCountsTable> {
    const table = new OfferCountsTable();
    await Promise.all(
      ruleIds.flatMap((ruleId) =>
        Array.from({ length: OFFER_SHARDS }, async (_, shard) => {
          let start: Record<string, unknown> | undefined;
          do {
            const out = await this.db.send(
              new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': offerShardKey(ruleId, shard) }, ExclusiveStartKey: start }),
            );
            for (const item of out.Items ?? []) {
              const sk = String(item.sk);
              const cut = sk.lastIndexOf('#');
              table.add(ruleId, sk.slice(0, cut), sk.slice(cut + 1), Object.fromEntries(FIELDS.map((f) => [f, Number(item[f] ?? 0)])));
            }
            start = out.LastEvaluatedKey;
          } while (start);
        }),
      ),
    );
    return table;
  }
}

/** The counts of the rules in force that learn, cached like the rules. */
export class CachedOfferStats implements OfferStatsSource {
  private readonly cache: WarmCache<OfferStats>;

  constructor(store: DynamoOfferLearning, rules: RuleSource, opts: WarmCacheOptions = {}) {
    this.cache = new WarmCache(async () => {
      const learning = (await rules.current()).rules.filter((r) => r.enabled && messageOf(r.then)?.learn).map((r) => r.ruleId);
      return store.read(learning);
    }, opts);
  }

  current(): Promise<OfferStats> {
    return this.cache.current();
  }
}
