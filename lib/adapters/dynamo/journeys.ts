// Journeys in DynamoDB.
//
// Campaigns table, beside the campaign (versioned like rules, see ./versioned.ts):
//   CAMPAIGN#<campaignId> / JOURNEY#<journeyId>#CURRENT    the live journey (lib/core/journeys/journey.ts)
//   CAMPAIGN#<campaignId> / JOURNEY#<journeyId>#V#000001…  every version put; customers inside finish on theirs
// (The campaign source reads only sk = CURRENT, so these items are invisible to it.)
//
// Customers table, next to the customer's state:
//   CUS#<customerId> / JOURNEY#<journeyId>  { journeyId, version, status, seq, instance (JSON text) }
//                                           the customer's position; every write is conditional on the seq read
//   TIMER#<shard>    / <scheduleName>       { op, request (JSON text), at }   the timer outbox: a schedule to
//                                           create or delete, written in the step's transaction, removed once relayed
// Both are written inside the customers repository's commit transaction (journeyWrites), so a step,
// its position, its outbox messages and its timers are one atomic change.
import { hash } from 'node:crypto';
import { DeleteCommand, GetCommand, QueryCommand, ScanCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JourneyInstanceWrite, JourneyInstances, JourneySource, JourneyWrites, TimerOutbox } from '../../app/ports.ts';
import type { JourneyInstance, TimerRequest } from '../../core/journeys/instance.ts';
import { checkJourney } from '../../core/journeys/check.ts';
import type { Journey } from '../../core/journeys/journey.ts';
import { StaticJourneyBook, type JourneyBook } from '../../core/journeys/evaluate.ts';
import { BatonError } from '../../contract/errors.ts';
import { cancellationCodes } from './client.ts';
import { customerKey } from './customer-keys.ts';
import type { TransactItem } from './counters.ts';
import { RejectionLog, WarmCache, type WarmCacheOptions } from './rules.ts';

type Item = Record<string, unknown>;

export const TIMER_SHARDS = 16;
export const instanceKey = (customerId: string, journeyId: string) => ({ pk: `CUS#${customerId}`, sk: `JOURNEY#${journeyId}` });
const shardOf = (name: string) => hash('sha256', name, 'buffer').readUInt8(0) % TIMER_SHARDS;
export const timerKey = (name: string) => ({ pk: `TIMER#${shardOf(name)}`, sk: name });

function instanceItem(i: JourneyInstance): Item {
  return {
    ...instanceKey(i.customerId, i.journeyId),
    customerId: i.customerId,
    journeyId: i.journeyId,
    version: i.version,
    status: i.status,
    seq: i.seq,
    // JSON text, like the profile's state: one attribute, no map conversion of step ids.
    instance: JSON.stringify(i),
  };
}

export const fromItem = (item: Item): JourneyInstance => JSON.parse(String(item.instance)) as JourneyInstance;

/** The transaction items of one event's journey writes (the customers repository adds them to its commit). */
export function journeyWrites(table: string, writes: JourneyWrites, now: Date): TransactItem[] {
  const items: TransactItem[] = [];
  for (const w of writes.instances) items.push(instancePut(table, w));
  for (const r of writes.removed ?? []) {
    items.push({
      Delete: { TableName: table, Key: instanceKey(r.customerId, r.journeyId), ConditionExpression: 'seq = :seq', ExpressionAttributeValues: { ':seq': r.expectedSeq } },
    });
  }
  // One item per schedule in a transaction: the last request for a name wins.
  const timers = new Map(writes.timers.map((t) => [t.name, t]));
  for (const t of timers.values()) items.push({ Put: { TableName: table, Item: { ...timerKey(t.name), op: t.op, request: JSON.stringify(t), at: now.toISOString() } } });
  return items;
}

