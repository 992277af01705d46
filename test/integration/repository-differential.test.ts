// The memory and the DynamoDB customer repositories side by side: the same generated command
// sequences (commits with claims on shared limits, duplicates and reused event ids, merges, stale
// versions, identity clashes, erasures, markSeen) run against both, and every answer and the final
// state as the port shows it (links, tombstones, profiles, decisions, limits' use, erased totals,
// markers) must be the same. The memory repository is what the model-based and fuzz tests run on;
// this keeps it honest about DynamoDB.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import { counterKey, ERASED_TOTALS_KEY } from '../../lib/adapters/dynamo/counters.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { limitKey, sharedLimits, type Reservation, type SharedLimit } from '../../lib/core/campaigns/reservations.ts';
import { idKey, type IdRef } from '../../lib/core/customer/identity.ts';
import type { CommitResult, CustomerRepository, StoredProfile } from '../../lib/app/ports.ts';
import type { Decision } from '../../lib/core/decide.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import type { IdKind } from '../../events/catalog.ts';
import { db } from '../support/local.ts';
import { freshTables } from '../support/tables.ts';

/** A state small enough to compare, that still shows merges: which events went into it. */
interface State {
  n: number;
  events: string[];
}

const AT = new Date('2031-05-05T10:20:00Z');
const EVENT_IDS = 10;
const PEOPLE = 3;

/** Ids people are known by; devices are shared, so linking one joins (merges) two people. */
const idArb: fc.Arbitrary<{ kind: IdKind; slot: number; shout: boolean }> = fc.record({
  kind: fc.constantFrom<IdKind>('crmId', 'email', 'loyaltyCard', 'deviceId'),
  slot: fc.nat(PEOPLE - 1),
  // Emails in another case name the same person.
  shout: fc.boolean(),
});
const idsArb = (minLength: number, maxLength: number) => fc.uniqueArray(idArb, { minLength, maxLength, selector: (i) => i.kind });

/** The limits a run's claims are on: two budgets and one hourly capacity, with small limits (0 too). */
const limitsArb = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 3 }));

type Command =
  | { kind: 'apply'; event: number; payload: number; ids: { kind: IdKind; slot: number; shout: boolean }[]; claims: { limit: number; amount: number }[]; decide: boolean; stale: boolean; skipMerge: boolean }
  | { kind: 'markSeen'; event: number; payload: number; outcome: 'erased' | 'unknown-customer' }
  | { kind: 'erase'; event: number; payload: number; ids: { kind: IdKind; slot: number; shout: boolean }[] };

const eventArb = fc.nat(EVENT_IDS - 1);
const payloadArb = fc.nat(1);
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('apply' as const),
      event: eventArb,
      payload: payloadArb,
      // Mostly one id: profiles of one person start apart, and a later event joins them.
      ids: idsArb(1, 2),
      claims: fc.uniqueArray(fc.record({ limit: fc.nat(2), amount: fc.integer({ min: 1, max: 3 }) }), { maxLength: 3, selector: (c) => c.limit }),
      decide: fc.boolean(),
      // Now and then: a version read before another writer, or a merge left out (an identity clash).
      stale: fc.nat(9).map((n) => n < 2),
      skipMerge: fc.nat(9).map((n) => n < 2),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('markSeen' as const), event: eventArb, payload: payloadArb, outcome: fc.constantFrom('erased' as const, 'unknown-customer' as const) }) },
  // Several ids: an erasure that also names a profile not merged yet.
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('erase' as const), event: eventArb, payload: payloadArb, ids: idsArb(2, 3) }) },
);

/** One run's names: every id, event id, customer id and campaign carries the run's token. */
class Run {
  readonly token = randomUUID().slice(0, 8);
  readonly limits: { on: SharedLimit; limit: number }[];
  readonly customerIds = new Set<string>();
  readonly decisionIds = new Set<string>();

  constructor(limits: [number, number, number]) {
    this.limits = [
      { on: sharedLimits.budget(`b0-${this.token}`), limit: limits[0] },
      { on: sharedLimits.budget(`b1-${this.token}`), limit: limits[1] },
      { on: sharedLimits.capacity(`c0-${this.token}`, 'email', AT.getTime()), limit: limits[2] },
    ];
  }

