// The model-based ingest test, smaller, on DynamoDB Local: the real repository under duplicates, any
// order, two Lambdas at once, throttling and crashes at every step; people whose provisional
// profile (loyalty card) merges into their CRM profile; a rule whose campaign has a budget and an
// hourly capacity; erasures, then an archive replay of the erased people's events.
//
// Assessed against the independent reference model (test/support/reference-model.ts) computed from
// each person's distinct events, not against Baton's reducers: every fact of every remaining person,
// every event applied once (a marker each), the limits' use equal to the messages queued and to
// min(budget, capacity, sales), and nothing left of the erased but tombstones.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { customerEventArb, type CustomerIds } from '../unit/customer-state.arbitraries.ts';
import { createIngest, IngestError, type IngestOutcome } from '../../lib/app/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { counterKey } from '../../lib/adapters/dynamo/counters.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import { campaignSchema, StaticCampaignBook } from '../../lib/core/campaigns/campaign.ts';
import { sharedLimits } from '../../lib/core/campaigns/reservations.ts';
import { payloadHash } from '../../lib/core/customer/identity.ts';
import type { CustomerEvent, CustomerState, ReducerKey } from '../../lib/core/customer/index.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { db } from '../support/local.ts';
import { freshTables, scanAll } from '../support/tables.ts';
import { FaultyCustomerRepository, InjectedCrash, InjectedThrottling, prng } from '../support/faulty.ts';
import { referenceFacts, type RawEvent } from '../support/reference-model.ts';
import { observedFacts } from '../support/observed-facts.ts';

const PEOPLE = 6;
// Well after the real date: DynamoDB Local's TTL sweep deletes the hourly capacity counters a day
// after their hour, so a clock in the past lost them mid-run (and with them the limits' proof).
const CLOCK = new Date('2036-06-01T10:00:00Z');
const RULE = 'model-thanks';
const FAULTS = { crash: 0.02, throttle: 0.02, jitter: 2 };
/** No SES feedback (its tag needs the customerId before it exists): the memory version covers it. */
const TYPES: ReducerKey[] = [
  'baton.crm/ConsentChanged',
  'baton.erp/LicensePurchased',
  'baton.erp/LicenseRenewalDue',
  'baton.erp/LicenseRenewed',
  'baton.erp/LicenseExpired',
  'baton.pos/SaleCompleted',
  'baton.pos/SaleRefunded',
  'baton.device/DeviceRegistered',
  'baton.device/DeviceStatusReported',
  'baton.device/ThreatDetected',
  'baton.device/MessageDisplayed',
];

interface Person {
  readonly crmId: string;
  readonly card: string;
  /** Every event of the person: the CRM profile's, the provisional profile's, the one that links them. */
  readonly events: CustomerEvent[];
  readonly erased: boolean;
}

interface RunInput {
  /** Per person: events known by the CRM id, events known by the card only, whether erased. */
  readonly people: { crm: CustomerEvent[]; card: CustomerEvent[]; erased: boolean }[];
  readonly copies: number[];
  readonly budget: number;
  readonly capacity: number;
  readonly seed: number;
}

const personArb = (k: number) => {
  const pools = { licenseIds: [`LIC-a-${k}`, `LIC-b-${k}`], deviceIds: [`dev-a-${k}`], days: 20 };
  return fc.record({
    crm: fc.array(customerEventArb({ crmId: `CRM-${k}` }, { ...pools, types: [...TYPES, 'baton.crm/CustomerUpserted'] }), { minLength: 3, maxLength: 6 }),
    // Events before the card is linked to anyone: a provisional profile (CustomerUpserted needs the CRM id).
    card: fc.array(customerEventArb({ loyaltyCard: `LC-${k}` } as CustomerIds, { ...pools, types: TYPES }), { minLength: 2, maxLength: 5 }),
    erased: fc.nat(2).map((n) => n === 0),
  });
};
const runArb: fc.Arbitrary<RunInput> = fc.record({
  people: fc.tuple(...Array.from({ length: PEOPLE }, (_, k) => personArb(k))),
  copies: fc.array(fc.constantFrom(0, 0, 0, 1, 1, 2), { minLength: 100, maxLength: 100 }),
  budget: fc.integer({ min: 0, max: 8 }),
  capacity: fc.integer({ min: 0, max: 8 }),
  seed: fc.nat(),
});

