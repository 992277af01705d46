// Loyalty programmes and their items in the ledger table, written through the CLI (checked at
// write: an invalid item is refused with the field named) and read by the ledger per programme
// with a short cache (checked again: an item that slipped in is skipped, its reason logged once).
//   PROGRAMME#<programmeId> / DEF                 the programme: rules, expiry, tiers
//   PROGRAMME#<programmeId> / PROMOTION#<id>      earning and spending promotions
//   PROGRAMME#<programmeId> / PARTNER#<id>        partners and their promotional budget
//   PROGRAMME#<programmeId> / REWARD#<id>         the reward catalogue (stock: ./loyalty.ts)
//   PROGRAMMES / <programmeId>                    every programme, for the daily expiry run
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { checkLoyaltyItem, type LoyaltyItem, type Partner, type ProgrammeBook, type Promotion, type Reward } from '../../core/loyalty/items.ts';
import { BatonError } from '../../contract/errors.ts';
import type { ProgrammeSource } from '../../app/ports.ts';
import { RejectionLog, WarmCache, type WarmCacheOptions } from './rules.ts';

export const programmePk = (programmeId: string) => `PROGRAMME#${programmeId}`;
/** PROGRAMMES / <programmeId>: one item per programme, written with it. */
const PROGRAMMES_PK = 'PROGRAMMES';

export function loyaltyItemKey(v: LoyaltyItem): { pk: string; sk: string } {
  const pk = programmePk(v.item.programmeId);
  switch (v.kind) {
    case 'programme':
      return { pk, sk: 'DEF' };
    case 'promotion':
      return { pk, sk: `PROMOTION#${v.item.promotionId}` };
    case 'partner':
      return { pk, sk: `PARTNER#${v.item.partnerId}` };
    case 'reward':
      return { pk, sk: `REWARD#${v.item.rewardId}` };
  }
}

/** An item refused at write: the reason names each field and what was expected, never a value. */
export class InvalidLoyaltyItem extends BatonError<'invalid-loyalty-item'> {}

export interface LoyaltyItemRejection {
  readonly programmeId: string;
  readonly sk: string;
  readonly reason: string;
}

export class DynamoLoyaltyItems implements ProgrammeSource {
  private readonly caches = new Map<string, WarmCache<ProgrammeBook | undefined>>();
  private readonly rejections = new Map<string, RejectionLog>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly opts: WarmCacheOptions & { onRejected?: (r: LoyaltyItemRejection) => void } = {},
  ) {}

  /** Checks, then writes the item (the whole item replaces the stored one). */
  async put(raw: unknown): Promise<LoyaltyItem> {
    const checked = checkLoyaltyItem(raw);
    if (!checked.ok) throw new InvalidLoyaltyItem('invalid-loyalty-item', `${checked.id}: ${checked.reason}`);
    const v = checked.value;
    // A promotion, partner or reward needs its programme: refused rather than left unreachable.
    if (v.kind !== 'programme') {
      const book = await this.load(v.item.programmeId);
      if (!book) throw new InvalidLoyaltyItem('invalid-loyalty-item', `${v.kind} of programme ${v.item.programmeId}: programmeId: no such programme (put the programme first)`);
    }
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...loyaltyItemKey(v), kind: v.kind, item: raw } }));
    // The list the daily expiry run walks (one small partition, never a scan of the ledger).
    if (v.kind === 'programme') await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: PROGRAMMES_PK, sk: v.item.programmeId, programmeId: v.item.programmeId } }));
    this.caches.delete(v.item.programmeId);
    return v;
  }

  /** Every programme put (`baton loyalty put`), for the daily expiry run. */
  async programmeIds(): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': PROGRAMMES_PK }, ExclusiveStartKey: start }));
      ids.push(...(page.Items ?? []).map((i) => String(i.sk)));
      start = page.LastEvaluatedKey;
    } while (start);
    return ids;
  }

  book(programmeId: string): Promise<ProgrammeBook | undefined> {
    let cache = this.caches.get(programmeId);
    if (!cache) this.caches.set(programmeId, (cache = new WarmCache(() => this.load(programmeId), this.opts)));
    return cache.current();
  }

  /** Reads the programme's items; invalid ones are skipped, each reported once. */
  async load(programmeId: string): Promise<ProgrammeBook | undefined> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': programmePk(programmeId) }, ExclusiveStartKey: start, ConsistentRead: true }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    let programme: ProgrammeBook['programme'] | undefined;
    const promotions: Promotion[] = [];
    const partners: Partner[] = [];
    const rewards: Reward[] = [];
    let log = this.rejections.get(programmeId);
    if (!log) this.rejections.set(programmeId, (log = new RejectionLog()));
    for (const stored of items) {
      const checked = checkLoyaltyItem(stored.item);
      const sk = String(stored.sk);
      if (!checked.ok || checked.value.item.programmeId !== programmeId || loyaltyItemKey(checked.value).sk !== sk) {
        const reason = checked.ok ? `${checked.value.kind}: stored under ${sk}, which is not its key` : checked.reason;
        log.note(`${programmeId}#${sk}`, stored.item, () => this.opts.onRejected?.({ programmeId, sk, reason }));
        continue;
      }
      const v = checked.value;
      if (v.kind === 'programme') programme = v.item;
      else if (v.kind === 'promotion') promotions.push(v.item);
      else if (v.kind === 'partner') partners.push(v.item);
      else rewards.push(v.item);
    }
    log.done();
    return programme ? { programme, promotions, partners, rewards } : undefined;
  }
}
