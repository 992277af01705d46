// `baton erasures reapply`: after a point-in-time restore brings erased customers back, erase
// every customer with an id under a tombstone again. Tombstones hold only hashed ids.
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { tombstoneHash } from '../../lib/core/customer/identity.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { tables, UsageError, type CliFlags } from '../io.ts';

export const command = {
  name: 'erasures',
  usage: 'erasures reapply                  erase again every restored customer whose id has a tombstone',
  async run([sub]: string[], flags: CliFlags): Promise<number> {
    if (sub !== 'reapply') throw new UsageError('usage: baton erasures reapply');
    const { db, names } = tables(flags);
    const repo = new DynamoCustomerRepository<CustomerState>(db, names);
    try {
      const tombstones = new Set<string>();
      const owners = new Map<string, string>();
      let start: Record<string, unknown> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: names.customers, ExclusiveStartKey: start, ProjectionExpression: 'pk, customerId' }));
        for (const item of page.Items ?? []) {
          const pk = String(item.pk);
          if (pk.startsWith('ERASED#')) tombstones.add(pk.slice(7));
          else if (pk.startsWith('ID#')) owners.set(pk.slice(3), String(item.customerId));
        }
        start = page.LastEvaluatedKey;
      } while (start);
      const toErase = new Set([...owners].filter(([key]) => tombstones.has(tombstoneHash(key))).map(([, customerId]) => customerId));
      const stamp = new Date().toISOString();
      for (const customerId of toErase) {
        const profile = await repo.load(customerId);
        const identities = profile?.identities ?? [...owners].filter(([, c]) => c === customerId).map(([k]) => k);
        await repo.erase({
          eventId: `erasure-reapply-${customerId}-${stamp}`,
          payloadHash: 'reapply',
          customerId,
          identities,
          requestId: 'reapply',
          // Counted when first erased; adding them again would count the customer twice.
          counters: {},
        });
      }
      console.log(`${tombstones.size} tombstones; erased again: ${toErase.size} customer(s)`);
      return 0;
    } finally {
      db.destroy();
    }
  },
};