function instancePut(table: string, w: JourneyInstanceWrite): TransactItem {
  return {
    Put: {
      TableName: table,
      Item: instanceItem(w.instance),
      ...(w.expectedSeq === 0
        ? { ConditionExpression: 'attribute_not_exists(pk)' }
        : { ConditionExpression: 'seq = :seq', ExpressionAttributeValues: { ':seq': w.expectedSeq } }),
    },
  };
}

/** Whether a transaction item is a journey position (a failed condition there is a version conflict). */
export const isJourneyItem = (item: TransactItem | undefined): boolean => String((item?.Put?.Item as Item | undefined)?.sk ?? '').startsWith('JOURNEY#');

export class DynamoJourneyInstances implements JourneyInstances, TimerOutbox {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async load(customerId: string): Promise<JourneyInstance[]> {
    const out: JourneyInstance[] = [];
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :j)',
          ExpressionAttributeValues: { ':pk': `CUS#${customerId}`, ':j': 'JOURNEY#' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async active(journeyId: string, version: number): Promise<JourneyInstance[]> {
    const out: JourneyInstance[] = [];
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'begins_with(sk, :j) AND journeyId = :id AND version = :v AND #s = :active',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':j': 'JOURNEY#', ':id': journeyId, ':v': version, ':active': 'active' },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) out.push(fromItem(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }

  async rewrite(write: JourneyInstanceWrite, timers: readonly TimerRequest[]): Promise<boolean> {
    // The profile's version moves with the position: a function that holds the customer's profile
    // and positions in its cache (lib/adapters/caching.ts) then fails its next commit and reads both.
    const bump: TransactItem = {
      Update: {
        TableName: this.table,
        Key: customerKey(write.instance.customerId),
        UpdateExpression: 'SET #version = #version + :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeNames: { '#version': 'version' },
        ExpressionAttributeValues: { ':one': 1 },
      },
    };
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: [instancePut(this.table, write), bump, ...journeyWrites(this.table, { instances: [], timers }, this.clock())] }));
      return true;
    } catch (err) {
      if (cancellationCodes(err)?.includes('ConditionalCheckFailed')) return false;
      throw err;
    }
  }

  async pending(limit: number): Promise<TimerRequest[]> {
    const out: { at: string; request: TimerRequest }[] = [];
    for (let shard = 0; shard < TIMER_SHARDS && out.length < limit; shard++) {
      const page = await this.db.send(
        new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `TIMER#${shard}` }, ConsistentRead: true, Limit: limit }),
      );
      for (const item of page.Items ?? []) out.push({ at: String(item.at), request: JSON.parse(String(item.request)) as TimerRequest });
    }
    return out.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0)).slice(0, limit).map((o) => o.request);
  }

  async done(request: TimerRequest): Promise<void> {
    try {
      // Only the request relayed: a newer one for the same schedule (a delete after a create) stays.
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: timerKey(request.name),
          ConditionExpression: '#r = :r',
          ExpressionAttributeNames: { '#r': 'request' },
          ExpressionAttributeValues: { ':r': JSON.stringify(request) },
        }),
      );
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
    }
  }
}

// ---- the journeys themselves, in the campaigns table -----------------------------------------

const CURRENT_SUFFIX = '#CURRENT';
const journeyPk = (campaignId: string) => `CAMPAIGN#${campaignId}`;
const currentSk = (journeyId: string) => `JOURNEY#${journeyId}${CURRENT_SUFFIX}`;
const versionSk = (journeyId: string, version: number) => `JOURNEY#${journeyId}#V#${String(version).padStart(6, '0')}`;
const KEYS = ['pk', 'sk', 'updatedAt', 'updatedBy'];
const content = (item: Item): Item => Object.fromEntries(Object.entries(item).filter(([k]) => !KEYS.includes(k)));

export interface StoredJourney {
  readonly journeyId: string;
  readonly campaignId: string;
  readonly version: number | undefined;
  readonly content: Item;
  readonly updatedAt?: string;
  readonly updatedBy?: string;
}

