// The decisions table: each decision with its candidates and reasons, and the outbox messages
// the channels read through the table's stream.
//
// Items (pk / sk):
//   DEC#<decisionId> / DECISION        { customerId, eventId, eventType, at, candidates[] }
//   DEC#<decisionId> / MSG#<channel>   { customerId, status, channel, template, offer, ... }  outbox
// GSI byCustomer (customerId, sk): every decision of one customer, for erasure and inspection.
//   (feedback) DEC#<decisionId> / MSG#<channel> also gets sentAt, deliveredAt, openedAt, ... (lib/app/feedback.ts)
//
// The counters the channels keep live in the counters table (adapters at the end of this file):
//   DELIVERABILITY#email / D#<yyyy-mm-dd>   { sent, bounces, complaints }   the deliverability guard
//   DELIVERABILITY#event / <eventId>        marker: the event was counted (TTL 2 days)
//   SPEND#sms / M#<yyyy-mm>                 { used }  micro-dollars, the SMS monthly budget
import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Decision } from '../../core/decide.ts';
import type { DeliverabilityCounter, LearningMessage, MessageStatus, OfferMessages, OutboxItem, OutboxPort, SendResult, SmsBudget } from '../../app/ports.ts';
import { PROOF_OF_SENDING, type MessageFeedback } from '../../core/channels/feedback.ts';
import { assess, windowDays, type Assessment, type DailyCounts, type GuardThresholds } from '../../core/channels/deliverability.ts';

/** The email channel's daily counts (counters table): DELIVERABILITY#email / D#<yyyy-mm-dd> { sent, bounces, complaints }. */
const deliverabilityKey = (day: string) => ({ pk: 'DELIVERABILITY#email', sk: `D#${day}` });

export type { MessageStatus, OutboxItem };

/** Decisions are kept for reports and explanations; a customer's are erased with the customer. */
export const DECISION_TTL_DAYS = 400;

export function decisionItems(decision: Decision, now: Date): Record<string, unknown>[] {
  const pk = `DEC#${decision.decisionId}`;
  const expiresAt = Math.floor(now.getTime() / 1000) + DECISION_TTL_DAYS * 86_400;
  return [
    {
      pk,
      sk: 'DECISION',
      decisionId: decision.decisionId,
      customerId: decision.customerId,
      eventId: decision.eventId,
      eventType: decision.eventType,
      at: decision.at,
      candidates: decision.candidates,
      expiresAt,
    },
    ...decision.messages.map((m) => ({
      ...m,
      pk,
      sk: `MSG#${m.channel}`,
      status: 'pending' satisfies MessageStatus,
      createdAt: decision.at,
      attempts: 0,
      expiresAt,
    })),
  ];
}

