// The aggregates table: report figures per dimension and day, sharded so no item is hot, with the
// markers that make each change count once and the exposures behind treatment, control and
// conversions.
//
// Items (pk / sk):
//   AGG#<kind>#<id>#S<shard> / D#<yyyy-mm-dd>   { decided, sent, opened, ..., "suppressed.cap", ... }
//       a cell: one of SHARDS per dimension and day; a change adds to the shard its id hashes to,
//       a report reads the SHARDS partitions of a dimension in parallel (one query each).
//   COUNTED#<changeId> / COUNTED                 marker: the change was counted (TTL 3 days, longer than a stream keeps records)
//   AGGIDS#<kind> / <id>                         the ids counted under a kind, for `baton report channel`
//   EXPOSURE#<sha256(customerId)> / <campaignId> { group, day, at, dimensions, convertedAt?, revenue? }
//       the customer's first decision in the campaign; a hash, never the id (TTL as decisions: 400 days);
//       removed when the customer is erased (forgetExposures), so the hash links to nothing any more
//   PSEUDONYM#<hmac(exportSecret, customerId)> / KEY   the analytical export's per-customer key (./pseudonyms.ts)
import { createHash } from 'node:crypto';
import {
  BatchWriteCommand,
  DeleteCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  TransactWriteCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { AggregateCell, AggregatesPort } from '../../app/ports.ts';
import { addCounts, conversionIncrements, exposureIncrements, fold, type Counts, type DimensionKind, type Exposure, type Increment, type ItemChange, type ItemKind } from '../../core/reports/aggregates.ts';

/** Shards per dimension and day: a change's writes spread over this many partitions. */
export const SHARDS = 8;
const MARKER_TTL_S = 3 * 86_400;
const EXPOSURE_TTL_DAYS = 400;
/** A transaction holds at most 100 items: the marker and 99 cells. */
const CELLS_PER_TRANSACTION = 99;

const shardOf = (key: string) => createHash('sha256').update(key).digest().readUInt32BE(0) % SHARDS;
export const cellPk = (kind: DimensionKind, id: string, shard: number) => `AGG#${kind}#${id}#S${shard}`;
const exposurePk = (customerId: string) => `EXPOSURE#${createHash('sha256').update(customerId).digest('hex')}`;
type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

export class DynamoAggregates implements AggregatesPort {
  /** Ids this instance already registered (AGGIDS#): written once per process, not per change. */
  private readonly known = new Set<string>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly opts: { now?: () => Date } = {},
  ) {}

  private cellUpdate(i: Increment, shard: number): TransactItem {
    const entries = Object.entries(i.counts).filter(([, v]) => v);
    return {
      Update: {
        TableName: this.table,
        Key: { pk: cellPk(i.dimension.kind, i.dimension.id, shard), sk: `D#${i.day}` },
        UpdateExpression: `ADD ${entries.map((_, n) => `#f${n} :v${n}`).join(', ')}`,
        ExpressionAttributeNames: Object.fromEntries(entries.map(([k], n) => [`#f${n}`, k])),
        ExpressionAttributeValues: Object.fromEntries(entries.map(([, v], n) => [`:v${n}`, v])),
      },
    };
  }

  async add(changeId: string, increments: readonly Increment[]): Promise<'added' | 'already'> {
    const cells = fold(increments).filter((c) => Object.values(c.counts).some(Boolean));
    if (!cells.length) return 'added';
    const shard = shardOf(changeId);
    let outcome: 'added' | 'already' = 'added';
    for (let part = 0; part * CELLS_PER_TRANSACTION < cells.length; part++) {
      const chunk = cells.slice(part * CELLS_PER_TRANSACTION, (part + 1) * CELLS_PER_TRANSACTION);
      const marker = part === 0 ? changeId : `${changeId}#${part}`;
      const done = await this.transact([
        {
          Put: {
            TableName: this.table,
            Item: { pk: `COUNTED#${marker}`, sk: 'COUNTED', expiresAt: this.nowS() + MARKER_TTL_S },
            ConditionExpression: 'attribute_not_exists(pk)',
          },
        },
        ...chunk.map((c) => this.cellUpdate(c, shard)),
      ]);
      if (!done) outcome = 'already';
    }
    await this.register(cells);
    return outcome;
  }

  async expose(exposure: Exposure): Promise<'added' | 'already'> {
    const increments = exposureIncrements(exposure);
    const done = await this.transact([
      {
        Put: {
          TableName: this.table,
          Item: {
            pk: exposurePk(exposure.customerId),
            sk: exposure.campaignId,
            group: exposure.group,
            day: exposure.day,
            at: exposure.at,
            dimensions: exposure.dimensions,
            expiresAt: Math.floor(Date.parse(exposure.at) / 1000) + EXPOSURE_TTL_DAYS * 86_400,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      ...fold(increments).map((c) => this.cellUpdate(c, shardOf(`${exposure.customerId}/${exposure.campaignId}`))),
    ]);
    if (done) await this.register(increments);
    return done ? 'added' : 'already';
  }

  async convert(customerId: string, at: string, revenue: number, windowDays: number): Promise<number> {
    const out = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': exposurePk(customerId) }, ConsistentRead: true }),
    );
    const goal = Date.parse(at);
    let converted = 0;
    for (const e of out.Items ?? []) {
      const exposed = Date.parse(String(e.at));
      if (e.convertedAt !== undefined || goal < exposed || goal > exposed + windowDays * 86_400_000) continue;
      const exposure = { group: e.group, day: String(e.day), dimensions: e.dimensions } as Pick<Exposure, 'group' | 'day' | 'dimensions'>;
      const done = await this.transact([
        {
          Update: {
            TableName: this.table,
            Key: { pk: e.pk, sk: e.sk },
            UpdateExpression: 'SET convertedAt = :at, revenue = :r',
            ConditionExpression: 'attribute_not_exists(convertedAt)',
            ExpressionAttributeValues: { ':at': at, ':r': revenue },
          },
        },
        ...fold(conversionIncrements(exposure, revenue)).map((c) => this.cellUpdate(c, shardOf(`${customerId}/${String(e.sk)}/goal`))),
      ]);
      if (done) converted++;
    }
    return converted;
  }

  async cells(kind: DimensionKind, id: string, from: string, to: string): Promise<AggregateCell[]> {
    const byDay = new Map<string, Counts>();
    await Promise.all(
      Array.from({ length: SHARDS }, async (_, shard) => {
        let start: Record<string, unknown> | undefined;
        do {
          const page = await this.db.send(
            new QueryCommand({
              TableName: this.table,
              KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
              ExpressionAttributeValues: { ':pk': cellPk(kind, id, shard), ':from': `D#${from}`, ':to': `D#${to}` },
              ExclusiveStartKey: start,
            }),
          );
          for (const item of page.Items ?? []) {
            const day = String(item.sk).slice(2);
            const { pk: _pk, sk: _sk, ...counts } = item;
            byDay.set(day, addCounts(byDay.get(day) ?? {}, counts as Counts));
          }
          start = page.LastEvaluatedKey;
        } while (start);
      }),
    );
    return [...byDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, counts]) => ({ day, counts }));
  }

  async ids(kind: DimensionKind): Promise<string[]> {
    const ids: string[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `AGGIDS#${kind}` }, ExclusiveStartKey: start }),
      );
      ids.push(...(page.Items ?? []).map((i) => String(i.sk)));
      start = page.LastEvaluatedKey;
    } while (start);
    return ids.sort();
  }

  async forgetExposures(customerId: string, campaignIds?: readonly string[]): Promise<number> {
    let sks = campaignIds;
    if (!sks) {
      const out = await this.db.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': exposurePk(customerId) }, ProjectionExpression: 'sk', ConsistentRead: true }),
      );
      sks = (out.Items ?? []).map((i) => String(i.sk));
    }
    const pk = exposurePk(customerId);
    await Promise.all([...new Set(sks)].map((sk) => this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk, sk } }))));
    return sks.length;
  }

  // ---- the rebuild: every cell removed, then written again from what the decisions say ----

  /** Every cell's key (AGG#...), for the rebuild to remove. */
  async clearCells(): Promise<number> {
    let removed = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'begins_with(pk, :agg)',
          ExpressionAttributeValues: { ':agg': 'AGG#' },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      const keys = (page.Items ?? []).map((i) => ({ pk: i.pk, sk: i.sk }));
      for (let i = 0; i < keys.length; i += 25) await this.batch(keys.slice(i, i + 25).map((Key) => ({ DeleteRequest: { Key } })));
      removed += keys.length;
      start = page.LastEvaluatedKey;
    } while (start);
    return removed;
  }

  /** Writes folded cells as they are (shard 0), replacing what was there. */
  async putCells(cells: readonly Increment[]): Promise<void> {
    const items = fold(cells).map((c) => ({ PutRequest: { Item: { pk: cellPk(c.dimension.kind, c.dimension.id, 0), sk: `D#${c.day}`, ...c.counts } } }));
    const pool = 8;
    for (let i = 0; i < items.length; i += 25 * pool) {
      await Promise.all(Array.from({ length: pool }, (_, k) => this.batch(items.slice(i + k * 25, i + (k + 1) * 25))));
    }
    await this.register(cells);
  }

  /** Every stored exposure (the rebuild's source for group sizes' conversions). */
  async *exposures(): AsyncGenerator<{ group: string; day: string; dimensions: Exposure['dimensions']; campaignId: string; convertedAt?: string; revenue?: number }> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({ TableName: this.table, FilterExpression: 'begins_with(pk, :e)', ExpressionAttributeValues: { ':e': 'EXPOSURE#' }, ExclusiveStartKey: start }),
      );
      for (const i of page.Items ?? []) {
        yield {
          group: String(i.group),
          day: String(i.day),
          dimensions: i.dimensions as Exposure['dimensions'],
          campaignId: String(i.sk),
          ...(i.convertedAt !== undefined ? { convertedAt: String(i.convertedAt), revenue: Number(i.revenue ?? 0) } : {}),
        };
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }

  private async register(increments: readonly Pick<Increment, 'dimension'>[]): Promise<void> {
    const fresh = [...new Map(increments.map((i) => [`${i.dimension.kind}\u0000${i.dimension.id}`, i.dimension])).entries()].filter(([k]) => !this.known.has(k));
    await Promise.all(
      fresh.map(async ([k, d]) => {
        await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: `AGGIDS#${d.kind}`, sk: d.id } }));
        this.known.add(k);
      }),
    );
  }

  /** One BatchWriteItem (at most 25 requests), retrying what was left unprocessed. */
  private async batch(requests: Record<string, unknown>[]): Promise<void> {
    let pending = requests;
    for (let attempt = 0; pending.length; attempt++) {
      const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [this.table]: pending as never } }));
      pending = (out.UnprocessedItems?.[this.table] ?? []) as Record<string, unknown>[];
      if (pending.length) await sleep(Math.min(1000, 20 * 2 ** attempt));
    }
  }

  /** True when written; false when the first item's condition refused it (already counted). Conflicts are retried. */
  private async transact(items: TransactItem[]): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.db.send(new TransactWriteCommand({ TransactItems: items }));
        return true;
      } catch (err) {
        const e = err as { name?: string; CancellationReasons?: { Code?: string }[] };
        if (e.name !== 'TransactionCanceledException') throw err;
        if (e.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed') return false;
        // Another change wrote the same shard at the same moment: retry with a jittered back-off.
        if (attempt >= 8) throw err;
        await sleep(Math.random() * Math.min(500, 10 * 2 ** attempt));
      }
    }
  }

  private nowS(): number {
    return Math.floor((this.opts.now?.() ?? new Date()).getTime() / 1000);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a decisions-table item is, from its key (./decisions.ts owns the formats: DECISION, MSG#<channel>). */
export function itemKind(item: Record<string, unknown> | undefined): ItemKind | undefined {
  const sk = String(item?.sk ?? '');
  return sk === 'DECISION' ? 'decision' : sk.startsWith('MSG#') ? 'message' : undefined;
}

/**
 * Read-only: every item of the decisions table, in `segments` parallel scans, page by page (the
 * rebuild's input). The decisions repository (./decisions.ts) owns the items; this only reads them.
 */
export async function scanDecisionItems(
  db: DynamoDBDocumentClient,
  table: string,
  onPage: (items: ItemChange[]) => void | Promise<void>,
  segments = 4,
): Promise<void> {
  await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: table, Segment: segment, TotalSegments: segments, ExclusiveStartKey: start }));
        await onPage((page.Items ?? []).map((newItem) => ({ kind: itemKind(newItem), newItem })));
        start = page.LastEvaluatedKey;
      } while (start);
    }),
  );
}
