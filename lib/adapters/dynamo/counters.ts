// The counters table's items for shared limits and erased customers, and the writes that claim them.
// Claims are written inside the customers repository's commit transaction, so they are built here
// as transaction items rather than sent.
//
// Items (pk / sk):
//   BUDGET#<campaignId>            / TOTAL               { used }             messages or hundredths, over the campaign's life
//   CAPACITY#<campaignId>#<channel> / H#<yyyy-mm-ddThh>  { used, expiresAt }  messages queued in that UTC hour
//   ERASED-CUSTOMERS               / TOTALS              { customers, ... }   anonymous aggregates of erased customers
// (The channels' counters, DELIVERABILITY# and SPEND#, are kept by lib/adapters/dynamo/decisions.ts.)
import type { TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';
import type { Reservation, SharedLimit } from '../../core/campaigns/reservations.ts';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** The counter item that holds a limit's use. */
export function counterKey(on: SharedLimit): { pk: string; sk: string } {
  return on.kind === 'budget'
    ? { pk: `BUDGET#${on.campaignId}`, sk: 'TOTAL' }
    : { pk: `CAPACITY#${on.campaignId}#${on.channel}`, sk: `H#${on.hour}` };
}

/** The conditional ADD that claims `r.amount` of its limit, refused when the use would pass it. */
export function claimItem(table: string, r: Reservation): TransactItem {
  // A counter not written yet passes `attribute_not_exists`, so that shortcut is only for a claim
  // that fits the limit at all; otherwise `used <= :room` (false on a missing counter, and on any
  // use, as room < 0) refuses it.
  const fits = r.amount <= r.limit;
  return {
    Update: {
      TableName: table,
      Key: counterKey(r.on),
      UpdateExpression: r.expiresAt === undefined ? 'ADD used :amount' : 'ADD used :amount SET expiresAt = :expiresAt',
      ConditionExpression: fits ? 'attribute_not_exists(used) OR used <= :room' : 'used <= :room',
      ExpressionAttributeValues: {
        ':amount': r.amount,
        ':room': r.limit - r.amount,
        ...(r.expiresAt === undefined ? {} : { ':expiresAt': r.expiresAt }),
      },
    },
  };
}

export const ERASED_TOTALS_KEY = { pk: 'ERASED-CUSTOMERS', sk: 'TOTALS' } as const;

/** Adds one erased customer's anonymous counters to the totals (non-finite values are left out). */
export function erasedTotalsItem(table: string, counters: Record<string, number>): TransactItem {
  const finite = Object.entries(counters).filter(([, v]) => Number.isFinite(v));
  return {
    Update: {
      TableName: table,
      Key: ERASED_TOTALS_KEY,
      UpdateExpression: `ADD ${[...finite.map((_, i) => `#c${i} :c${i}`), 'customers :one'].join(', ')}`,
      ...(finite.length ? { ExpressionAttributeNames: Object.fromEntries(finite.map(([k], i) => [`#c${i}`, k])) } : {}),
      ExpressionAttributeValues: { ...Object.fromEntries(finite.map(([, v], i) => [`:c${i}`, v])), ':one': 1 },
    },
  };
}