export class DynamoDecisionStore implements OutboxPort, OfferMessages {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async decision(decisionId: string): Promise<{ decision: Record<string, unknown>; messages: OutboxItem[] } | undefined> {
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `DEC#${decisionId}` },
        ConsistentRead: true,
      }),
    );
    const items = out.Items ?? [];
    const decision = items.find((i) => i.sk === 'DECISION');
    if (!decision) return undefined;
    return { decision, messages: items.filter((i) => String(i.sk).startsWith('MSG#')) as OutboxItem[] };
  }

  /** The decision's outbox messages: offers that learn credit an attributed sale to one. */
  async messagesOf(decisionId: string): Promise<readonly LearningMessage[]> {
    return (await this.decision(decisionId))?.messages ?? [];
  }

  async message(pk: string, sk: string): Promise<OutboxItem | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { pk, sk }, ConsistentRead: true }));
    return out.Item as OutboxItem | undefined;
  }

  /**
   * Claims a message before sending, so a retried batch never sends it twice. A claim that was
   * never completed (the sender crashed) can be taken again once `claimedUntil` has passed.
   */
  async claim(pk: string, sk: string, now: Date, claimMs: number): Promise<OutboxItem | undefined> {
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk },
          UpdateExpression: 'SET #status = :sending, claimedUntil = :until ADD attempts :one',
          ConditionExpression: '#status = :pending OR (#status = :sending AND claimedUntil < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':sending': 'sending',
            ':pending': 'pending',
            ':until': now.getTime() + claimMs,
            ':now': now.getTime(),
            ':one': 1,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes as OutboxItem;
    } catch (err) {
      if (isConditionFailure(err)) return undefined;
      throw err;
    }
  }

  async markSending(pk: string, sk: string, attempt: number, now: Date): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk },
          UpdateExpression: 'SET sendStartedAt = :now',
          ConditionExpression: '#status = :sending AND attempts = :attempt',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':sending': 'sending', ':attempt': attempt, ':now': now.toISOString() },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  /**
   * Records the attempt's result. A confirmed send may also land on a message already recorded
   * `sent` but unconfirmed: its attempt's provider call outlasted the claim, and the retry (which
   * did not send) could not know it went. Its answer is the evidence, so it resolves the message.
   */
  async complete(pk: string, sk: string, result: SendResult, now: Date): Promise<void> {
    const sent = result.status === 'sent';
    const confirmed = sent && !result.unconfirmed;
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk, sk },
        UpdateExpression: !sent
          ? 'SET #status = :status, failure = :failure, completedAt = :now REMOVE claimedUntil'
          : confirmed
            ? 'SET #status = :status, providerMessageId = :pid, completedAt = if_not_exists(completedAt, :now) REMOVE claimedUntil, unconfirmed'
            : 'SET #status = :status, providerMessageId = if_not_exists(providerMessageId, :pid), completedAt = :now, unconfirmed = :true REMOVE claimedUntil',
        ConditionExpression: confirmed ? '#status = :sending OR (#status = :status AND unconfirmed = :true)' : '#status = :sending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': result.status,
          ':sending': 'sending',
          ':now': now.toISOString(),
          ...(sent ? { ':pid': result.providerMessageId, ':true': true } : { ':failure': result.failure }),
        },
      }),
    );
  }

  /** Releases a claim after a transient failure, so the next attempt can claim it. */
  async release(pk: string, sk: string, opts: { clearMark?: boolean; notBefore?: string } = {}): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk, sk },
          UpdateExpression: `SET #status = :pending${opts.notBefore ? ', notBefore = :notBefore' : ''} REMOVE claimedUntil${opts.clearMark ? ', sendStartedAt' : ''}`,
          ConditionExpression: '#status = :sending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':pending': 'pending', ':sending': 'sending', ...(opts.notBefore ? { ':notBefore': opts.notBefore } : {}) },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
    }
  }

  /**
   * Records feedback on the message: the first time each thing happened; unknown messages are
   * ignored. Feedback that proves the channel took the message (PROOF_OF_SENDING) also resolves a
   * message dispatch recorded `unconfirmed`: confirmed, with the provider's message id.
   */
  async recordFeedback(f: MessageFeedback): Promise<LearningMessage | undefined> {
    let item: Record<string, unknown> | undefined;
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `DEC#${f.decisionId}`, sk: `MSG#${f.channel}` },
          UpdateExpression: `SET #f = if_not_exists(#f, :at)${f.providerMessageId ? ', providerMessageId = if_not_exists(providerMessageId, :pid)' : ''}${f.bounceType ? ', bounceType = :bt' : ''}`,
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#f': f.field },
          ExpressionAttributeValues: {
            ':at': f.at,
            ...(f.providerMessageId ? { ':pid': f.providerMessageId } : {}),
            ...(f.bounceType ? { ':bt': f.bounceType } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      item = out.Attributes;
    } catch (err) {
      if (!isConditionFailure(err)) throw err;
      return undefined;
    }
    const recorded = item as OutboxItem | undefined;
    if (item?.unconfirmed !== true || !(PROOF_OF_SENDING as readonly string[]).includes(f.field)) return recorded;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: `DEC#${f.decisionId}`, sk: `MSG#${f.channel}` },
          // The retry wrote a placeholder id ('unknown'); the provider's own id replaces it.
          UpdateExpression: `SET confirmedAt = :at, confirmedBy = :by${f.providerMessageId ? ', providerMessageId = :pid' : ''} REMOVE unconfirmed`,
          ConditionExpression: '#status = :sent AND unconfirmed = :true',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':at': f.at, ':by': f.field, ':sent': 'sent', ':true': true, ...(f.providerMessageId ? { ':pid': f.providerMessageId } : {}) },
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // resolved meanwhile by another copy of the evidence
    }
    return recorded;
  }
}

function isConditionFailure(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === 'ConditionalCheckFailedException' || name === 'TransactionCanceledException';
}

// ---- counters the channels keep (counters table) ------------------------------------------

const MARKER_TTL_S = 2 * 86_400;
const COUNTS_TTL_DAYS = 60;

/** Daily send, hard-bounce and complaint counts for the deliverability guard. */
export class DynamoDeliverabilityCounters implements DeliverabilityCounter {
  private cached: { at: number; value: Assessment } | undefined;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly opts: { thresholds?: GuardThresholds; cacheMs?: number } = {},
  ) {}

  /** Adds one event's counts exactly once: a marker item per event id in the same transaction. */
  async add(eventId: string, counts: { day: string; sent: number; bounces: number; complaints: number }): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.table,
                Item: { pk: 'DELIVERABILITY#event', sk: eventId, expiresAt: now + MARKER_TTL_S },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.table,
                Key: deliverabilityKey(counts.day),
                UpdateExpression: 'ADD sent :s, bounces :b, complaints :c SET expiresAt = :exp',
                ExpressionAttributeValues: {
                  ':s': counts.sent,
                  ':b': counts.bounces,
                  ':c': counts.complaints,
                  ':exp': Math.floor(Date.parse(`${counts.day}T00:00:00Z`) / 1000) + COUNTS_TTL_DAYS * 86_400,
                },
              },
            },
          ],
        }),
      );
    } catch (err) {
      if (!isConditionFailure(err)) throw err; // already counted
    }
  }

  async counts(now: Date, days: number): Promise<DailyCounts[]> {
    const range = windowDays(now, days);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'pk = :pk AND sk BETWEEN :from AND :to',
        ExpressionAttributeValues: { ':pk': deliverabilityKey('').pk, ':from': `D#${range[0]}`, ':to': `D#${range.at(-1)}` },
      }),
    );
    return (out.Items ?? []).map((i) => ({
      day: String(i.sk).slice(2),
      sent: Number(i.sent ?? 0),
      bounces: Number(i.bounces ?? 0),
      complaints: Number(i.complaints ?? 0),
    }));
  }

  /** The guard's assessment, cached per instance for `cacheMs` (default 60 s). */
  async assess(now: Date): Promise<Assessment> {
    const cacheMs = this.opts.cacheMs ?? 60_000;
    if (this.cached && now.getTime() - this.cached.at < cacheMs) return this.cached.value;
    const t = this.opts.thresholds;
    const value = assess(await this.counts(now, t?.windowDays ?? 7), now, t);
    this.cached = { at: now.getTime(), value };
    return value;
  }
}

