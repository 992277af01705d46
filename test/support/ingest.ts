// The real ingest path on DynamoDB Local, without the bus: for property tests that need many runs.
import { createIngest, type IngestDeps } from '../../lib/app/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { db, tables } from './local.ts';

export function dynamoIngest(overrides: Partial<IngestDeps> = {}) {
  const client = db();
  const metrics = new MemoryMetrics();
  const customers = new DynamoCustomerRepository<CustomerState>(client, tables());
  const ingest = createIngest({
    customers,
    quarantine: new DynamoQuarantine(client, tables().quarantine),
    rules: { current: async () => new RuleSet([]) },
    metrics,
    ...overrides,
  });
  return { ingest, customers, metrics, client };
}