/** The run's ids carry its token, so runs share the tables and nothing else. */
function tokenise(e: CustomerEvent, token: string): CustomerEvent {
  const text = JSON.stringify({ ...e, id: `${token}-${e.id}` });
  return JSON.parse(text.replace(/"(CRM|LC|LIC-[ab]|dev-a)-(\d+)"/g, `"$1-$2-${token}"`)) as CustomerEvent;
}

function people(input: RunInput, token: string): Person[] {
  return input.people.map((p, k) => {
    const crmId = `CRM-${k}-${token}`;
    const card = `LC-${k}-${token}`;
    const link = {
      version: '0', id: `${token}-link-${k}`, source: 'baton.crm', 'detail-type': 'ConsentChanged', account: '123456789012', time: '2026-01-01T00:00:00Z', region: 'eu-west-1', resources: [],
      detail: { ids: { crmId, loyaltyCard: card }, occurredAt: '2026-01-05T00:00:00Z', channel: 'sms', granted: true, via: 'web-form' },
    } as unknown as CustomerEvent;
    return { crmId, card, erased: p.erased, events: [...p.crm, ...p.card].map((e) => tokenise(e, token)).concat(link) };
  });
}

describe('ingest model on DynamoDB Local: merges, a budget, erasures, faults', () => {
  let tables: TableNames;
  const client = db();
  beforeAll(async () => {
    tables = await freshTables('ingest-model');
  });

  it('ends in the reference model for every person, with limits held and the erased gone (property)', async () => {
    const totals = { deliveries: 0, redeliveries: 0, faults: 0, merges: 0, erased: 0, queued: 0 };
    await fc.assert(
      fc.asyncProperty(runArb, async (input) => {
        const token = input.seed.toString(36);
        const folks = people(input, token);
        const campaignId = `model-${token}`;
        const rules = new RuleSet([
          ruleSchema.parse({
            ruleId: RULE, campaignId, enabled: true, priority: 1,
            when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] },
            // Transactional: consent does not gate it, so which sales queue a message is only the limits' doing.
            then: { channel: 'email', template: 'thanks', transactional: true },
          }),
        ]);
        const book = new StaticCampaignBook([campaignSchema.parse({ campaignId, budget: { unit: 'messages', limit: input.budget }, capacityPerHour: { email: input.capacity } })]);
        const repo = new DynamoCustomerRepository<CustomerState>(client, tables, () => CLOCK);
        const lambdas = [0, 1].map((i) => {
          const faulty = new FaultyCustomerRepository(repo, { seed: input.seed + i, ...FAULTS });
          const ingest = createIngest({
            customers: faulty,
            quarantine: new DynamoQuarantine(client, tables.quarantine),
            rules: { current: async () => rules },
            campaigns: { current: async () => book },
            metrics: new MemoryMetrics(),
            clock: () => CLOCK,
            sleep: async () => undefined,
          });
          return { faulty, ingest };
        });
        const random = prng(input.seed);

        /** SQS: every copy is delivered, in any order, two Lambdas at once; a throw puts it back. */
        async function deliver(bodies: string[]): Promise<IngestOutcome[]> {
          const queue = bodies.map((body, i) => ({ body, i }));
          const outcomes: IngestOutcome[] = [];
          while (queue.length) {
            const batches = [0, 1].map(() => queue.splice(Math.floor(random() * queue.length), 1 + Math.floor(random() * 4)));
            await Promise.all(
              batches.map((batch, l) =>
                Promise.all(
                  batch.map(async (m) => {
                    totals.deliveries++;
                    try {
                      outcomes[m.i] = await lambdas[l]!.ingest(m.body);
                    } catch (err) {
                      if (!(err instanceof InjectedCrash || err instanceof InjectedThrottling || err instanceof IngestError)) throw err;
                      totals.redeliveries++;
                      queue.push(m);
                    }
                  }),
                ),
              ),
            );
          }
          return outcomes;
        }

        // Everyone's events, each 1-3 times.
        const bodies = folks.flatMap((p) => p.events).flatMap((e, i) => Array(1 + (input.copies[i % input.copies.length] ?? 0)).fill(JSON.stringify(e)) as string[]);
        const first = await deliver(bodies);
        expect(first.filter((o) => o.status !== 'applied' && o.status !== 'duplicate')).toEqual([]);
        const idsOf = new Map(folks.map((p) => [p, new Set<string>()]));
        first.forEach((o, i) => {
          const event = JSON.parse(bodies[i]!) as CustomerEvent;
          const person = folks.find((p) => p.events.some((e) => e.id === event.id))!;
          if (o.status === 'applied') idsOf.get(person)!.add(o.customerId);
        });

        // The limits: exactly min(budget, capacity, sales) queued, and as many claimed.
        const sales = folks.flatMap((p) => p.events).filter((e) => e['detail-type'] === 'SaleCompleted').length;
        const queued = Object.values(await scanAll(client, tables)).flat().filter((i) => i.campaignId === campaignId && String(i.sk).startsWith('MSG#'));
        const used = async (Key: { pk: string; sk: string }) => Number((await client.send(new GetCommand({ TableName: tables.counters, Key, ConsistentRead: true }))).Item?.used ?? 0);
        expect(queued.length).toBe(Math.min(input.budget, input.capacity, sales));
        expect(await used(counterKey(sharedLimits.budget(campaignId)))).toBe(queued.length);
        expect(await used(counterKey(sharedLimits.capacity(campaignId, 'email', CLOCK.getTime())))).toBe(queued.length);
        totals.queued += queued.length;

        // Erasures once the rest settled, then an archive replay of the erased people's events and erasures.
        const erased = folks.filter((p) => p.erased);
        const erasures = erased.map((p, k) =>
          JSON.stringify({
            version: '0', id: `${token}-erase-${k}`, source: 'baton.crm', 'detail-type': 'CustomerErased', account: '123456789012', time: '2026-01-01T00:00:00Z', region: 'eu-west-1', resources: [],
            detail: { ids: { crmId: p.crmId }, occurredAt: '2026-05-30T00:00:00Z', requestId: `DSR-${k}` },
          }),
        );
        expect((await deliver(erasures)).map((o) => o.status).filter((s) => s !== 'erased' && s !== 'duplicate')).toEqual([]);
        const replay = await deliver([...erased.flatMap((p) => p.events.map((e) => JSON.stringify(e))), ...erasures]);
        expect(replay.map((o) => o.status).filter((s) => s !== 'erased')).toEqual([]);
        totals.erased += erased.length;

        const all = await scanAll(client, tables);
        for (const p of folks) {
          const byCrm = await repo.resolve([{ kind: 'crmId', value: p.crmId }]);
          const byCard = await repo.resolve([{ kind: 'loyaltyCard', value: p.card }]);
          if (p.erased) {
            expect({ crm: byCrm, card: byCard }).toEqual({ crm: { links: new Map(), erased: true }, card: { links: new Map(), erased: true } });
            const left = Object.entries(all).flatMap(([table, items]) => items.filter((i) => [...idsOf.get(p)!, p.crmId, p.card].some((s) => JSON.stringify(i).includes(s))).map((i) => `${table}: ${String(i.pk)}`));
            expect(left).toEqual([]);
            continue;
          }
          // One profile for the person: the card's provisional profile merged into the CRM one.
          const customerId = byCrm.links.get(`crmId#${p.crmId}`);
          expect(byCard.links.get(`loyaltyCard#${p.card}`)).toBe(customerId);
          const profile = await repo.load(customerId!);
          if (idsOf.get(p)!.size > 1) totals.merges++;
          const reference = referenceFacts(p.events as unknown as RawEvent[]);
          expect(observedFacts(profile!.state, CLOCK, reference.refundCount !== undefined), `person ${p.crmId}`).toEqual(reference);
          // Each queued message is a contact in the state (recorded in the same commit).
          const outbox = queued.filter((m) => [customerId, ...(profile!.formerIds ?? [])].includes(String(m.customerId)));
          expect(profile!.state.contacts.filter((c) => c.id.endsWith(`/email/${RULE}`)).length).toBe(outbox.length);
        }
        // Last (a probe writes when it finds none): every event has its marker. has its marker: a probe finds each one seen before.
        for (const e of folks.flatMap((p) => p.events)) {
          expect(await repo.markSeen(e.id, payloadHash(JSON.stringify(e)), 'probe'), e.id).toEqual({ status: 'duplicate', samePayload: true });
        }
        for (const l of lambdas) totals.faults += Object.values(l.faulty.injected).reduce((a, b) => a + b, 0);
      }),
      { numRuns: 4, seed: 2_026, endOnFailure: true },
    );
    // The run really had faults, merges, erasures and messages to check.
    for (const [what, n] of Object.entries(totals)) expect(n, what).toBeGreaterThan(0);
  }, 900_000);
});