async function scanJourneyItems(db: DynamoDBDocumentClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await db.send(
      new ScanCommand({ TableName: table, FilterExpression: 'begins_with(sk, :j)', ExpressionAttributeValues: { ':j': 'JOURNEY#' }, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

const journeyIdOfSk = (sk: string): string => sk.slice('JOURNEY#'.length).split('#')[0]!;
const toStored = (item: Item): StoredJourney => ({
  journeyId: journeyIdOfSk(String(item.sk)),
  campaignId: String(item.pk).slice('CAMPAIGN#'.length),
  version: typeof item.version === 'number' ? item.version : undefined,
  content: content(item),
  ...(typeof item.updatedAt === 'string' ? { updatedAt: item.updatedAt } : {}),
  ...(typeof item.updatedBy === 'string' ? { updatedBy: item.updatedBy } : {}),
});

/** Someone wrote the journey between this write's read and its transaction: nothing was written. */
export class JourneyWriteError extends BatonError<'version-conflict' | 'campaign-changed'> {}

/** Journey writes (the CLI): every put is a new version, conditional on the live one read. */
export class DynamoJourneyRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Every live journey, sorted by id. */
  async list(): Promise<StoredJourney[]> {
    return (await scanJourneyItems(this.db, this.table))
      .filter((i) => String(i.sk).endsWith(CURRENT_SUFFIX))
      .map(toStored)
      .sort((a, b) => a.journeyId.localeCompare(b.journeyId));
  }

  async current(journeyId: string): Promise<StoredJourney | undefined> {
    return (await this.list()).find((j) => j.journeyId === journeyId);
  }

  /** The versions of one journey, newest first. */
  async versions(journeyId: string): Promise<StoredJourney[]> {
    const live = await this.current(journeyId);
    if (!live) return [];
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': journeyPk(live.campaignId), ':v': `JOURNEY#${journeyId}#V#` },
        ScanIndexForward: false,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(toStored);
  }

  /** Writes a validated journey as the next version and makes it live. */
  async put(journey: Journey, by: string): Promise<{ journeyId: string; version: number }> {
    const live = await this.current(journey.journeyId);
    if (live && live.campaignId !== journey.campaignId) {
      throw new JourneyWriteError('campaign-changed', `journey ${journey.journeyId} belongs to campaign ${live.campaignId}; campaignId cannot change (put it under a new journeyId)`);
    }
    const newest = (await this.versions(journey.journeyId))[0]?.version ?? 0;
    const version = Math.max(newest, live?.version ?? 0) + 1;
    const now = this.clock().toISOString();
    const { version: _ignored, ...body } = journey;
    const item = { ...body, version, updatedAt: now, updatedBy: by };
    const pk = journeyPk(journey.campaignId);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { pk, sk: currentSk(journey.journeyId), ...item },
                ...(!live
                  ? { ConditionExpression: 'attribute_not_exists(pk)' }
                  : live.version === undefined
                    ? { ConditionExpression: 'attribute_not_exists(version)' }
                    : { ConditionExpression: 'version = :read', ExpressionAttributeValues: { ':read': live.version } }),
              },
            },
            { Put: { TableName: this.table, Item: { pk, sk: versionSk(journey.journeyId, version), ...item }, ConditionExpression: 'attribute_not_exists(pk)' } },
          ],
        }),
      );
    } catch (err) {
      if (cancellationCodes(err)?.includes('ConditionalCheckFailed')) {
        throw new JourneyWriteError('version-conflict', `journey ${journey.journeyId} was changed by someone else meanwhile; nothing was written: read it again and repeat`, { cause: err });
      }
      throw err;
    }
    return { journeyId: journey.journeyId, version };
  }
}

// ---- the journeys in force, cached -------------------------------------------------------------

export interface JourneyRejection {
  readonly journeyId: string;
  readonly reason: string;
  /** The version that stays in force instead, when there is one. */
  readonly kept?: number;
}

