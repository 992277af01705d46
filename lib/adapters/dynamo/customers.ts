// The customers table: profiles, the identity index, event markers and erasure tombstones.
//
// Items (pk / sk):
//   CUS#<customerId> / PROFILE   { customerId, version, state (JSON text), identities[], updatedAt }
//
// The state is stored as JSON text, not a DynamoDB map: external ids such as "__proto__" are keys
// in it, which the document client's map conversion cannot carry, and one string marshals faster.
//   ID#<kind>#<value> / ID       { customerId }                  one per linked external id
//   EVT#<eventId>    / EVT       { hash, outcome, expiresAt }    applied-once marker (TTL)
//   ERASED#<sha256>  / ERASED    { erasedAt, expiresAt }         tombstone: hashed id only
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  ScanCommand,
  BatchWriteCommand,
  TransactWriteCommand,
  PutCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { type CommitResult, type CustomerRepository, type Erasure, type ProfileChange, type Resolution, type StoredProfile } from '../../app/ports.ts';
import { type IdRef, idKey, tombstoneHash } from '../../core/customer/identity.ts';
import { reservationKey } from '../../core/campaigns/reservations.ts';
import { cancellationCodes } from './client.ts';
import { decisionItems } from './decisions.ts';

const DAY = 86_400;

/** The stored form of a profile's state back to the object the domain works with. */
export function decodeState<S>(stored: unknown): S {
  return (typeof stored === 'string' ? JSON.parse(stored) : stored) as S;
}
/** Markers and tombstones outlive the bus archive (365 days) and PITR (35 days), so replays stay harmless. */
export const MARKER_TTL_DAYS = 400;
export const TOMBSTONE_TTL_DAYS = 400;

export const customerKey = (customerId: string) => ({ pk: `CUS#${customerId}`, sk: 'PROFILE' });
const idItemKey = (key: string) => ({ pk: `ID#${key}`, sk: 'ID' });
const markerKey = (eventId: string) => ({ pk: `EVT#${eventId}`, sk: 'EVT' });
const tombstoneKey = (key: string) => ({ pk: `ERASED#${tombstoneHash(key)}`, sk: 'ERASED' });

export interface DynamoCustomerTables {
  readonly customers: string;
  readonly decisions: string;
  readonly counters: string;
  /** When given, erasure also removes quarantined events that name the customer's ids. */
  readonly quarantine?: string;
}

type Item = Record<string, unknown>;
type TransactItem = NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']>[number];