/** The SMS monthly spend, claimed with a conditional ADD so the budget holds under concurrency. */
export class DynamoSmsBudget implements SmsBudget {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    readonly monthlyMicros: number,
    readonly costPerPartMicros: number,
  ) {}

  async reserve(month: string, micros: number, limit: number): Promise<boolean> {
    if (micros > limit) return false;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { pk: 'SPEND#sms', sk: `M#${month}` },
          UpdateExpression: 'ADD used :m SET expiresAt = if_not_exists(expiresAt, :exp)',
          ConditionExpression: 'attribute_not_exists(used) OR used <= :room',
          ExpressionAttributeValues: { ':m': micros, ':room': limit - micros, ':exp': Math.floor(Date.now() / 1000) + 400 * 86_400 },
        }),
      );
      return true;
    } catch (err) {
      if (isConditionFailure(err)) return false;
      throw err;
    }
  }

  async refund(month: string, micros: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk: 'SPEND#sms', sk: `M#${month}` },
        UpdateExpression: 'ADD used :m',
        ExpressionAttributeValues: { ':m': -micros },
      }),
    );
  }
}

/** Dispatch's handle on one outbox message: its key, when it may go, and its ids for logs. */
export interface OutboxRef {
  readonly pk: string;
  readonly sk: string;
  readonly notBefore?: string;
  readonly decisionId: string;
  readonly channel: string;
}

/** The outbox message a key names (a held message carries `{pk, sk, notBefore}`); undefined for any other item. */
export function outboxRef(key: unknown): OutboxRef | undefined {
  if (typeof key !== 'object' || key === null) return undefined;
  const { pk, sk, notBefore } = key as { pk?: unknown; sk?: unknown; notBefore?: unknown };
  if (typeof pk !== 'string' || typeof sk !== 'string' || !pk.startsWith('DEC#') || !sk.startsWith('MSG#')) return undefined;
  return { pk, sk, decisionId: pk.slice('DEC#'.length), channel: sk.slice('MSG#'.length), ...(typeof notBefore === 'string' ? { notBefore } : {}) };
}

/**
 * The outbox message a stream record's new image (DynamoDB JSON) asks dispatch to send; undefined
 * for decisions, feedback and status updates, which pass through.
 */
export function pendingOutboxMessage(newImage: Record<string, unknown> | undefined): OutboxRef | undefined {
  if (!newImage) return undefined;
  const item = unmarshall(newImage as Parameters<typeof unmarshall>[0]);
  return item.status === 'pending' ? outboxRef(item) : undefined;
}

// ---- a customer's decisions, for the agent's view (`baton customer show`, `baton explain --customer`) ----

export interface DecisionRecord {
  readonly decision: Record<string, unknown>;
  readonly messages: OutboxItem[];
}

/** Read-only: every decision of the given customer ids (a profile and those merged into it) through `byCustomer`. */
export class DynamoDecisionHistory {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /** The customer's decisions with their messages, newest first; `total` counts them all. */
  async ofCustomer(customerIds: readonly string[], limit = 10): Promise<{ total: number; decisions: DecisionRecord[] }> {
    const byDecision = new Map<string, { decision?: Record<string, unknown>; messages: OutboxItem[] }>();
    for (const customerId of new Set(customerIds)) {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            IndexName: 'byCustomer',
            KeyConditionExpression: 'customerId = :c',
            ExpressionAttributeValues: { ':c': customerId },
            ExclusiveStartKey: start,
          }),
        );
        for (const item of page.Items ?? []) {
          const entry = byDecision.get(String(item.pk)) ?? { messages: [] };
          if (item.sk === 'DECISION') entry.decision = item;
          else if (String(item.sk).startsWith('MSG#')) entry.messages.push(item as OutboxItem);
          byDecision.set(String(item.pk), entry);
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    // The index has no time in its key: a customer's decisions are few enough to sort here.
    const all = [...byDecision.values()]
      .filter((e): e is DecisionRecord => e.decision !== undefined)
      .sort((a, b) => String(b.decision.at).localeCompare(String(a.decision.at)));
    for (const d of all) (d.messages as OutboxItem[]).sort((a, b) => String(a.channel).localeCompare(String(b.channel)));
    return { total: all.length, decisions: all.slice(0, limit) };
  }
}
