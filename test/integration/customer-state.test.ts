// Customer state on the real DynamoDB Local: at-least-once delivery, any order, parallel writers.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { eventStreamArb, type CustomerIds } from '../unit/customer-state.arbitraries.ts';
import type { CustomerEvent } from '../../lib/core/customer/index.ts';
import { dynamoIngest } from '../support/ingest.ts';

/** Ids and key pools private to one run, so runs never link to each other's customers. */
function runIds(run: string): { ids: CustomerIds; customerId: string; pools: Record<string, string[]> } {
  return {
    ids: { crmId: `CRM-${run}`, loyaltyCard: `LC-${run}` },
    customerId: `cus-${run}`,
    pools: { licenseIds: [`LIC-1-${run}`, `LIC-2-${run}`], deviceIds: [`dev-1-${run}`, `dev-2-${run}`] },
  };
}

/** The same stream rewritten for another run: its ids and event ids carry that run's token. */
function forRun(events: readonly CustomerEvent[], from: string, to: string): string[] {
  return events.map((e) => JSON.stringify({ ...e, id: `${to}-${e.id}` }).replaceAll(from, to));
}

const TOKEN = 'RUNTOKEN';
const streamArb = (maxLength: number) =>
  eventStreamArb(runIds(TOKEN).ids, { customerId: runIds(TOKEN).customerId, ...runIds(TOKEN).pools, minLength: 1, maxLength });

/** A profile as stored, with the run's token put back, so two runs compare as equal. */
async function stateOf(run: string, repo: ReturnType<typeof dynamoIngest>['customers']): Promise<string> {
  const profile = await repo.load(runIds(run).customerId);
  return JSON.stringify(profile?.state ?? null).replaceAll(run, TOKEN);
}

/** Creates the run's customer first: feedback for a customer Baton never knew is dropped by design. */
async function ingestAll(run: string, bodies: string[], times = 1) {
  const { ingest, customers } = dynamoIngest({ newCustomerId: () => runIds(run).customerId });
  await ingest(
    JSON.stringify({
      version: '0', id: `${run}-create`, source: 'baton.crm', 'detail-type': 'CustomerUpserted', time: '2026-01-01T00:00:00Z',
      detail: { ids: runIds(run).ids, occurredAt: '2025-12-01T00:00:00Z', profile: {} },
    }),
  );
  for (const body of bodies) for (let i = 0; i < times; i++) expect((await ingest(body)).status).not.toBe('quarantined');
  return customers;
}

describe('customer state on DynamoDB Local', () => {
  it('replaying every event twice gives the same state as once', async () => {
    await fc.assert(
      fc.asyncProperty(streamArb(25), async (events) => {
        const [once, twice] = [randomUUID().slice(0, 8), randomUUID().slice(0, 8)];
        const a = await ingestAll(once, forRun(events, TOKEN, once));
        const b = await ingestAll(twice, forRun(events, TOKEN, twice), 2);
        expect(await stateOf(twice, b)).toBe(await stateOf(once, a));
      }),
      { numRuns: 12, seed: 5 },
    );
  });

  it('any permutation of an event stream gives the same final state', async () => {
    await fc.assert(
      fc.asyncProperty(
        streamArb(25).chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }))),
        async ([events, shuffled]) => {
          const [first, second] = [randomUUID().slice(0, 8), randomUUID().slice(0, 8)];
          const a = await ingestAll(first, forRun(events, TOKEN, first));
          const b = await ingestAll(second, forRun(shuffled, TOKEN, second));
          expect(await stateOf(second, b)).toBe(await stateOf(first, a));
        },
      ),
      { numRuns: 12, seed: 7 },
    );
  });

  it('200 concurrent events for one customer lose no update', async () => {
    const run = randomUUID().slice(0, 8);
    const customers = await ingestAll(run, []);
    // Eight independent ingesters, as eight Lambda instances would be, all 200 events at once.
    const lambdas = Array.from({ length: 8 }, () => dynamoIngest({ maxAttempts: 100 }));
    const sales = Array.from({ length: 200 }, (_, i) => ({
      version: '0', id: `${run}-sale-${i}`, source: 'baton.pos', 'detail-type': 'SaleCompleted', time: '2026-03-01T00:00:00Z',
      detail: {
        ids: { loyaltyCard: runIds(run).ids.loyaltyCard }, occurredAt: `2026-03-01T10:${String(i % 60).padStart(2, '0')}:00Z`,
        saleId: `S-${i}`, storeId: 'store-1', currency: 'EUR', total: (i + 1) / 100,
        items: [{ sku: 'A', category: 'software', quantity: 1, unitPrice: (i + 1) / 100 }],
      },
    }));
    const outcomes = await Promise.all(sales.map((s, i) => lambdas[i % lambdas.length]!.ingest(JSON.stringify(s))));
    expect(outcomes.every((o) => o.status === 'applied')).toBe(true);
    const profile = await customers.load(runIds(run).customerId);
    const { customerView } = await import('../../lib/core/customer/index.ts');
    const view = customerView(profile!.state, new Date('2026-03-02T00:00:00Z'));
    expect(view.purchaseCount).toBe(200);
    expect(view.lifetimeSpend).toBeCloseTo((200 * 201) / 2 / 100, 2);
    // 200 writers on one item collide; every collision was retried, none lost.
    const conflicts = lambdas.reduce((sum, l) => sum + (l.metrics.counts.CommitConflicts ?? 0), 0);
    expect(conflicts).toBeGreaterThan(0);
  }, 300_000);
});
