// The real ingest path on the in-memory adapters, for fuzz tests that need many runs, and the
// unhandled rejections a run must not cause.
import { afterEach, beforeEach } from 'vitest';
import { createIngest, type IngestDeps } from '../../lib/app/ingest.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { MemoryQuarantine } from '../../lib/adapters/memory/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';

/** Ingest over fresh in-memory stores, no rules, and retries without sleeping. */
export function memoryIngest(overrides: Partial<IngestDeps> = {}) {
  const store = new MemoryCustomerRepository<CustomerState>();
  const quarantine = new MemoryQuarantine();
  const metrics = new MemoryMetrics();
  const rules = new RuleSet([]);
  const ingest = createIngest({ customers: store, quarantine, rules: { current: async () => rules }, metrics, sleep: async () => {}, ...overrides });
  return { ingest, store, quarantine, metrics };
}

/** The unhandled rejections of each test in the enclosing describe block (emptied before each). */
export function unhandledRejections(): readonly unknown[] {
  const seen: unknown[] = [];
  const record = (reason: unknown) => void seen.push(reason);
  beforeEach(() => {
    seen.length = 0;
    process.on('unhandledRejection', record);
  });
  afterEach(() => {
    process.off('unhandledRejection', record);
  });
  return seen;
}
