// The membership items and member counters of segments, as transaction items: the customers
// repository writes them in the customer's commit (./customers.ts), the segments repository reads
// them (./segments.ts). The key formats are documented in ./segments.ts.
import { hash } from 'node:crypto';
import type { MembershipCommit } from '../../app/ports.ts';
import type { TransactItem } from './counters.ts';

export const SEGMENT_PREFIX = 'SEGMENT#';
export const MEMBER_BUCKETS = 16;
export const COUNTER_SHARDS = 10;

export const memberBucket = (customerId: string): number => hash('sha256', customerId, 'buffer').readUInt16BE(0) % MEMBER_BUCKETS;
export const memberKey = (segmentId: string, customerId: string) => ({
  pk: `${SEGMENT_PREFIX}${segmentId}#${memberBucket(customerId)}`,
  sk: `CUS#${customerId}`,
});
export const counterShardKey = (segmentId: string, shard: number) => ({ pk: `SEGCOUNT#${segmentId}#${shard}`, sk: 'COUNT' });

export interface SegmentTables {
  readonly customers: string;
  readonly counters: string;
}

/** Adds ±1 to one counter shard, chosen at random: concurrent commits rarely touch the same item. */
function countItem(table: string, segmentId: string, delta: 1 | -1, random: () => number): TransactItem {
  return {
    Update: {
      TableName: table,
      Key: counterShardKey(segmentId, Math.floor(random() * COUNTER_SHARDS)),
      UpdateExpression: 'ADD members :d',
      ExpressionAttributeValues: { ':d': delta },
    },
  };
}

/**
 * The transaction items of a membership change: a membership item and +1 for each segment
 * entered, a delete and -1 for each left. Exact counts follow from the profile's version check:
 * the change is computed from the members the committed profile held.
 */
export function membershipItems(tables: SegmentTables, customerId: string, change: Pick<MembershipCommit, 'entered' | 'left' | 'at'>, random = Math.random): TransactItem[] {
  const items: TransactItem[] = [];
  for (const segmentId of change.entered) {
    items.push({ Put: { TableName: tables.customers, Item: { ...memberKey(segmentId, customerId), segmentId, customerId, since: change.at } } });
    items.push(countItem(tables.counters, segmentId, 1, random));
  }
  for (const segmentId of change.left) {
    items.push({ Delete: { TableName: tables.customers, Key: memberKey(segmentId, customerId) } });
    items.push(countItem(tables.counters, segmentId, -1, random));
  }
  return items;
}

