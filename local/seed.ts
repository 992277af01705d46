// Many customers at once, straight into the tables with batch writes (tests and benchmarks of runs):
// profiles built by the real reducers from a CRM upsert and an email consent, their id items, and
// their membership of one segment with its count, and that segment's definition (static, as
// `baton segments put` writes it: a membership with no segment in force is dropped by the next
// commit or daily refresh of each member). Twenty thousand customers in seconds, where twenty
// thousand events through ingest would take minutes.
import { BatchWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { BatonEvent } from '../events/catalog.ts';
import { applyEvent, newCustomer } from '../lib/core/customer/index.ts';
import { customerKey, idItemKey } from '../lib/adapters/dynamo/customers.ts';
import { counterShardKey, memberKey } from '../lib/adapters/dynamo/segment-members.ts';
import { DynamoSegmentRepository } from '../lib/adapters/dynamo/segments.ts';
import { segmentSchema } from '../lib/core/segments/segment.ts';
import type { TableNames } from '../lib/contract/tables.ts';

export interface SeededCustomer {
  readonly customerId: string;
  readonly email: string;
  readonly timeZone: string;
}

/** Writes `segmentId` as a static segment (if absent) and the customers as its members, 25 items a call, `parallel` calls at once. */
export async function seedSegmentMembers(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'customers' | 'counters' | 'rules'>, segmentId: string, customers: readonly SeededCustomer[], at: Date, parallel = 8): Promise<void> {
  const when = at.toISOString();
  const segment = segmentSchema.parse({ segmentId, kind: 'static', description: 'seeded members' });
  await new DynamoSegmentRepository(db, tables.rules).put(segment, 'seed', { ifAbsent: true });
  const items = customers.flatMap((c) => {
    const crmId = `crm-${c.customerId}`;
    let state = newCustomer(c.customerId);
    state = applyEvent(state, { version: '0', id: `seed-${c.customerId}-1`, source: 'baton.crm', 'detail-type': 'CustomerUpserted', time: when, detail: { ids: { crmId }, occurredAt: when, profile: { email: c.email, timeZone: c.timeZone } } } as BatonEvent);
    state = applyEvent(state, { version: '0', id: `seed-${c.customerId}-2`, source: 'baton.crm', 'detail-type': 'ConsentChanged', time: when, detail: { ids: { crmId }, occurredAt: when, channel: 'email', granted: true, via: 'web-form' } } as BatonEvent);
    return [
      { ...customerKey(c.customerId), customerId: c.customerId, version: 1, state: JSON.stringify(state), identities: [`crmId#${crmId}`], segments: [segmentId], updatedAt: when },
      { ...idItemKey(`crmId#${crmId}`), customerId: c.customerId },
      { ...memberKey(segmentId, c.customerId), segmentId, customerId: c.customerId, since: when },
    ];
  });
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < items.length; i += 25) batches.push(items.slice(i, i + 25));
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let batch = batches.shift(); batch; batch = batches.shift()) {
        let pending: Record<string, unknown>[] | undefined = batch.map((Item) => ({ PutRequest: { Item } }));
        for (let attempt = 0; pending?.length; attempt++) {
          if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 20 * 2 ** attempt)));
          const out = await db.send(new BatchWriteCommand({ RequestItems: { [tables.customers]: pending as never } }));
          pending = out.UnprocessedItems?.[tables.customers] as Record<string, unknown>[] | undefined;
        }
      }
    }),
  );
  await db.send(new UpdateCommand({ TableName: tables.counters, Key: counterShardKey(segmentId, 0), UpdateExpression: 'ADD members :n', ExpressionAttributeValues: { ':n': customers.length } }));
}
