// The customers table: profiles, the identity index, event markers, erasure tombstones and journals.
//
// Items (pk / sk):
//   CUS#<customerId> / PROFILE   { customerId, version, state (JSON text), identities[], segments[], updatedAt }
//
// The state is stored as JSON text, not a DynamoDB map: external ids such as "__proto__" are keys
// in it, which the document client's map conversion cannot carry, and one string marshals faster.
//   ID#<kind>#<value> / ID       { customerId }                  one per linked external id
//   EVT#<eventId>    / EVT       { hash, outcome, membership?, expiresAt }    applied-once marker (TTL);
//                                membership (JSON text): the segment change, published again on a redelivery
//   SEGMENT#<segmentId>#<bucket> / CUS#<customerId>   segment members (./segments.ts)
//   ERASED#<sha256>  / ERASED    { erasedAt, expiresAt }         tombstone: hashed id only
//   ERASING#<eventId> / ERASING  { customerId, identities[], formerIds[], counters, expiresAt }
//                                an erasure under way (its journal), deleted as its last step
//   CUS#<customerId> / JOURNEY#…, TIMER#<shard> / <name>   journey positions and the timer outbox
//                                (./journeys.ts), written in the same commit transaction
import {
  BatchGetCommand,
  GetCommand,
  QueryCommand,
  ScanCommand,
  BatchWriteCommand,
  DeleteCommand,
  TransactWriteCommand,
  PutCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { type CommitResult, type CommittedMembership, type CustomerRepository, type Erasure, type ProfileChange, type Resolution, type StoredProfile } from '../../app/ports.ts';
import { type IdRef, idKey, tombstoneHash, withJsonEscapesDecoded } from '../../core/customer/identity.ts';
import { cancellationCodes } from './client.ts';
import { decisionItems } from './decisions.ts';
import { DynamoLoyaltyLedger } from './loyalty.ts';
import { deleteAttributionsOf } from './loyalty-attribution.ts';
import { claimItem, erasedTotalsItem, type TransactItem } from './counters.ts';
import { membershipItems } from './segment-members.ts';
import { deleteInstancesOf, isJourneyItem, journeyWrites } from './journeys.ts';
import { runTallyItem } from './runs.ts';
import { customerKey } from './customer-keys.ts';

const DAY = 86_400;

/** The stored form of a profile's state back to the object the domain works with. */
export function decodeState<S>(stored: unknown): S {
  return (typeof stored === 'string' ? JSON.parse(stored) : stored) as S;
}
/** Markers and tombstones outlive the bus archive (365 days) and PITR (35 days), so replays stay harmless. */
export const MARKER_TTL_DAYS = 400;
export const TOMBSTONE_TTL_DAYS = 400;

export { customerKey };
export const idItemKey = (key: string) => ({ pk: `ID#${key}`, sk: 'ID' });
export const markerKey = (eventId: string) => ({ pk: `EVT#${eventId}`, sk: 'EVT' });
const tombstoneKey = (key: string) => ({ pk: `ERASED#${tombstoneHash(key)}`, sk: 'ERASED' });
const erasingKey = (eventId: string) => ({ pk: `ERASING#${eventId}`, sk: 'ERASING' });

/**
 * The journal outlives SQS's retries and its dead-letter queue (14 days each), so a redrive still
 * finishes the erasure; it holds the customer's ids, so it does not stay longer.
 */
export const ERASURE_JOURNAL_TTL_DAYS = 30;

function toJournal(erasure: Erasure, now: Date): Item {
  return {
    ...erasingKey(erasure.eventId),
    eventId: erasure.eventId,
    hash: erasure.payloadHash,
    customerId: erasure.customerId,
    identities: [...erasure.identities],
    formerIds: [...(erasure.formerIds ?? [])],
    requestId: erasure.requestId,
    // JSON text, like the state: counter names come from event data (categories).
    counters: JSON.stringify(erasure.counters),
    startedAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + ERASURE_JOURNAL_TTL_DAYS * DAY,
  };
}

function fromJournal(item: Item): Erasure {
  return {
    eventId: item.eventId as string,
    payloadHash: item.hash as string,
    customerId: item.customerId as string,
    identities: (item.identities as string[] | undefined) ?? [],
    formerIds: (item.formerIds as string[] | undefined) ?? [],
    requestId: item.requestId as string,
    counters: JSON.parse(item.counters as string) as Record<string, number>,
  };
}

/** Whether a quarantined body names one of the (lower-case) id values, also behind JSON escapes. */
function namesAny(body: string, values: readonly string[]): boolean {
  const texts = [body.toLowerCase(), withJsonEscapesDecoded(body).toLowerCase()];
  return values.some((v) => texts.some((t) => t.includes(v)));
}

export interface DynamoCustomerTables {
  readonly customers: string;
  readonly decisions: string;
  readonly counters: string;
  /** When given, erasure also removes quarantined events that name the customer's ids. */
  readonly quarantine?: string;
  /** When given, erasure also removes the customer's loyalty accounts and entries and their sales' attributions. */
  readonly ledger?: string;
}

type Item = Record<string, unknown>;

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
      ...(out.Item.segments ? { segments: out.Item.segments as string[] } : {}),
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
            ...(change.membership?.members.length ? { segments: change.membership.members } : {}),
            updatedAt: now.toISOString(),
          },
          ConditionExpression: change.expectedVersion === 0 ? 'attribute_not_exists(pk)' : 'version = :v',
          ...(change.expectedVersion === 0 ? {} : { ExpressionAttributeValues: { ':v': change.expectedVersion } }),
        },
      },
      this.markerPut(change.eventId, change.payloadHash, 'applied', now, committedMembership(change.customerId, change.membership)),
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
    // Segments entered and left, and the memberships of merged profiles (their customer now is this one).
    if (change.membership) items.push(...membershipItems(this.tables, change.customerId, change.membership));
    for (const merged of change.mergedAway) {
      if (merged.segments?.length) items.push(...membershipItems(this.tables, merged.customerId, { entered: [], left: merged.segments, at: now.toISOString() }));
    }
    if (change.journeys) items.push(...journeyWrites(table, change.journeys, now));
    // An outbound run counts the decision with it, so a resumed run counts each member once (./runs.ts).
    if (change.runTally) items.push(runTallyItem(this.tables.counters, change.runTally));
    const firstReservation = items.length;
    for (const r of change.reservations ?? []) items.push(claimItem(this.tables.counters, r));
    const result = await this.transact(items, change.eventId, (index) => (index === 0 || items[index]?.Delete || isJourneyItem(items[index]) ? 'version' : 'identity'));
    if (result.status === 'conflict' && result.index !== undefined && result.index >= firstReservation) {
      const r = change.reservations![result.index - firstReservation]!;
      return { status: 'conflict', on: 'reservation', key: r.key };
    }
    if (result.status === 'conflict') return { status: 'conflict', on: result.on === 'reservation' ? 'version' : result.on };
    return result;
  }

  async markSeen(eventId: string, payloadHash: string, outcome: string): Promise<CommitResult> {
    // An erasure that began under this event id and was cut short (the function died) is finished
    // first: its marker is what says "erased", so it may not be written before the work is done.
    const unfinished = await this.db.send(new GetCommand({ TableName: this.tables.customers, Key: erasingKey(eventId), ConsistentRead: true }));
    if (unfinished.Item) return this.finishErasure(fromJournal(unfinished.Item), payloadHash);
    return this.transact([this.markerPut(eventId, payloadHash, outcome, this.clock())], eventId, () => 'version');
  }

  /**
   * Erasure in steps that can each be repeated, so a redelivery after a crash at any point finishes
   * the job: the journal first (what to erase), tombstones (later events are refused), decisions and
   * quarantined events, then one transaction (marker, profile, anonymous totals: exactly once), the
   * identity items, and last the journal. A redelivery finds the tombstones and goes to markSeen,
   * which resumes from the journal; before the tombstones it comes here again.
   */
  async erase(erasure: Erasure): Promise<CommitResult> {
    const table = this.tables.customers;
    // An id already used by another event is not this erasure: refuse it before any side effect.
    const seen = await this.db.send(new GetCommand({ TableName: table, Key: markerKey(erasure.eventId), ConsistentRead: true }));
    if (seen.Item && seen.Item.hash !== erasure.payloadHash) return { status: 'duplicate', samePayload: false };
    if (seen.Item) {
      // The marker is written before the journal is deleted: with no journal the erasure is done.
      const journal = await this.db.send(new GetCommand({ TableName: table, Key: erasingKey(erasure.eventId), ConsistentRead: true }));
      if (!journal.Item) return { status: 'duplicate', samePayload: true };
      return this.finishErasure(fromJournal(journal.Item), erasure.payloadHash);
    }
    return this.finishErasure(await this.startErasure(erasure), erasure.payloadHash);
  }

  /**
   * Writes the journal, or reads the one an earlier attempt wrote: its customer and counters were
   * taken from the profile before anything was deleted, so they win; the ids are the union.
   */
  private async startErasure(erasure: Erasure): Promise<Erasure> {
    const now = this.clock();
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.tables.customers,
          Item: toJournal(erasure, now),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return erasure;
    } catch (err) {
      if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
      const earlier = await this.db.send(new GetCommand({ TableName: this.tables.customers, Key: erasingKey(erasure.eventId), ConsistentRead: true }));
      if (!earlier.Item) return this.startErasure(erasure); // finished and removed meanwhile: the marker decides
      const stored = fromJournal(earlier.Item);
      return {
        ...stored,
        identities: [...new Set([...stored.identities, ...erasure.identities])],
        formerIds: [...new Set([...(stored.formerIds ?? []), ...(erasure.formerIds ?? [])])],
      };
    }
  }

  private async finishErasure(job: Erasure, payloadHash: string): Promise<CommitResult> {
    const table = this.tables.customers;
    const now = this.clock();
    const expiresAt = Math.floor(now.getTime() / 1000) + TOMBSTONE_TTL_DAYS * DAY;
    await this.batchWrite(
      table,
      job.identities.map((key) => ({ PutRequest: { Item: { ...tombstoneKey(key), erasedAt: now.toISOString(), expiresAt } } })),
    );
    for (const id of [job.customerId, ...(job.formerIds ?? [])]) {
      await this.deleteDecisionsOf(id);
      await deleteInstancesOf(this.db, table, id);
      if (this.tables.ledger) await new DynamoLoyaltyLedger(this.db, this.tables.ledger).eraseMember(id);
    }
    // An erasure whose ids still point at two profiles (not merged yet) names the second in formerIds.
    if (job.formerIds?.length) await this.batchWrite(table, job.formerIds.map((id) => ({ DeleteRequest: { Key: customerKey(id) } })));
    if (this.tables.quarantine) await this.deleteQuarantinedOf(job.identities);
    // The profile goes with its segment memberships; the delete checks the version read, so a
    // commit landing in between (its membership change) fails this step, which is then retried.
    const profile = (await this.db.send(new GetCommand({ TableName: table, Key: customerKey(job.customerId), ConsistentRead: true }))).Item;
    const segments = (profile?.segments as string[] | undefined) ?? [];
    const items: TransactItem[] = [
      this.markerPut(job.eventId, job.payloadHash, 'erased', now),
      {
        Delete: {
          TableName: table,
          Key: customerKey(job.customerId),
          ...(profile ? { ConditionExpression: 'version = :v', ExpressionAttributeValues: { ':v': profile.version } } : {}),
        },
      },
      ...membershipItems(this.tables, job.customerId, { entered: [], left: segments, at: now.toISOString() }),
    ];
    // `baton erasures reapply` passes no counters: the customer was counted when first erased.
    if (Object.values(job.counters).some(Number.isFinite)) items.push(erasedTotalsItem(this.tables.counters, job.counters));
    const result = await this.transact(items, job.eventId, () => 'version');
    if (result.status === 'conflict') return { status: 'conflict', on: 'version' }; // the journal stays: the retry resumes
    await this.batchWrite(table, job.identities.map((key) => ({ DeleteRequest: { Key: idItemKey(key) } })));
    await this.db.send(new DeleteCommand({ TableName: table, Key: erasingKey(job.eventId) }));
    if (result.status === 'committed') return result;
    return { status: 'duplicate', samePayload: job.payloadHash === payloadHash };
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
   * too, however an email is written there (ids are compared in lower case, also after decoding
   * JSON escapes). The quarantine is small (invalid events only, 30-day TTL): a scan is fine, and
   * the match is made here as DynamoDB's `contains` cannot ignore case.
   */
  private async deleteQuarantinedOf(identities: readonly string[]): Promise<void> {
    const values = [...new Set(identities.map((key) => key.slice(key.indexOf('#') + 1).toLowerCase()))].filter((v) => v.length > 0);
    if (values.length === 0) return;
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({ TableName: this.tables.quarantine!, ProjectionExpression: 'pk, sk, body', ConsistentRead: true, ExclusiveStartKey: start }),
      );
      const naming = (page.Items ?? []).filter((i) => namesAny(String(i.body ?? ''), values));
      await this.batchWrite(this.tables.quarantine!, naming.map((i) => ({ DeleteRequest: { Key: { pk: i.pk, sk: i.sk } } })));
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
          ProjectionExpression: 'pk, sk, attributions',
          ExclusiveStartKey: start,
        }),
      );
      // The sales attributed to a decision are found from it only: their markers go first.
      if (this.tables.ledger) await deleteAttributionsOf(this.db, this.tables.ledger, page.Items ?? []);
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

  private markerPut(eventId: string, hash: string, outcome: string, now: Date, membership?: CommittedMembership): TransactItem {
    return {
      Put: {
        TableName: this.tables.customers,
        Item: {
          ...markerKey(eventId),
          hash,
          outcome,
          at: now.toISOString(),
          expiresAt: Math.floor(now.getTime() / 1000) + MARKER_TTL_DAYS * DAY,
          ...(membership ? { membership: JSON.stringify(membership) } : {}),
        },
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
        const old = (err as { CancellationReasons?: { Item?: { hash?: { S?: string }; membership?: { S?: string } } }[] }).CancellationReasons?.[markerIndex]?.Item;
        const hash = (items[markerIndex]!.Put!.Item as Item).hash;
        const membership = old?.membership?.S ? (JSON.parse(old.membership.S) as CommittedMembership) : undefined;
        return { status: 'duplicate', samePayload: old?.hash?.S === hash, ...(membership ? { membership } : {}) };
      }
      // A condition that failed names the item; TransactionConflict alone means "try again".
      const failedCondition = codes.findIndex((c) => c === 'ConditionalCheckFailed');
      const index = failedCondition >= 0 ? failedCondition : codes.findIndex((c) => c !== undefined);
      return { status: 'conflict', on: conflictOn(Math.max(0, index)), index: failedCondition >= 0 ? failedCondition : undefined };
    }
  }
}

/** What the marker keeps of a membership change: only a change that publishes events. */
export function committedMembership(customerId: string, m: ProfileChange<unknown>['membership']): CommittedMembership | undefined {
  if (!m || (m.entered.length === 0 && m.left.length === 0)) return undefined;
  return { customerId, entered: m.entered, left: m.left, cause: m.cause, at: m.at };
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
