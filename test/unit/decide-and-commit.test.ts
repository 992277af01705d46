// The one decision step on the in-memory adapters: the dry run decides exactly what ingest then
// commits, and writes nothing; the decision API behind the per-process profile cache answers a
// customer it committed last with no read, yet never answers an erased customer from a stale link.
import { describe, expect, it } from 'vitest';
import { createIngest } from '../../lib/app/ingest.ts';
import { createDecisionApi, type DecisionApiDeps, type DecisionRequest } from '../../lib/app/decision-api.ts';
import { dryRunDecision } from '../../lib/app/decide-and-commit.ts';
import { parseEvent } from '../../events/validate.ts';
import { loadSample } from '../../events/samples.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { CachingCustomerRepository } from '../../lib/adapters/caching.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import type { CustomerRepository } from '../../lib/app/ports.ts';
import type { BatonEvent } from '../../events/catalog.ts';

const NOW = new Date('2026-11-15T10:00:00Z');
const clock = () => NOW;
const rules = new RuleSet([
  ruleSchema.parse({ ruleId: 'after-sale', campaignId: 'c', enabled: true, priority: 1, when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] }, then: { channel: 'email', template: 't' } }),
  ruleSchema.parse({
    ruleId: 'web-offer',
    campaignId: 'c',
    enabled: true,
    priority: 1,
    when: { source: ['baton.api'], 'detail-type': ['OfferRequested'], detail: { channel: ['web'] } },
    then: { channel: 'email', template: 't', offer: 'WEB10' },
  }),
]);

let n = 0;
const event = (sample: string, detail: Record<string, unknown>): string => {
  const s = loadSample(sample);
  return JSON.stringify({ ...s, id: `ev-${++n}`, detail: { ...s.detail, ...detail } });
};
const parsed = (body: string): BatonEvent => {
  const p = parseEvent(body);
  if (!p.ok) throw new Error(p.reason);
  return p.event;
};

function world() {
  const store = new MemoryCustomerRepository<CustomerState>();
  const metrics = new MemoryMetrics();
  const ingest = createIngest({ customers: store, quarantine: { put: async () => undefined, withdraw: async () => undefined }, rules: { current: async () => rules }, metrics, clock, sleep: async () => undefined });
  return { store, metrics, ingest };
}

async function knownCustomer(ingest: (body: string) => Promise<unknown>, crmId: string, card: string): Promise<void> {
  await ingest(event('CustomerUpserted', { ids: { crmId, loyaltyCard: card } }));
  await ingest(event('ConsentChanged', { ids: { crmId }, channel: 'email', granted: true }));
}

/** Counts the reads that reach the store (behind any cache). */
function counted(store: MemoryCustomerRepository<CustomerState>): { repo: CustomerRepository<CustomerState>; reads: () => number } {
  let reads = 0;
  const repo: CustomerRepository<CustomerState> = {
    resolve: (ids) => ((reads += 1), store.resolve(ids)),
    load: (id) => ((reads += 1), store.load(id)),
    commit: (c) => store.commit(c),
    markSeen: (...a) => store.markSeen(...a),
    erase: (e) => store.erase(e),
  };
  return { repo, reads: () => reads };
}

