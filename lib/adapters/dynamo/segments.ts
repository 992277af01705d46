// Segments in DynamoDB: the definitions (rules table, versioned like rules), the membership items
// (customers table, written in the customer's commit transaction) and the member counts (counters
// table, sharded). See docs/segments.md.
//
// Items (pk / sk):
//   rules table     SEGMENT#<segmentId>            / CURRENT, V#000001…  the segment (./versioned.ts)
//   customers table SEGMENT#<segmentId>#<bucket>   / CUS#<customerId>    { segmentId, customerId, since }
//                   one per member; the bucket (hash of the customerId, 0..15) spreads one large
//                   segment over 16 partitions and lets a run read them in parallel
//   counters table  SEGCOUNT#<segmentId>#<shard>   / COUNT               { members }
//                   the member count in 10 shards, each commit adding ±1 to a random one: no
//                   single hot item however many customers enter at once; a read sums the shards
import { BatchGetCommand, GetCommand, QueryCommand, ScanCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CustomerPages, SegmentCounts, SegmentSource, StoredProfile } from '../../app/ports.ts';
import { checkSegment, type Segment } from '../../core/segments/segment.ts';
import { SegmentBook } from '../../core/segments/book.ts';
import { cancellationCodes } from './client.ts';
import { customerKey, decodeState } from './customers.ts';
import { COUNTER_SHARDS, counterShardKey, MEMBER_BUCKETS, membershipItems, SEGMENT_PREFIX, type SegmentTables } from './segment-members.ts';
import { RejectionLog, scanCurrent, WarmCache, type WarmCacheOptions } from './rules.ts';
import { VersionedItems, type VersionedKind } from './versioned.ts';

export { COUNTER_SHARDS, MEMBER_BUCKETS, memberBucket, memberKey, counterShardKey, membershipItems } from './segment-members.ts';

type Item = Record<string, unknown>;

// ---- definitions -------------------------------------------------------------------------

export const SEGMENT_ITEMS: VersionedKind = { noun: 'segment', prefix: SEGMENT_PREFIX, idField: 'segmentId', check: checkSegment };

/** Segment writes: every put and rollback is a new version, conditional on the one read. */
export class DynamoSegmentRepository extends VersionedItems {
  constructor(db: DynamoDBDocumentClient, table: string, clock?: () => Date) {
    super(db, table, SEGMENT_ITEMS, clock);
  }
}

/** Every live segment item of the rules table, as stored, unvalidated. */
export function scanCurrentSegments(db: DynamoDBDocumentClient, table: string): () => Promise<Item[]> {
  const scan = scanCurrent(db, table);
  return async () => (await scan()).filter((i) => String(i.__pk).startsWith(SEGMENT_PREFIX)).map(({ __pk: _pk, ...segment }) => segment);
}

export interface SegmentRejection {
  readonly segmentId: string;
  readonly reason: string;
}

export interface CachedSegmentSourceOptions extends WarmCacheOptions {
  /** Told about each invalid (or one too many) segment once, at the load that first sees it; the caller counts and logs it. */
  readonly onRejected?: (rejection: SegmentRejection) => void;
}

/** The segments in force, cached like rules; an invalid item is skipped (its last good version stays). */
export class CachedSegmentSource implements SegmentSource {
  private readonly cache: WarmCache<SegmentBook>;
  private lastGood = new Map<string, Segment>();
  private readonly rejections = new RejectionLog();

  constructor(
    private readonly load: () => Promise<unknown[]>,
    private readonly opts: CachedSegmentSourceOptions = {},
  ) {
    this.cache = new WarmCache(() => this.refresh(), opts);
  }

  current(): Promise<SegmentBook> {
    return this.cache.current();
  }

  private async refresh(): Promise<SegmentBook> {
    const good = new Map<string, Segment>();
    for (const item of await this.load()) {
      const check = checkSegment(item);
      if (check.ok) {
        // An unchanged segment keeps its object, so its compiled pattern is reused.
        const previous = this.lastGood.get(check.segment.segmentId);
        good.set(check.segment.segmentId, previous && JSON.stringify(previous) === JSON.stringify(check.segment) ? previous : check.segment);
        continue;
      }
      const previous = this.lastGood.get(check.segmentId);
      if (previous) good.set(check.segmentId, previous);
      this.rejections.note(check.segmentId, item, () => this.opts.onRejected?.({ segmentId: check.segmentId, reason: check.reason }));
    }
    const book = new SegmentBook([...good.values()]);
    for (const segmentId of book.overflow) {
      this.rejections.note(segmentId, good.get(segmentId), () =>
        this.opts.onRejected?.({ segmentId, reason: `more than ${book.size} segments are in force; the ones after it in id order are skipped` }),
      );
    }
    this.rejections.done();
    this.lastGood = good;
    return book;
  }
}

// ---- members and counts ------------------------------------------------------------------

export interface Member {
  readonly customerId: string;
  readonly since: string;
}