export interface CachedJourneySourceOptions extends WarmCacheOptions {
  readonly onRejected?: (rejection: JourneyRejection) => void;
}

/**
 * The journeys in force: per journey the live item if valid, else the last good version (the one this
 * process had, else the newest valid stored version); every valid stored version stays loadable for
 * the customers still on it. An invalid item is reported once and skipped.
 */
export class CachedJourneySource implements JourneySource {
  private readonly cache: WarmCache<JourneyBook>;
  private lastGood = new Map<string, Journey>();
  private readonly rejections = new RejectionLog();

  constructor(
    private readonly load: () => Promise<Item[]>,
    private readonly opts: CachedJourneySourceOptions = {},
  ) {
    this.cache = new WarmCache(() => this.refresh(), opts);
  }

  current(): Promise<JourneyBook> {
    return this.cache.current();
  }

  private async refresh(): Promise<JourneyBook> {
    const live = new Map<string, Journey>();
    const older: Journey[] = [];
    const newestValid = new Map<string, Journey>();
    const invalidLive: { journeyId: string; reason: string; item: Item }[] = [];
    for (const item of await this.load()) {
      const sk = String(item.sk);
      const isCurrent = sk.endsWith(CURRENT_SUFFIX);
      const body = content(item);
      const check = checkJourney(body);
      const journeyId = journeyIdOfSk(sk);
      if (!check.ok || check.journey.journeyId !== journeyId) {
        const reason = check.ok ? `journeyId ${check.journey.journeyId} does not match the item's key ${journeyId}` : check.reason;
        if (isCurrent) invalidLive.push({ journeyId, reason, item });
        else this.rejections.note(`${journeyId}#${sk}`, item, () => this.opts.onRejected?.({ journeyId, reason }));
        continue;
      }
      const journey = check.journey.version === undefined ? { ...check.journey, version: 1 } : check.journey;
      if (isCurrent) live.set(journeyId, journey);
      else {
        older.push(journey);
        const prev = newestValid.get(journeyId);
        if (!prev || (prev.version ?? 0) < (journey.version ?? 0)) newestValid.set(journeyId, journey);
      }
    }
    for (const bad of invalidLive) {
      const kept = this.lastGood.get(bad.journeyId) ?? newestValid.get(bad.journeyId);
      if (kept) live.set(bad.journeyId, kept);
      this.rejections.note(bad.journeyId, bad.item, () =>
        this.opts.onRejected?.({ journeyId: bad.journeyId, reason: bad.reason, ...(kept?.version ? { kept: kept.version } : {}) }),
      );
    }
    this.rejections.done();
    this.lastGood = live;
    return new StaticJourneyBook([...live.values()].sort((a, b) => (a.journeyId < b.journeyId ? -1 : 1)), older);
  }
}

/** Every journey item (live and versions) of the campaigns table, with keys, unvalidated. */
export function scanJourneys(db: DynamoDBDocumentClient, table: string): () => Promise<Item[]> {
  return () => scanJourneyItems(db, table);
}

/** One instance, for `baton customer show` and tests. */
export async function getInstance(db: DynamoDBDocumentClient, table: string, customerId: string, journeyId: string): Promise<JourneyInstance | undefined> {
  const out = await db.send(new GetCommand({ TableName: table, Key: instanceKey(customerId, journeyId), ConsistentRead: true }));
  return out.Item ? fromItem(out.Item) : undefined;
}

/** Erasure: removes the customer's journey positions (their timers then find no customer and do nothing). */
export async function deleteInstancesOf(db: DynamoDBDocumentClient, table: string, customerId: string): Promise<void> {
  const store = new DynamoJourneyInstances(db, table);
  for (const i of await store.load(customerId)) await db.send(new DeleteCommand({ TableName: table, Key: instanceKey(i.customerId, i.journeyId) }));
}