describe('dry run', () => {
  it('decides what ingest then commits, and writes nothing', async () => {
    const { store, ingest } = world();
    await knownCustomer(ingest, 'CRM-1', 'LC-1');
    const sale = event('SaleCompleted', { ids: { loyaltyCard: 'LC-1' } });
    const before = { markers: store.markers.size, profiles: JSON.stringify([...store.profiles]) };

    const dry = await dryRunDecision({ customers: store }, { event: parsed(sale), rules, now: NOW });

    expect({ markers: store.markers.size, profiles: JSON.stringify([...store.profiles]) }).toEqual(before);
    expect(dry).toMatchObject({ known: true, erased: false, idKinds: ['loyaltyCard'] });
    expect(dry.decision?.candidates.map((c) => c.outcome)).toEqual(['chosen']);
    const applied = await ingest(sale);
    expect(applied).toMatchObject({ status: 'applied', customerId: dry.customerId, decisionId: dry.decision?.decisionId, messages: 1 });
    expect(store.decisions.get(dry.decision!.decisionId)).toEqual(dry.decision);
  });

  it('evaluates an unknown customer as the new profile ingest would create, and decides nothing for an erased one', async () => {
    const { store, ingest } = world();
    const fresh = await dryRunDecision({ customers: store }, { event: parsed(event('SaleCompleted', { ids: { loyaltyCard: 'LC-new' } })), rules, now: NOW });
    expect(fresh).toMatchObject({ customerId: undefined, known: false, erased: false });
    expect(fresh.decision?.candidates.map((c) => c.outcome)).toEqual(['no-consent']);

    await knownCustomer(ingest, 'CRM-2', 'LC-2');
    await ingest(event('CustomerErased', { ids: { crmId: 'CRM-2' }, requestId: 'DSR-1' }));
    const erased = await dryRunDecision({ customers: store }, { event: parsed(event('SaleCompleted', { ids: { loyaltyCard: 'LC-2' } })), rules, now: NOW });
    expect(erased).toEqual({ customerId: undefined, known: false, erased: true, idKinds: ['loyaltyCard'], decision: undefined });
  });
});

describe('decision API behind the per-process profile cache', () => {
  function api(store: MemoryCustomerRepository<CustomerState>, customers: CustomerRepository<CustomerState>, fresh: boolean) {
    const deps: DecisionApiDeps = {
      customers,
      ...(fresh ? { identities: store } : {}),
      rules: { current: async () => rules },
      metrics: new MemoryMetrics(),
      clock,
      sleep: async () => undefined,
      decisions: { decision: async (id) => (store.decisions.has(id) ? { decision: { ...store.decisions.get(id)! } } : undefined) },
    };
    return createDecisionApi(deps);
  }
  const ask = (crmId: string, channel: DecisionRequest['channel'], requestId?: string): DecisionRequest => ({
    customer: { kind: 'crmId', value: crmId },
    channel,
    context: {},
    ...(requestId ? { requestId } : {}),
  });

  it('answers a customer it committed last with no read: one commit and nothing else', async () => {
    const { store, ingest } = world();
    await knownCustomer(ingest, 'CRM-3', 'LC-3');
    const { repo, reads } = counted(store);
    const decide = api(store, new CachingCustomerRepository(repo), true);

    const first = await decide(ask('CRM-3', 'web'));
    const afterFirst = reads();
    const second = await decide(ask('CRM-3', 'web'));

    expect(first).toMatchObject({ status: 'answered', answer: { offers: [{ ruleId: 'web-offer', offer: 'WEB10' }] } });
    expect(second).toMatchObject({ status: 'answered', answer: { offers: [{ ruleId: 'web-offer' }] } });
    expect(afterFirst).toBe(2); // resolve + load, once
    expect(reads()).toBe(afterFirst);
  });

  it('answers an erased customer 404 on every path, whatever the cache still holds', async () => {
    const { store, ingest } = world();
    await knownCustomer(ingest, 'CRM-4', 'LC-4');
    const decide = api(store, new CachingCustomerRepository(store), true);
    expect(await decide(ask('CRM-4', 'web', 'req-1'))).toMatchObject({ status: 'answered' });
    expect(await decide(ask('CRM-4', 'kiosk'))).toMatchObject({ status: 'answered', answer: { decisionId: null, offers: [] } });

    // Another process erases the customer: this one's cache still links CRM-4 to the profile.
    await ingest(event('CustomerErased', { ids: { crmId: 'CRM-4' }, requestId: 'DSR-2' }));

    const unknown = { status: 'refused', problem: { code: 'unknown-customer', reason: 'no customer is known by this crmId' } };
    expect(await decide(ask('CRM-4', 'kiosk'))).toEqual(unknown); // no rule matches: nothing committed to check it
    expect(await decide(ask('CRM-4', 'web', 'req-1'))).toEqual(unknown); // a repeated requestId
    expect(await decide(ask('CRM-4', 'web'))).toEqual(unknown); // a decision: its commit fails, the next read sees the erasure
  });
});
