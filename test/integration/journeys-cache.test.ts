// The per-process cache holds a customer's journey positions beside their profile (lib/adapters/caching.ts).
// That is safe only because every write of a position either commits the profile too or moves its
// version: a migration's rewrite in another process must make the cached process's next commit fail,
// so that it reads the migrated position instead of deciding on the one it holds. Run on DynamoDB Local
// and on the memory repository, with the same steps and the same answers demanded of both.
import { describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { CachingCustomerRepository } from '../../lib/adapters/caching.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoJourneyInstances } from '../../lib/adapters/dynamo/journeys.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import type { CustomerRepository, JourneyInstances, ProfileChange } from '../../lib/app/ports.ts';
import type { JourneyInstance } from '../../lib/core/journeys/instance.ts';
import { db, tables } from '../support/local.ts';

interface State {
  n: number;
}

interface Backend {
  /** What one function's process holds: its repository (cached) and its positions through the cache. */
  process: { customers: CachingCustomerRepository<State>; instances: JourneyInstances };
  /** Another process (the CLI's migration), on the same tables. */
  migration: JourneyInstances;
}

function dynamo(): Backend {
  const store = new DynamoJourneyInstances(db(), tables().customers);
  const customers = new CachingCustomerRepository(new DynamoCustomerRepository<State>(db(), tables()));
  return { process: { customers, instances: customers.journeyInstances(store) }, migration: new DynamoJourneyInstances(db(), tables().customers) };
}

function memory(): Backend {
  const inner = new MemoryCustomerRepository<State>();
  const customers = new CachingCustomerRepository<State>(inner as CustomerRepository<State>);
  return { process: { customers, instances: customers.journeyInstances(inner.journeys) }, migration: inner.journeys };
}

const AT = '2026-03-02T08:00:00.000Z';

function position(customerId: string, stepId: string, seq: number): JourneyInstance {
  return { instanceId: `${customerId}-renewal-1`, journeyId: 'renewal', version: 1, customerId, entry: 1, status: 'active', stepId, visit: 1, seq, enteredAt: AT, updatedAt: AT, sends: [], fired: [], path: [] };
}

function change(customerId: string, expectedVersion: number, n: number, journeys?: ProfileChange<State>['journeys']): ProfileChange<State> {
  return { eventId: randomUUID(), payloadHash: 'h', customerId, expectedVersion, state: { n }, identities: [`crmId#${customerId}`], newLinks: expectedVersion === 0 ? [`crmId#${customerId}`] : [], mergedAway: [], ...(journeys ? { journeys } : {}) };
}

/** The steps: enter a journey, read through the cache, migrate elsewhere, commit on the cached profile, read again. */
async function scenario(b: Backend) {
  const id = `cus-${randomUUID().slice(0, 8)}`;
  const { customers, instances } = b.process;
  const entered = await customers.commit(change(id, 0, 1, { instances: [{ instance: position(id, 'wait', 1), expectedSeq: 0 }], timers: [] }));
  const profile = await customers.load(id);
  const cached = await instances.load(id);
  const hitsBefore = customers.stats.instanceHits;
  await instances.load(id);
  const servedFromCache = customers.stats.instanceHits - hitsBefore;
  // Another process moves the customer to another wait (a migration renaming the step).
  const migrated = await b.migration.rewrite({ instance: position(id, 'wait-renamed', 2), expectedSeq: 1 }, []);
  // The cached process decides on its next event with what it holds: its commit must not go through.
  const stale = await customers.commit(change(id, profile!.version, 2));
  const reread = await customers.load(id);
  const fresh = await instances.load(id);
  const retried = await customers.commit(change(id, reread!.version, 2));
  return {
    entered: entered.status,
    version: profile?.version,
    cached: cached.map((i) => i.stepId),
    servedFromCache,
    migrated,
    stale: stale.status,
    reread: reread?.version,
    fresh: fresh.map((i) => [i.stepId, i.seq]),
    retried: retried.status,
  };
}

describe('journey positions in the per-process cache', () => {
  it('a migration elsewhere makes the cached profile\'s next commit fail, and the position is read again (DynamoDB Local and memory alike)', async () => {
    const expected = {
      entered: 'committed',
      version: 1,
      cached: ['wait'],
      servedFromCache: 1,
      migrated: true,
      stale: 'conflict',
      reread: 2,
      fresh: [['wait-renamed', 2]],
      retried: 'committed',
    };
    expect(await scenario(dynamo())).toEqual(expected);
    expect(await scenario(memory())).toEqual(expected);
  });

  it('a migration finds no profile to move: it writes nothing (DynamoDB Local and memory alike)', async () => {
    for (const b of [dynamo(), memory()]) {
      const id = `cus-${randomUUID().slice(0, 8)}`;
      expect(await b.migration.rewrite({ instance: position(id, 'wait', 1), expectedSeq: 0 }, [])).toBe(false);
      expect(await b.process.instances.load(id)).toEqual([]);
    }
  });
});
