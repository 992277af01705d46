// POS attribution in DynamoDB (docs/loyalty.md): the offers a customer was exposed to, read from the
// decisions table's `byCustomer` index (one Query per customer, no scan), and an attribution kept
// once on the sale (ledger table) and on the decision, in one transaction.
//
// Items:
//   ledger    ATTRIBUTED#<saleId> / SALE       { customerId, decisionId, campaignId, offer, touch, revenue, currency, at }   the once-marker
//   decisions DEC#<decisionId> / DECISION      attributions: [{ saleId, campaignId, offer, revenue, currency, at, touch }]
//     (the report aggregates count an entry when it appears on the stream: lib/core/reports/aggregates.ts)
import { DeleteCommand, QueryCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AttributionStore, OfferExposures } from '../../app/ports.ts';
import { TOUCHES, type Attribution, type Exposure } from '../../core/loyalty/attribution.ts';
import { cancellationCodes } from './client.ts';

/** The sale's once-marker in the ledger table. */
const attributionKey = (saleId: string) => ({ pk: `ATTRIBUTED#${saleId}`, sk: 'SALE' });

/**
 * Erasure: the once-markers of the sales attributed to these decisions of the customer (they hold
 * the customer's id). Called before the decisions go, which are the only index of them; a replay
 * of such a sale meets the customer's tombstones and is not attributed again.
 */
export async function deleteAttributionsOf(db: DynamoDBDocumentClient, ledgerTable: string, decisions: readonly Record<string, unknown>[]): Promise<void> {
  const saleIds = decisions.flatMap((d) => ((d.attributions as { saleId?: unknown }[] | undefined) ?? []).map((a) => a.saleId)).filter((id): id is string => typeof id === 'string');
  for (const saleId of new Set(saleIds)) await db.send(new DeleteCommand({ TableName: ledgerTable, Key: attributionKey(saleId) }));
}

/** Candidates that kept the customer out of a campaign on purpose: nothing of it is attributed to them. */
const CONTROL = new Set(['holdout', 'global-control']);

export class DynamoOfferExposures implements OfferExposures {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly decisionsTable: string,
  ) {}

  async since(customerId: string, since: string): Promise<Exposure[]> {
    const out: Exposure[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      // The index has no time in its key: a customer's decisions are few, the window is applied here.
      const page = await this.db.send(
        new QueryCommand({ TableName: this.decisionsTable, IndexName: 'byCustomer', KeyConditionExpression: 'customerId = :c', ExpressionAttributeValues: { ':c': customerId }, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) out.push(...exposuresOf(item, since));
      start = page.LastEvaluatedKey;
    } while (start);
    return out;
  }
}

/** A decision's holdouts (whenever they were), and a message's touches at or after `since`. */
function exposuresOf(item: Record<string, unknown>, since: string): Exposure[] {
  const decisionId = String(item.pk).slice('DEC#'.length);
  if (item.sk === 'DECISION') {
    return ((item.candidates ?? []) as { campaignId?: string; outcome?: string }[])
      .filter((c) => c.campaignId && CONTROL.has(String(c.outcome)))
      .map((c) => ({ decisionId, campaignId: c.campaignId!, touch: 'sent' as const, at: String(item.at), holdout: true }));
  }
  // A message on the bus reached another system, not the customer.
  if (!String(item.sk).startsWith('MSG#') || item.channel === 'bus' || typeof item.campaignId !== 'string') return [];
  return TOUCHES.flatMap((touch) => {
    // `sentAt` comes with SES feedback; a send dispatch recorded is the same touch.
    const at = item[`${touch}At`] ?? (touch === 'sent' && item.status === 'sent' ? item.completedAt : undefined);
    if (typeof at !== 'string' || at < since) return [];
    return [{ decisionId, campaignId: item.campaignId as string, ...(typeof item.offer === 'string' ? { offer: item.offer } : {}), touch, at }];
  });
}

export class DynamoAttributionStore implements AttributionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly tables: { readonly ledger: string; readonly decisions: string },
  ) {}

  async record(customerId: string, saleId: string, a: Attribution, revenue: number, currency: string, saleAt = new Date().toISOString()): Promise<boolean> {
    const entry = { saleId, campaignId: a.campaignId, ...(a.offer ? { offer: a.offer } : {}), touch: a.touch, revenue, currency, at: saleAt };
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.tables.ledger,
                Item: { ...attributionKey(saleId), customerId, decisionId: a.decisionId, ...entry, touchedAt: a.at },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: this.tables.decisions,
                Key: { pk: `DEC#${a.decisionId}`, sk: 'DECISION' },
                UpdateExpression: 'SET attributions = list_append(if_not_exists(attributions, :none), :one)',
                ConditionExpression: 'attribute_exists(pk)',
                ExpressionAttributeValues: { ':none': [], ':one': [entry] },
              },
            },
          ],
        }),
      );
      return true;
    } catch (err) {
      const codes = cancellationCodes(err);
      // Attributed already (a replayed sale), or the decision is gone (erased): nothing changes.
      if (codes?.includes('ConditionalCheckFailed')) return false;
      throw err;
    }
  }
}