  ref(i: { kind: IdKind; slot: number; shout: boolean }): IdRef {
    const value = i.kind === 'email' ? `person.${i.slot}.${this.token}@example.com` : `${i.kind}-${i.slot}-${this.token}`;
    return { kind: i.kind, value: i.shout && i.kind === 'email' ? value.toUpperCase() : value };
  }
  allRefs(): IdRef[] {
    return (['crmId', 'email', 'loyaltyCard', 'deviceId'] as const).flatMap((kind) => Array.from({ length: PEOPLE }, (_, slot) => this.ref({ kind, slot, shout: false })));
  }
  eventId = (n: number) => `ev-${this.token}-${n}`;
  hash = (c: Command) => `${c.kind}:${c.event}:${c.payload}`;

  claim(c: { limit: number; amount: number }): Reservation {
    const { on, limit } = this.limits[c.limit]!;
    return { on, key: limitKey(on), amount: c.amount, limit, ...(on.kind === 'capacity' ? { expiresAt: Math.floor(AT.getTime() / 1000) + 7_200 } : {}) };
  }
}

/** How often the interesting shapes came up (counted on the memory side). */
const shapes = { merges: 0, erasuresAcrossProfiles: 0, tombstoned: 0 };

/** What ingest does around the port, in a few lines: resolve, load, merge, then commit or erase. */
async function execute(repo: CustomerRepository<State>, run: Run, c: Command): Promise<unknown> {
  const count = (shape: keyof typeof shapes) => {
    if (repo instanceof MemoryCustomerRepository) shapes[shape]++;
  };
  const eventId = run.eventId(c.event);
  const hash = run.hash(c);
  if (c.kind === 'markSeen') return { markSeen: await repo.markSeen(eventId, hash, c.outcome) };
  const refs = c.ids.map((i) => run.ref(i));
  const resolution = await repo.resolve(refs);
  if (resolution.erased) {
    count('tombstoned');
    return { erased: await repo.markSeen(eventId, hash, 'erased') };
  }
  const owners = [...new Set(resolution.links.values())].sort();
  const loaded = await Promise.all(owners.map((id) => repo.load(id)));
  if (loaded.some((p) => p === undefined)) return { staleLink: true };
  const [primary, ...others] = loaded as StoredProfile<State>[];
  const customerId = primary?.customerId ?? `cus-${eventId}`;
  run.customerIds.add(customerId);
  const state: State = {
    n: [primary, ...others].reduce((n, p) => n + (p?.state.n ?? 0), 0),
    events: [...new Set([primary, ...others].flatMap((p) => p?.state.events ?? []))].sort(),
  };
  const identities = [...new Set([...(primary?.identities ?? []), ...others.flatMap((o) => o.identities), ...refs.map(idKey)])].sort();
  const formerIds = [...new Set([...(primary?.formerIds ?? []), ...others.flatMap((o) => [o.customerId, ...(o.formerIds ?? [])])])].sort();
  if (others.length) count(c.kind === 'erase' ? 'erasuresAcrossProfiles' : 'merges');
  if (c.kind === 'erase') {
    return { erase: await repo.erase({ eventId, payloadHash: hash, customerId, identities, formerIds, requestId: 'DSR', counters: { n: state.n } }) };
  }
  const decision: Decision | undefined = c.decide
    ? { decisionId: `dec-${customerId}-${eventId}-${c.payload}`, customerId, eventId, eventType: 'test/Differential', at: AT.toISOString(), candidates: [], messages: [], setState: {} }
    : undefined;
  if (decision) run.decisionIds.add(decision.decisionId);
  const result: CommitResult = await repo.commit({
    eventId,
    payloadHash: hash,
    customerId,
    expectedVersion: primary ? primary.version - (c.stale ? 1 : 0) : 0,
    state: { n: state.n + 1, events: [...state.events, eventId].sort() },
    identities,
    ...(formerIds.length ? { formerIds } : {}),
    newLinks: refs.map(idKey).filter((k) => resolution.links.get(k) !== customerId),
    mergedAway: c.skipMerge ? [] : others.map((o) => ({ customerId: o.customerId, version: o.version, identities: o.identities })),
    ...(decision ? { decision } : {}),
    ...(c.claims.length ? { reservations: c.claims.map((x) => run.claim(x)) } : {}),
  });
  return { commit: result };
}