export class DynamoCustomerRepository<S> implements CustomerRepository<S> {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: DynamoCustomerTables,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async resolve(ids: readonly IdRef[]): Promise<Resolution> {
    if (ids.length === 0) return { links: new Map(), erased: false };
    const keys = ids.map(idKey);
    const table = this.tables.customers;
    const requested = [...keys.map(idItemKey), ...keys.map(tombstoneKey)];
    const items: Item[] = [];
    let pending: Record<string, { Keys: Item[] }> | undefined = { [table]: { Keys: requested } };
    while (pending && Object.keys(pending).length) {
      const out = await this.db.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending[table]!.Keys, ConsistentRead: true } } }),
      );
      items.push(...(out.Responses?.[table] ?? []));
      pending = out.UnprocessedKeys as typeof pending;
    }
    const links = new Map<string, string>();
    let erased = false;
    for (const item of items) {
      const pk = item.pk as string;
      if (pk.startsWith('ERASED#')) erased = true;
      else links.set(pk.slice(3), item.customerId as string);
    }
    return { links, erased };
  }

  async load(customerId: string): Promise<StoredProfile<S> | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.tables.customers, Key: customerKey(customerId), ConsistentRead: true }));
    if (!out.Item) return undefined;
    return {
      customerId,
      version: out.Item.version as number,
      state: decodeState<S>(out.Item.state),
      identities: (out.Item.identities as string[] | undefined) ?? [],
      ...(out.Item.formerIds ? { formerIds: out.Item.formerIds as string[] } : {}),
    };
  }

  async commit(change: ProfileChange<S>): Promise<CommitResult> {
    const table = this.tables.customers;
    const now = this.clock();
    const items: TransactItem[] = [
      {
        Put: {
          TableName: table,
          Item: {
            ...customerKey(change.customerId),
            customerId: change.customerId,
            version: change.expectedVersion + 1,
            state: JSON.stringify(change.state),
            identities: change.identities,
            ...(change.formerIds?.length ? { formerIds: change.formerIds } : {}),
            updatedAt: now.toISOString(),
          },
          ConditionExpression: change.expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
          ...(change.expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':v': change.expectedVersion } }),
        },
      },
      this.markerPut(change.eventId, change.payloadHash, 'applied', now),
    ];
    // Ids linked anew, and ids of merged profiles re-pointed; each item once per transaction.
    const owners = new Map<string, string | undefined>();
    for (const key of change.newLinks) owners.set(key, undefined);
    for (const merged of change.mergedAway) for (const key of merged.identities) owners.set(key, merged.customerId);
    for (const [key, previousOwner] of owners) {
      items.push({
        Put: {
          TableName: table,
          Item: { ...idItemKey(key), customerId: change.customerId },
          ConditionExpression: previousOwner
            ? 'customerId = :previous'
            : 'attribute_not_exists(pk) OR customerId = :customer',
          ExpressionAttributeValues: previousOwner ? { ':previous': previousOwner } : { ':customer': change.customerId },
        },
      });
    }
    for (const merged of change.mergedAway) {
      items.push({
        Delete: {
          TableName: table,
          Key: customerKey(merged.customerId),
          ConditionExpression: 'version = :v',
          ExpressionAttributeValues: { ':v': merged.version },
        },
      });
    }
    if (change.decision) {
      for (const item of decisionItems(change.decision, now)) items.push({ Put: { TableName: this.tables.decisions, Item: item } });
    }
    const firstReservation = items.length;
    for (const r of change.reservations ?? []) {
      items.push({
        Update: {
          TableName: this.tables.counters,
          Key: { pk: r.pk, sk: r.sk },
          UpdateExpression: r.expiresAt === undefined ? 'ADD used :amount' : 'ADD used :amount SET expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(used) OR used <= :room',
          ExpressionAttributeValues: {
            ':amount': r.amount,
            ':room': r.limit - r.amount,
            ...(r.expiresAt === undefined ? {} : { ':expiresAt': r.expiresAt }),
          },
        },
      });
    }
    const result = await this.transact(items, change.eventId, (index) => (index === 0 || items[index]?.Delete ? 'version' : 'identity'));
    if (result.status === 'conflict' && result.index !== undefined && result.index >= firstReservation) {
      const r = change.reservations![result.index - firstReservation]!;
      return { status: 'conflict', on: 'reservation', key: reservationKey(r) };
    }
    if (result.status === 'conflict') return { status: 'conflict', on: result.on === 'reservation' ? 'version' : result.on };
    return result;
  }

  async markSeen(eventId: string, payloadHash: string, outcome: string): Promise<CommitResult> {
    return this.transact([this.markerPut(eventId, payloadHash, outcome, this.clock())], eventId, () => 'version');
  }

  async erase(erasure: Erasure): Promise<CommitResult> {
    const table = this.tables.customers;
    const now = this.clock();
    const expiresAt = Math.floor(now.getTime() / 1000) + TOMBSTONE_TTL_DAYS * DAY;
    // An id already used by another event is not this erasure: refuse it before any side effect.
    // The same event again (a retry after a crash) goes on and finishes the job.
    const seen = await this.db.send(new GetCommand({ TableName: table, Key: markerKey(erasure.eventId), ConsistentRead: true }));
    if (seen.Item && seen.Item.hash !== erasure.payloadHash) return { status: 'duplicate', samePayload: false };
    // Tombstones first (idempotent): if the rest fails, later events are already refused.
    await this.batchWrite(
      table,
      erasure.identities.map((key) => ({ PutRequest: { Item: { ...tombstoneKey(key), erasedAt: now.toISOString(), expiresAt } } })),
    );
    for (const id of [erasure.customerId, ...(erasure.formerIds ?? [])]) await this.deleteDecisionsOf(id);
    if (this.tables.quarantine) await this.deleteQuarantinedOf(erasure.identities);
    const result = await this.transact(
      [
        this.markerPut(erasure.eventId, erasure.payloadHash, 'erased', now),
        { Delete: { TableName: table, Key: customerKey(erasure.customerId) } },
      ],
      erasure.eventId,
      () => 'version',
    );
    if (result.status !== 'committed') return result;
    await this.batchWrite(
      table,
      erasure.identities.map((key) => ({ DeleteRequest: { Key: idItemKey(key) } })),
    );
    const counters = Object.entries(erasure.counters).filter(([, v]) => Number.isFinite(v));
    if (counters.length) {
      await this.db.send(
        new UpdateCommand({
          TableName: this.tables.counters,
          Key: { pk: 'ERASED-CUSTOMERS', sk: 'TOTALS' },
          UpdateExpression: `ADD ${counters.map((_, i) => `#c${i} :c${i}`).join(', ')}, customers :one`,
          ExpressionAttributeNames: Object.fromEntries(counters.map(([k], i) => [`#c${i}`, k])),
          ExpressionAttributeValues: { ...Object.fromEntries(counters.map(([, v], i) => [`:c${i}`, v])), ':one': 1 },
        }),
      );
    }
    return result;
  }

  /** Re-applies erasures after a point-in-time restore: any linked id with a tombstone is erased again. */
  async idsWithTombstones(keys: readonly string[]): Promise<string[]> {
    const resolution = await Promise.all(keys.map(async (key) => {
      const out = await this.db.send(new GetCommand({ TableName: this.tables.customers, Key: tombstoneKey(key) }));
      return out.Item ? key : undefined;
    }));
    return resolution.filter((k): k is string => k !== undefined);
  }

  /**
   * Quarantined events keep their original payload; those naming one of the customer's ids go
   * too. The quarantine is small (invalid events only, 30-day TTL), so a filtered scan is fine.
   */
  private async deleteQuarantinedOf(identities: readonly string[]): Promise<void> {
    const values = [...new Set(identities.map((key) => key.slice(key.indexOf('#') + 1)))].slice(0, 50);
    if (values.length === 0) return;
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.tables.quarantine!,
          FilterExpression: values.map((_, i) => `contains(body, :v${i})`).join(' OR '),
          ExpressionAttributeValues: Object.fromEntries(values.map((v, i) => [`:v${i}`, v])),
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      await this.batchWrite(this.tables.quarantine!, (page.Items ?? []).map((i) => ({ DeleteRequest: { Key: { pk: i.pk, sk: i.sk } } })));
      start = page.LastEvaluatedKey;
    } while (start);
  }

  private async deleteDecisionsOf(customerId: string): Promise<void> {
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.tables.decisions,
          IndexName: 'byCustomer',
          KeyConditionExpression: 'customerId = :c',
          ExpressionAttributeValues: { ':c': customerId },
          ProjectionExpression: 'pk, sk',
          ExclusiveStartKey: start,
        }),
      );
      await this.batchWrite(
        this.tables.decisions,
        (page.Items ?? []).map((i) => ({ DeleteRequest: { Key: { pk: i.pk, sk: i.sk } } })),
      );
      start = page.LastEvaluatedKey;
    } while (start);
  }

  private async batchWrite(table: string, requests: Item[]): Promise<void> {
    for (let i = 0; i < requests.length; i += 25) {
      let pending: Item[] | undefined = requests.slice(i, i + 25);
      for (let attempt = 0; pending?.length; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, Math.random() * Math.min(1000, 20 * 2 ** attempt)));
        const out = await this.db.send(new BatchWriteCommand({ RequestItems: { [table]: pending as never } }));
        pending = out.UnprocessedItems?.[table] as Item[] | undefined;
      }
    }
  }

  private markerPut(eventId: string, hash: string, outcome: string, now: Date): TransactItem {
    return {
      Put: {
        TableName: this.tables.customers,
        Item: { ...markerKey(eventId), hash, outcome, at: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + MARKER_TTL_DAYS * DAY },
        ConditionExpression: 'attribute_not_exists(pk)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      },
    };
  }

  private async transact(
    items: TransactItem[],
    eventId: string,
    conflictOn: (index: number) => 'version' | 'identity',
  ): Promise<CommitResult & { index?: number }> {
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
      return { status: 'committed' };
    } catch (err) {
      const codes = cancellationCodes(err);
      if (!codes) throw err;
      const markerIndex = items.findIndex((i) => (i.Put?.Item as Item | undefined)?.pk === `EVT#${eventId}`);
      if (codes[markerIndex] === 'ConditionalCheckFailed') {
        // lib-dynamodb leaves ALL_OLD in raw AttributeValue form inside the error.
        const old = (err as { CancellationReasons?: { Item?: { hash?: { S?: string } } }[] }).CancellationReasons?.[markerIndex]?.Item;
        const hash = (items[markerIndex]!.Put!.Item as Item).hash;
        return { status: 'duplicate', samePayload: old?.hash?.S === hash };
      }
      // A condition that failed names the item; TransactionConflict alone means "try again".
      const failedCondition = codes.findIndex((c) => c === 'ConditionalCheckFailed');
      const index = failedCondition >= 0 ? failedCondition : codes.findIndex((c) => c !== undefined);
      return { status: 'conflict', on: conflictOn(Math.max(0, index)), index: failedCondition >= 0 ? failedCondition : undefined };
    }
  }
}