export class DynamoSegmentMembers implements SegmentCounts {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: SegmentTables,
    private readonly random: () => number = Math.random,
  ) {}

  /** Members per segment: the sum of its counter shards (one batch read, no scan). */
  async counts(segmentIds: readonly string[]): Promise<Map<string, number>> {
    const out = new Map(segmentIds.map((id) => [id, 0]));
    const keys = segmentIds.flatMap((id) => Array.from({ length: COUNTER_SHARDS }, (_, shard) => counterShardKey(id, shard)));
    for (let i = 0; i < keys.length; i += 100) {
      let pending: Item[] | undefined = keys.slice(i, i + 100);
      while (pending?.length) {
        const page = await this.db.send(new BatchGetCommand({ RequestItems: { [this.tables.counters]: { Keys: pending, ConsistentRead: true } } }));
        for (const item of page.Responses?.[this.tables.counters] ?? []) {
          const id = String(item.pk).slice('SEGCOUNT#'.length).replace(/#\d+$/, '');
          out.set(id, (out.get(id) ?? 0) + Number(item.members ?? 0));
        }
        pending = page.UnprocessedKeys?.[this.tables.counters]?.Keys as Item[] | undefined;
      }
    }
    return out;
  }

  /** The members of one bucket of a segment, page by page (a run reads the buckets in parallel). */
  async page(segmentId: string, bucket: number, cursor?: Item, limit = 500): Promise<{ members: Member[]; cursor?: Item }> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.tables.customers,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `${SEGMENT_PREFIX}${segmentId}#${bucket}` },
        ExclusiveStartKey: cursor,
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const members = (out.Items ?? []).map((i) => ({ customerId: String(i.customerId), since: String(i.since) }));
    return { members, ...(out.LastEvaluatedKey ? { cursor: out.LastEvaluatedKey } : {}) };
  }

  /** Every member of a segment (all buckets). */
  async members(segmentId: string): Promise<Member[]> {
    const all: Member[] = [];
    for (let bucket = 0; bucket < MEMBER_BUCKETS; bucket++) {
      let cursor: Item | undefined;
      do {
        const page = await this.page(segmentId, bucket, cursor);
        all.push(...page.members);
        cursor = page.cursor;
      } while (cursor);
    }
    return all.sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
  }

  /**
   * Adds a customer to a static segment: the profile's segment list, the membership item and the
   * count, in one transaction conditional on the profile's version (ingest's commits check the
   * same version, so neither loses the other's change). False when the customer is already a member.
   */
  async joinStatic(customerId: string, segmentId: string, now: Date): Promise<'joined' | 'member' | 'no-profile'> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const profile = (await this.db.send(new GetCommand({ TableName: this.tables.customers, Key: customerKey(customerId), ConsistentRead: true }))).Item;
      if (!profile) return 'no-profile';
      const segments = (profile.segments as string[] | undefined) ?? [];
      if (segments.includes(segmentId)) return 'member';
      try {
        await this.db.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tables.customers,
                  Key: customerKey(customerId),
                  // Both are DynamoDB reserved words.
                  UpdateExpression: 'SET #segments = :s, #version = :next',
                  ConditionExpression: '#version = :v',
                  ExpressionAttributeNames: { '#segments': 'segments', '#version': 'version' },
                  ExpressionAttributeValues: { ':s': [...segments, segmentId].sort(), ':v': profile.version, ':next': Number(profile.version) + 1 },
                },
              },
              ...membershipItems(this.tables, customerId, { entered: [segmentId], left: [], at: now.toISOString() }, this.random),
            ],
          }),
        );
        return 'joined';
      } catch (err) {
        if (!cancellationCodes(err)) throw err;
        await new Promise((r) => setTimeout(r, Math.random() * 20 * 2 ** attempt));
      }
    }
    throw new Error(`customer ${customerId} changed on every attempt to add them to segment ${segmentId}; run the import again`);
  }
}

// ---- profiles, page by page (the daily refresh) -----------------------------------------

export class DynamoCustomerPages<S> implements CustomerPages<S> {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async page(opts: { cursor?: string; limit?: number; part?: number; parts?: number }): Promise<{ profiles: StoredProfile<S>[]; cursor?: string }> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.table,
        FilterExpression: 'sk = :profile',
        ExpressionAttributeValues: { ':profile': 'PROFILE' },
        ...(opts.cursor ? { ExclusiveStartKey: JSON.parse(opts.cursor) as Item } : {}),
        ...(opts.limit ? { Limit: opts.limit } : {}),
        ...(opts.parts && opts.parts > 1 ? { Segment: opts.part ?? 0, TotalSegments: opts.parts } : {}),
        ConsistentRead: true,
      }),
    );
    const profiles = (out.Items ?? []).map((item) => ({
      customerId: String(item.customerId),
      version: Number(item.version),
      state: decodeState<S>(item.state),
      identities: (item.identities as string[] | undefined) ?? [],
      ...(item.formerIds ? { formerIds: item.formerIds as string[] } : {}),
      ...(item.segments ? { segments: item.segments as string[] } : {}),
    }));
    return { profiles, ...(out.LastEvaluatedKey ? { cursor: JSON.stringify(out.LastEvaluatedKey) } : {}) };
  }
}