describe('memory and DynamoDB customer repositories answer alike', () => {
  let tables: TableNames;
  const client = db();
  beforeAll(async () => {
    tables = await freshTables('differential');
  });

  const erasedTotals = async () => {
    const item = (await client.send(new GetCommand({ TableName: tables.counters, Key: ERASED_TOTALS_KEY, ConsistentRead: true }))).Item ?? {};
    return { customers: Number(item.customers ?? 0), n: Number(item.n ?? 0) };
  };

  /** The state as the port (and each adapter's own reads for limits and decisions) shows it. */
  async function observe(repo: CustomerRepository<State>, run: Run, peek: { limitUse: (r: { on: SharedLimit }) => Promise<number>; hasDecision: (id: string) => Promise<boolean> }) {
    const links = await Promise.all(
      run.allRefs().map(async (ref) => {
        const r = await repo.resolve([ref]);
        return [idKey(ref), [...r.links.values()], r.erased];
      }),
    );
    const profiles = await Promise.all(
      [...run.customerIds].sort().map(async (id) => {
        const p = await repo.load(id);
        return p ? { id, version: p.version, state: p.state, identities: [...p.identities], formerIds: p.formerIds ?? [] } : { id, gone: true };
      }),
    );
    const decisions = await Promise.all([...run.decisionIds].sort().map(async (id) => [id, await peek.hasDecision(id)]));
    const limits = await Promise.all(run.limits.map(async (l) => [limitKey(l.on), await peek.limitUse(l)]));
    // Last, as it writes: whether each event id has a marker (and with which payload).
    const markers = [];
    for (let n = 0; n < EVENT_IDS; n++) markers.push(await repo.markSeen(run.eventId(n), 'probe', 'probe'));
    return { links, profiles, decisions, limits, markers };
  }

  it('gives the same answers and ends in the same state for generated command sequences (property)', async () => {
    const kinds = { committed: 0, conflict: 0, duplicate: 0, erased: 0, reservationRefused: 0 };
    await fc.assert(
      fc.asyncProperty(limitsArb, fc.array(commandArb, { minLength: 5, maxLength: 30 }), async (limits, commands) => {
        const run = new Run(limits);
        const memory = new MemoryCustomerRepository<State>();
        const dynamo = new DynamoCustomerRepository<State>(client, tables, () => AT);
        const totalsBefore = await erasedTotals();
        for (const [i, c] of commands.entries()) {
          const expected = await execute(memory, run, c);
          const actual = await execute(dynamo, run, c);
          expect(actual, `command ${i}: ${JSON.stringify(c)}`).toEqual(expected);
          const result = Object.values(expected as Record<string, CommitResult>)[0];
          if (result && typeof result === 'object' && 'status' in result) {
            kinds[result.status]++;
            if (result.status === 'conflict' && result.on === 'reservation') kinds.reservationRefused++;
            if (c.kind === 'erase' && result.status === 'committed') kinds.erased++;
          }
        }
        const decisions = new DynamoDecisionStore(client, tables.decisions);
        const fromMemory = await observe(memory, run, {
          limitUse: async (l) => memory.counters.get(limitKey(l.on)) ?? 0,
          hasDecision: async (id) => memory.decisions.has(id),
        });
        const fromDynamo = await observe(dynamo, run, {
          limitUse: async (l) => Number((await client.send(new GetCommand({ TableName: tables.counters, Key: counterKey(l.on), ConsistentRead: true }))).Item?.used ?? 0),
          hasDecision: async (id) => (await decisions.decision(id)) !== undefined,
        });
        expect(fromDynamo).toEqual(fromMemory);
        const totalsAfter = await erasedTotals();
        expect({ customers: totalsAfter.customers - totalsBefore.customers, n: totalsAfter.n - totalsBefore.n }).toEqual({
          customers: memory.erasedCounters.customers ?? 0,
          n: memory.erasedCounters.n ?? 0,
        });
      }),
      { numRuns: 25, seed: 1_105 },
    );
    // Every kind of answer came up, so the comparison covered them.
    for (const [kind, count] of Object.entries({ ...kinds, ...shapes })) expect(count, kind).toBeGreaterThan(0);
  }, 900_000);
});