/** Used by `baton erasures reapply`: puts a tombstone without touching anything else. */
export async function putTombstone(db: DynamoDBDocumentClient, table: string, key: string, now = new Date()): Promise<void> {
  await db.send(
    new PutCommand({
      TableName: table,
      Item: { ...tombstoneKey(key), erasedAt: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + TOMBSTONE_TTL_DAYS * DAY },
    }),
  );
}

/**
 * Used by `baton erasures reapply` after a point-in-time restore: every customer with a linked id
 * under a tombstone, with all its linked ids, and how many tombstones the table holds. One scan.
 */
export async function customersUnderTombstones(
  db: DynamoDBDocumentClient,
  table: string,
): Promise<{ tombstones: number; customers: Map<string, string[]> }> {
  const tombstones = new Set<string>();
  const owners = new Map<string, string>();
  let start: Item | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start, ProjectionExpression: 'pk, customerId' }));
    for (const item of page.Items ?? []) {
      const pk = String(item.pk);
      if (pk.startsWith('ERASED#')) tombstones.add(pk.slice('ERASED#'.length));
      else if (pk.startsWith('ID#')) owners.set(pk.slice('ID#'.length), String(item.customerId));
    }
    start = page.LastEvaluatedKey;
  } while (start);
  const linked = new Map<string, string[]>();
  for (const [key, customerId] of owners) linked.set(customerId, [...(linked.get(customerId) ?? []), key]);
  const customers = new Map([...linked].filter(([, keys]) => keys.some((key) => tombstones.has(tombstoneHash(key)))));
  return { tombstones: tombstones.size, customers };
}
