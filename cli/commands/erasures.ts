// `baton erasures reapply`: after a point-in-time restore brings erased customers back, erase
// every customer with an id under a tombstone again. Tombstones hold only hashed ids.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { customersUnderTombstones, DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { report, type CliFlags, type Printer } from '../io.ts';

export async function reapplyErasures(flags: CliFlags, p: Printer & { db: DynamoDBDocumentClient; names: TableNames }): Promise<number> {
  const repo = new DynamoCustomerRepository<CustomerState>(p.db, p.names);
  const { tombstones, customers } = await customersUnderTombstones(p.db, p.names.customers);
  const stamp = new Date().toISOString();
  for (const [customerId, linked] of customers) {
    const profile = await repo.load(customerId);
    await repo.erase({
      eventId: `erasure-reapply-${customerId}-${stamp}`,
      payloadHash: 'reapply',
      customerId,
      identities: profile?.identities ?? linked,
      requestId: 'reapply',
      // Counted when first erased; adding them again would count the customer twice.
      counters: {},
    });
  }
  report(flags, p, { tombstones, erasedAgain: customers.size }, () => [`${tombstones} tombstones; erased again: ${customers.size} customer(s)`]);
  return 0;
}
