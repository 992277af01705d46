// The points ledger in the ledger table. One posting (lib/app/ports.ts) is one TransactWriteItems:
// the transaction marker (applies once), the entries (append-only), the account's balance
// (conditional: never below 0), the lots spent (conditional on what was read), caps, partner
// budget, reward stock, the sale's record and the sharded programme counters.
//
// Items (pk / sk):
//   MEMBER#<programmeId>#<customerId> / ACCOUNT            { balance, earned, redeemed, reversed, expired, adjusted, tier, enrolledAt }
//   MEMBER#<programmeId>#<customerId> / TX#<txId>          { payloadHash, events, sale? }   the once-only marker (+ a sale's record)
//   MEMBER#<programmeId>#<customerId> / E#<at>#<txId>#<n>  { kind, points, ruleId, promotionId, ... }   the entries
//   MEMBER#<programmeId>#<customerId> / LOT#<lotId>        { points, earnedAt, expiresAt }
//   MEMBER#<programmeId>#<customerId> / CAP#<ruleId>#<period> { used }
//   CUSTOMER#<customerId>             / PROGRAMME#<programmeId>   the programmes a customer is in
//   DUE#<programmeId>#<yyyy-mm>#<shard> / <expiresAt>#<customerId>#<lotId>   what the expiry run reads
//   BUDGET#<programmeId>#<partnerId>  / TOTAL              { used }   partner-funded points, claimed like campaign budgets
//   EXPIRY#<programmeId>              / CURSOR             { from }   where the next expiry run starts
//   STOCK#<programmeId>#<rewardId>    / TOTAL              { used }   units ordered
//   STATS#<programmeId>#<shard>       / M#<yyyy-mm>        { earned, redeemed, ... }   programme-wide, sharded: no hot key
//   SETTLE#<programmeId>#<partnerId>#<shard> / M#<yyyy-mm> { funded, redeemed }
import { createHash } from 'node:crypto';
import { BatchGetCommand, DeleteCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { LedgerEntry, Lot } from '../../core/loyalty/ledger.ts';
import type { LedgerPosting, LoyaltyAccount, LoyaltyEvent, LoyaltyLedger, PostingResult, SaleOnLedger } from '../../app/ports.ts';
import { cancellationCodes } from './client.ts';
import type { TransactItem } from './counters.ts';

/** Programme-wide counters are spread over this many items, so no one key takes every posting. */
export const COUNTER_SHARDS = 16;
/** Expiry pointers per month are spread likewise. */
export const DUE_SHARDS = 4;

export const memberPk = (programmeId: string, customerId: string) => `MEMBER#${programmeId}#${customerId}`;
const shardOf = (text: string, shards: number) => createHash('sha256').update(text).digest().readUInt32BE(0) % shards;
const lotSk = (lotId: string) => `LOT#${lotId}`;
const duePk = (programmeId: string, expiresAt: string, customerId: string) => `DUE#${programmeId}#${expiresAt.slice(0, 7)}#${shardOf(customerId, DUE_SHARDS)}`;

type Item = Record<string, unknown>;

export class DynamoLoyaltyLedger implements LoyaltyLedger {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** Every item of a partition when no prefix is given. */
  private async queryAll(pk: string, skPrefix: string | undefined, range?: { from: string; to: string }): Promise<Item[]> {
    const out: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          ConsistentRead: true,
          KeyConditionExpression: range ? 'pk = :pk AND sk BETWEEN :from AND :to' : skPrefix === undefined ? 'pk = :pk' : 'pk = :pk AND begins_with(sk, :p)',
          ExpressionAttributeValues: range ? { ':pk': pk, ':from': range.from, ':to': range.to } : skPrefix === undefined ? { ':pk': pk } : { ':pk': pk, ':p': skPrefix },
          ExclusiveStartKey: start,
        }),
      );
      out.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  /**
   * Erasure (docs/operations.md): the customer's accounts, entries, lots, caps, sale records and the
   * expiry run's pointers to their lots go; programme-wide counters, budgets and settlements stay,
   * as they name no one. Each step can be repeated: an erasure that dies midway is redelivered and
   * finds what is left (the pointers go before the lots they are computed from, the programme
   * index last).
   */
  async eraseMember(customerId: string): Promise<void> {
    const memberships = await this.queryAll(`CUSTOMER#${customerId}`, 'PROGRAMME#');
    for (const membership of memberships) {
      const programmeId = String(membership.programmeId);
      const items = await this.queryAll(memberPk(programmeId, customerId), undefined);
      const pointers = items
        .filter((i) => String(i.sk).startsWith('LOT#') && typeof i.expiresAt === 'string')
        .map((lot) => ({ pk: duePk(programmeId, String(lot.expiresAt), customerId), sk: `${String(lot.expiresAt)}#${customerId}#${String(lot.sk).slice('LOT#'.length)}` }));
      for (const key of [...pointers, ...items.map((i) => ({ pk: i.pk, sk: i.sk }))]) await this.db.send(new DeleteCommand({ TableName: this.table, Key: key }));
    }
    for (const m of memberships) await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: m.pk, sk: m.sk } }));
  }

  async account(programmeId: string, customerId: string): Promise<LoyaltyAccount | undefined> {
    const pk = memberPk(programmeId, customerId);
    const [acct, lots] = await Promise.all([
      this.db.send(new GetCommand({ TableName: this.table, Key: { pk, sk: 'ACCOUNT' }, ConsistentRead: true })),
      this.queryAll(pk, 'LOT#'),
    ]);
    if (!acct.Item) return undefined;
    return {
      programmeId,
      customerId,
      balance: Number(acct.Item.balance ?? 0),
      earned: Number(acct.Item.earned ?? 0),
      tier: acct.Item.tier as string | undefined,
      lots: lots.map((l): Lot => ({ lotId: String(l.lotId), earnedAt: String(l.earnedAt), expiresAt: l.expiresAt as string | undefined, points: Number(l.points) })),
    };
  }

  async enrol(programmeId: string, customerId: string, at: string): Promise<boolean> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.table, Item: { pk: memberPk(programmeId, customerId), sk: 'ACCOUNT', programmeId, customerId, balance: 0, earned: 0, enrolledAt: at }, ConditionExpression: 'attribute_not_exists(pk)' } },
            { Put: { TableName: this.table, Item: { pk: `CUSTOMER#${customerId}`, sk: `PROGRAMME#${programmeId}`, programmeId, enrolledAt: at } } },
          ],
        }),
      );
      return true;
    } catch (err) {
      if (cancellationCodes(err)?.[0] === 'ConditionalCheckFailed') return false;
      throw err;
    }
  }

  async programmesOf(customerId: string): Promise<string[]> {
    return (await this.queryAll(`CUSTOMER#${customerId}`, 'PROGRAMME#')).map((i) => String(i.programmeId));
  }

  async sale(programmeId: string, customerId: string, saleTxId: string): Promise<SaleOnLedger | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: memberPk(programmeId, customerId), sk: `TX#${saleTxId}` }, ConsistentRead: true }));
    return out.Item?.sale as SaleOnLedger | undefined;
  }

  async capUsed(programmeId: string, customerId: string, keys: readonly string[]): Promise<Map<string, number>> {
    const pk = memberPk(programmeId, customerId);
    const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys.map((k) => ({ pk, sk: `CAP#${k}` })), ConsistentRead: true } } }));
    return new Map((out.Responses?.[this.table] ?? []).map((i) => [String(i.sk).slice('CAP#'.length), Number(i.used ?? 0)]));
  }

  async entries(programmeId: string, customerId: string): Promise<LedgerEntry[]> {
    return (await this.queryAll(memberPk(programmeId, customerId), 'E#')).map((i) => i.entry as LedgerEntry);
  }

  async expiring(programmeId: string, from: string, to: string): Promise<{ customerId: string; lotId: string; expiresAt: string }[]> {
    const months: string[] = [];
    for (let d = new Date(`${from.slice(0, 7)}-01T00:00:00.000Z`); d.toISOString().slice(0, 7) <= to.slice(0, 7); d.setUTCMonth(d.getUTCMonth() + 1)) months.push(d.toISOString().slice(0, 7));
    const pages = await Promise.all(
      months.flatMap((m) => Array.from({ length: DUE_SHARDS }, (_, s) => this.queryAll(`DUE#${programmeId}#${m}#${s}`, '', { from, to: `${to}` }))),
    );
    return pages.flat().filter((i) => String(i.sk) < to).map((i) => ({ customerId: String(i.customerId), lotId: String(i.lotId), expiresAt: String(i.expiresAt) })).sort((a, b) => (a.expiresAt < b.expiresAt ? -1 : 1));
  }

  async expiryCursor(programmeId: string): Promise<string | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: `EXPIRY#${programmeId}`, sk: 'CURSOR' }, ConsistentRead: true }));
    return out.Item?.from as string | undefined;
  }

  async setExpiryCursor(programmeId: string, from: string): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: `EXPIRY#${programmeId}`, sk: 'CURSOR', from } }));
  }

  async settlement(programmeId: string, partnerId: string, month: string): Promise<{ funded: number; redeemed: number }> {
    const keys = Array.from({ length: COUNTER_SHARDS }, (_, s) => ({ pk: `SETTLE#${programmeId}#${partnerId}#${s}`, sk: `M#${month}` }));
    const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }));
    const items = out.Responses?.[this.table] ?? [];
    return { funded: items.reduce((s, i) => s + Number(i.funded ?? 0), 0), redeemed: items.reduce((s, i) => s + Number(i.redeemed ?? 0), 0) };
  }

  /** The programme-wide totals of a month, summed over the shards. */
  async totals(programmeId: string, month: string): Promise<Record<string, number>> {
    const keys = Array.from({ length: COUNTER_SHARDS }, (_, s) => ({ pk: `STATS#${programmeId}#${s}`, sk: `M#${month}` }));
    const out = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }));
    const sum: Record<string, number> = {};
    for (const i of out.Responses?.[this.table] ?? []) for (const [k, v] of Object.entries(i)) if (typeof v === 'number') sum[k] = (sum[k] ?? 0) + v;
    return sum;
  }

  /** The transaction items of a posting, each with what its failed condition means. */
  postingItems(p: LedgerPosting): { items: TransactItem[]; labels: string[] } {
    const T = this.table;
    const pk = memberPk(p.programmeId, p.customerId);
    const items: TransactItem[] = [];
    const labels: string[] = [];
    const add = (label: string, item: TransactItem) => (items.push(item), labels.push(label));
    const sharedSale = p.sale && p.sale.saleTxId === p.txId;

    add('tx', {
      Put: {
        TableName: T,
        Item: { pk, sk: `TX#${p.txId}`, payloadHash: p.payloadHash, at: p.at, events: p.events, ...(sharedSale ? { sale: p.sale!.record } : {}) },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    });
    // The balance: ADD keeps concurrent postings from overwriting each other; the condition keeps it >= 0.
    const totals = Object.entries(p.totals ?? {}).filter(([, v]) => v !== undefined && v !== 0) as [string, number][];
    const need = Math.max(0, -p.delta);
    add('balance', {
      Update: {
        TableName: T,
        Key: { pk, sk: 'ACCOUNT' },
        UpdateExpression: `ADD balance :delta${totals.map(([k]) => `, ${k} :t_${k}`).join('')}${p.tier !== undefined ? ' SET tier = :tier' : ''}`,
        ConditionExpression: need > 0 ? 'balance >= :need' : 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':delta': p.delta, ...Object.fromEntries(totals.map(([k, v]) => [`:t_${k}`, v])), ...(need > 0 ? { ':need': need } : {}), ...(p.tier !== undefined ? { ':tier': p.tier } : {}) },
      },
    });
    p.entries.forEach((entry, n) => add('entry', { Put: { TableName: T, Item: { pk, sk: `E#${entry.at}#${p.txId}#${n}`, entry } } }));
    if (p.newLot) {
      const lot = p.newLot;
      add('lot', { Put: { TableName: T, Item: { pk, sk: lotSk(lot.lotId), ...lot }, ConditionExpression: 'attribute_not_exists(pk)' } });
      if (lot.expiresAt) add('due', { Put: { TableName: T, Item: { pk: duePk(p.programmeId, lot.expiresAt, p.customerId), sk: `${lot.expiresAt}#${p.customerId}#${lot.lotId}`, customerId: p.customerId, lotId: lot.lotId, expiresAt: lot.expiresAt } } });
    }
    for (const t of p.takes) {
      add('lot', {
        Update: { TableName: T, Key: { pk, sk: lotSk(t.lotId) }, UpdateExpression: 'SET points = :left', ConditionExpression: 'points = :had', ExpressionAttributeValues: { ':left': t.had - t.points, ':had': t.had } },
      });
    }
    for (const c of p.caps ?? []) {
      add('cap', {
        Update: {
          TableName: T,
          Key: { pk, sk: `CAP#${c.key}` },
          UpdateExpression: 'ADD used :add',
          ConditionExpression: c.had === 0 ? 'attribute_not_exists(used) OR used = :had' : 'used = :had',
          ExpressionAttributeValues: { ':add': c.add, ':had': c.had },
        },
      });
    }
    for (const b of p.partnerBudgets ?? []) add(`budget:${b.partnerId}`, claim(T, { pk: `BUDGET#${p.programmeId}#${b.partnerId}`, sk: 'TOTAL' }, b.points, b.limit));
    if (p.stock) add('stock', claim(T, { pk: `STOCK#${p.programmeId}#${p.stock.rewardId}`, sk: 'TOTAL' }, 1, p.stock.limit));
    if (p.sale && !sharedSale) {
      add('sale', {
        Update: {
          TableName: T,
          Key: { pk, sk: `TX#${p.sale.saleTxId}` },
          UpdateExpression: 'SET sale.refunded = :refunded, sale.reversed = :reversed',
          ConditionExpression: 'sale.refunded = :expected',
          ExpressionAttributeValues: { ':refunded': p.sale.record.refunded, ':reversed': p.sale.record.reversed, ':expected': p.sale.expectRefunded ?? 0 },
        },
      });
    }
    if (p.expiredLot) add('due', { Delete: { TableName: T, Key: { pk: duePk(p.programmeId, p.expiredLot.expiresAt, p.customerId), sk: `${p.expiredLot.expiresAt}#${p.customerId}#${p.expiredLot.lotId}` } } });
    const month = p.at.slice(0, 7);
    const stats = Object.entries({ postings: 1, ...(p.totals ?? {}) }).filter(([, v]) => v !== undefined && v !== 0) as [string, number][];
    add('stats', {
      Update: {
        TableName: T,
        Key: { pk: `STATS#${p.programmeId}#${shardOf(p.txId, COUNTER_SHARDS)}`, sk: `M#${month}` },
        UpdateExpression: `ADD ${stats.map(([k]) => `${k} :s_${k}`).join(', ')}`,
        ExpressionAttributeValues: Object.fromEntries(stats.map(([k, v]) => [`:s_${k}`, v])),
      },
    });
    for (const s of p.settlement ?? []) {
      add('settlement', {
        Update: {
          TableName: T,
          Key: { pk: `SETTLE#${p.programmeId}#${s.partnerId}#${shardOf(p.txId, COUNTER_SHARDS)}`, sk: `M#${month}` },
          UpdateExpression: 'ADD funded :f, redeemed :r',
          ExpressionAttributeValues: { ':f': s.funded, ':r': s.redeemed },
        },
      });
    }
    return { items, labels };
  }

  async post(p: LedgerPosting): Promise<PostingResult> {
    const { items, labels } = this.postingItems(p);
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return { status: 'committed' };
    } catch (err) {
      const codes = cancellationCodes(err);
      if (!codes) throw err;
      if (codes[0] === 'ConditionalCheckFailed') {
        const marker = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk: memberPk(p.programmeId, p.customerId), sk: `TX#${p.txId}` }, ConsistentRead: true }));
        return { status: 'duplicate', events: (marker.Item?.events as LoyaltyEvent[] | undefined) ?? [] };
      }
      const failed = codes.findIndex((c) => c === 'ConditionalCheckFailed');
      if (failed >= 0) return { status: 'refused', on: labels[failed] === 'balance' && p.delta >= 0 ? 'account' : labels[failed]! };
      // TransactionConflict and the like: another writer on the same items; compute again.
      return { status: 'refused', on: 'conflict' };
    }
  }

  /** Writes a bare item (tests and the bench's baseline). */
  async putRaw(item: Item): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: item }));
  }
}

/** A conditional ADD of `amount` to a counter, refused when it would pass `limit` (like campaign budgets). */
function claim(table: string, key: { pk: string; sk: string }, amount: number, limit: number): TransactItem {
  return {
    Update: {
      TableName: table,
      Key: key,
      UpdateExpression: 'ADD used :amount',
      ConditionExpression: amount <= limit ? 'attribute_not_exists(used) OR used <= :room' : 'used <= :room',
      ExpressionAttributeValues: { ':amount': amount, ':room': limit - amount },
    },
  };
}
