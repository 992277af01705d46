// The decisions table: each decision with its candidates and reasons, and the outbox messages
// the channels read through the table's stream.
//
// Items (pk / sk):
//   DEC#<decisionId> / DECISION        { customerId, eventId, eventType, at, candidates[] }
//   DEC#<decisionId> / MSG#<channel>   { customerId, status, channel, template, offer, ... }  outbox
// GSI byCustomer (customerId, sk): every decision of one customer, for erasure and inspection.
import { GetCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Decision, OutboxMessage } from '../../decide.ts';

/** Decisions are kept for reports and explanations; a customer's are erased with the customer. */
export const DECISION_TTL_DAYS = 400;

export type MessageStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'suppressed';

export interface OutboxItem extends OutboxMessage {
  readonly pk: string;
  readonly sk: string;
  readonly status: MessageStatus;
  readonly createdAt: string;
  readonly attempts: number;
  readonly claimedUntil?: number;
  readonly providerMessageId?: string;
  readonly failure?: string;
}

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

export class DynamoDecisionStore {
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
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
      throw err;
    }
  }

  async complete(pk: string, sk: string, result: { status: 'sent'; providerMessageId: string } | { status: 'failed' | 'suppressed'; failure: string }, now: Date): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk, sk },
        UpdateExpression:
          result.status === 'sent'
            ? 'SET #status = :status, providerMessageId = :pid, sentAt = :now REMOVE claimedUntil'
            : 'SET #status = :status, failure = :failure, failedAt = :now REMOVE claimedUntil',
        ConditionExpression: '#status = :sending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':status': result.status,
          ':sending': 'sending',
          ':now': now.toISOString(),
          ...(result.status === 'sent' ? { ':pid': result.providerMessageId } : { ':failure': result.failure }),
        },
      }),
    );
  }

  /** Releases a claim after a transient failure, so the next attempt can claim it. */
  async release(pk: string, sk: string): Promise<void> {
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { pk, sk },
        UpdateExpression: 'SET #status = :pending REMOVE claimedUntil',
        ConditionExpression: '#status = :sending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'pending', ':sending': 'sending' },
      }),
    );
  }
}
