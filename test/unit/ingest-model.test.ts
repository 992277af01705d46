// Model-based test of the whole ingest path (validate, resolve, load, apply, decide, commit) on the
// in-memory adapters, under what SQS and DynamoDB do as a matter of course: duplicates, any order,
// two Lambdas at once, throttling, and crashes at every step (including after a commit that went
// through). The driver is SQS: a record whose ingest throws stays on the queue and comes again.
//
// Assessed for every run: 0 events lost (each valid event committed, each invalid one quarantined
// with its code and a reason), 0 applied twice (one committed transaction per event id), and every
// customer's stored state equal to two models: the independent reference model computed straight
// from its distinct valid events (test/support/reference-model.ts: sums, last writer wins, unions),
// and foldEvents(newCustomer(id), the same events) (any order, any fault gives the state of a fold).
// test/integration/ingest-model.dynamo.test.ts runs a smaller version on DynamoDB Local.
import { assert, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { customerEventArb, type CustomerIds } from './customer-state.arbitraries.ts';
import { createIngest, IngestError, type IngestOutcome } from '../../lib/app/ingest.ts';
import { parseEvent, type RejectionCode } from '../../events/validate.ts';
import { foldEvents, newCustomer, type CustomerEvent, type CustomerState } from '../../lib/core/customer/index.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { MemoryQuarantine } from '../../lib/adapters/memory/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { CachingCustomerRepository } from '../../lib/adapters/caching.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import type { CommitResult, CustomerRepository, Erasure, ProfileChange, Resolution, StoredProfile } from '../../lib/app/ports.ts';
import type { IdRef } from '../../lib/core/customer/identity.ts';
import { FaultyCustomerRepository, FaultyQuarantine, InjectedCrash, InjectedThrottling, prng, type FaultPoint } from '../support/faulty.ts';
import { referenceFacts, type RawEvent } from '../support/reference-model.ts';
import { observedFacts } from '../support/observed-facts.ts';

// ---- sizes: 10 runs × ~10,200 published records ≈ 102,000 events, ~46 % of them duplicates -----
// One ingest costs ~0.5 ms of CPU (zod, two structured clones in the memory store, the view), so
// the test is sized to the minimum. The plain store costs twice the cached one per event:
// 3 runs use it, 7 run behind CachingCustomerRepository (one cache per Lambda).
const PLAN: readonly Config[] = ['memory', 'caching', 'caching', 'memory', 'caching', 'caching', 'caching', 'memory', 'caching', 'caching'];
const CUSTOMERS = 180;
const EVENTS_PER_CUSTOMER = 30;
const INVALID_PER_RUN = 100;
const FAULTS = { crash: 0.003, throttle: 0.006, quarantine: 0.05, jitter: 2 };
const MAX_REDELIVERIES = 200;
const CLOCK = new Date('2026-06-01T00:00:00Z');

/** The fault points on the ingest path of these events (no erasures here: markSeen and erase stay idle). */
const PATH_POINTS: readonly FaultPoint[] = ['before-resolve', 'after-resolve', 'before-load', 'after-load', 'before-commit', 'after-commit'];

interface Message {
  readonly key: number;
  readonly eventId: string;
  /** Undefined for SES feedback until its customer exists (its tag needs the real customerId). */
  body: string | undefined;
  readonly customer: number;
  /** What validation must answer; undefined for a valid event. */
  readonly expectedCode: RejectionCode | undefined;
  /** Copies SQS delivers (at-least-once): 1 plus duplicates. */
  copies: number;
  /** Copies whose ingest returned (did not throw). */
  settled: number;
  /** Deliveries that threw and went back on the queue. */
  redeliveries: number;
  /** A function of the released body (SES), so built lazily. */
  readonly render: (customerId: string) => string;
}

const PLACEHOLDER = 'PENDING-CUSTOMER-';
const ids = (k: number): CustomerIds => ({ crmId: `CRM-${k}`, loyaltyCard: `LC-${k}` });

/** Each customer has its own licence and device ids (so customers never link) and SES tag placeholder. */
function customerArb(k: number): fc.Arbitrary<CustomerEvent[]> {
  return fc.array(
    customerEventArb(ids(k), {
      customerId: `${PLACEHOLDER}${k}`,
      licenseIds: [`LIC-a-${k}`, `LIC-b-${k}`],
      deviceIds: [`dev-a-${k}`, `toString-${k}`],
      // Checked below through the same parseEvent ingest uses (every valid record must apply).
      validate: false,
    }),
    { minLength: EVENTS_PER_CUSTOMER, maxLength: EVENTS_PER_CUSTOMER },
  );
}

type Mutation = { code: RejectionCode; apply: (body: string) => string };
/** Invalid records made from a valid event, each with the code validation must give it. */
const MUTATIONS: readonly Mutation[] = [
  { code: 'not-json', apply: (b) => b.slice(0, -1) },
  { code: 'invalid-detail', apply: (b) => patch(b, (e) => (e.detail = { occurredAt: 'yesterday' })) },
  { code: 'invalid-envelope', apply: (b) => patch(b, (e) => delete e.time) },
  { code: 'unknown-source', apply: (b) => patch(b, (e) => (e.source = 'baton.unknown')) },
  { code: 'unknown-detail-type', apply: (b) => patch(b, (e) => (e['detail-type'] = 'CustomerTeleported')) },
  { code: 'forbidden-key', apply: (b) => b.replace('"detail":{', '"detail":{"__proto__":{"admin":true},') },
  { code: 'control-character', apply: (b) => patch(b, (e) => (e.id = `${String(e.id)}\u0007`)) },
];

function patch(body: string, change: (e: Record<string, unknown>) => unknown): string {
  const e = JSON.parse(body) as Record<string, unknown>;
  change(e);
  return JSON.stringify(e);
}

interface RunInput {
  readonly streams: CustomerEvent[][];
  /** Extra copies per valid record, then per invalid record. */
  readonly copies: number[];
  readonly invalid: { customer: number; event: number; mutation: number }[];
  readonly seed: number;
}

const copiesArb = (n: number) => fc.array(fc.constantFrom(0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3), { minLength: n, maxLength: n });

const runArb: fc.Arbitrary<RunInput> = fc.record({
    streams: fc.tuple(...Array.from({ length: CUSTOMERS }, (_, k) => customerArb(k))),
    copies: copiesArb(CUSTOMERS * EVENTS_PER_CUSTOMER + INVALID_PER_RUN),
    invalid: fc.array(
      fc.record({ customer: fc.nat(CUSTOMERS - 1), event: fc.nat(EVENTS_PER_CUSTOMER - 1), mutation: fc.nat(MUTATIONS.length - 1) }),
      { minLength: INVALID_PER_RUN, maxLength: INVALID_PER_RUN },
    ),
    seed: fc.nat(),
  });

/** Counts committed transactions per event id, at the store itself: 0 applied twice means ≤ 1 each. */
class Ledger<S> implements CustomerRepository<S> {
  readonly commits = new Map<string, number>();
  constructor(readonly inner: MemoryCustomerRepository<S>) {}
  resolve(refs: readonly IdRef[]): Promise<Resolution> {
    return this.inner.resolve(refs);
  }
  load(customerId: string): Promise<StoredProfile<S> | undefined> {
    return this.inner.load(customerId);
  }
  async commit(change: ProfileChange<S>): Promise<CommitResult> {
    const result = await this.inner.commit(change);
    if (result.status === 'committed') this.commits.set(change.eventId, (this.commits.get(change.eventId) ?? 0) + 1);
    return result;
  }
  markSeen(eventId: string, payloadHash: string, outcome: string): Promise<CommitResult> {
    return this.inner.markSeen(eventId, payloadHash, outcome);
  }
  erase(erasure: Erasure): Promise<CommitResult> {
    return this.inner.erase(erasure);
  }
}

type Config = 'memory' | 'caching';

/** One Lambda instance: its own ingest (own keyed mutex) and, with caching, its own cache. */
interface Lambda {
  readonly ingest: (body: string) => Promise<IngestOutcome>;
  readonly faulty: FaultyCustomerRepository<CustomerState>;
  readonly quarantine: FaultyQuarantine;
  readonly metrics: MemoryMetrics;
}

/** Everything one run drives: the queue, two Lambdas, the shared store. */
class World {
  readonly store = new MemoryCustomerRepository<CustomerState>();
  readonly ledger = new Ledger(this.store);
  readonly quarantined = new MemoryQuarantine();
  readonly lambdas: Lambda[];
  /** Records in flight (one entry per copy), delivered in any order. */
  readonly queue: Message[] = [];
  /** SES feedback waiting for its customer to exist, per customer. */
  readonly held = new Map<number, Message[]>();
  readonly messages: Message[] = [];
  readonly appliedOutcomes = new Set<string>();
  readonly random: () => number;
  ingestCalls = 0;

  constructor(
    readonly input: RunInput,
    config: Config,
  ) {
    this.random = prng(input.seed);
    let next = 0;
    const rules = new RuleSet([]);
    this.lambdas = [0, 1].map((i) => {
      const faulty = new FaultyCustomerRepository(this.ledger, { seed: input.seed + i, crash: FAULTS.crash, throttle: FAULTS.throttle, jitter: FAULTS.jitter });
      const quarantine = new FaultyQuarantine(this.quarantined, { seed: input.seed + 10 + i, fail: FAULTS.quarantine });
      const metrics = new MemoryMetrics();
      const ingest = createIngest({
        customers: config === 'caching' ? new CachingCustomerRepository(faulty) : faulty,
        quarantine,
        rules: { current: async () => rules },
        metrics,
        clock: () => CLOCK,
        newCustomerId: () => `cus-${next++}`,
        sleep: async () => {},
      });
      return { ingest, faulty, quarantine, metrics };
    });
    this.build();
  }

  private build(): void {
    const { streams, copies, invalid } = this.input;
    const add = (m: Omit<Message, 'key' | 'settled' | 'redeliveries' | 'body'>, body: string | undefined) => {
      const message: Message = { ...m, key: this.messages.length, body, settled: 0, redeliveries: 0 };
      this.messages.push(message);
      if (body === undefined) this.held.set(m.customer, [...(this.held.get(m.customer) ?? []), message]);
      else this.enqueue(message, message.copies);
    };
    streams.forEach((stream, customer) =>
      stream.forEach((event) => {
        const text = JSON.stringify(event);
        const render = (customerId: string) => text.replaceAll(`${PLACEHOLDER}${customer}`, customerId);
        const ses = event.source === 'aws.ses';
        add({ eventId: event.id, customer, expectedCode: undefined, copies: 1 + copies[this.messages.length]!, render }, ses ? undefined : text);
      }),
    );
    for (const { customer, event, mutation } of invalid) {
      const source = streams[customer]![event]!;
      const { code, apply } = MUTATIONS[mutation]!;
      // A fresh id, so the record is not a reused id of its valid original.
      const text = apply(JSON.stringify({ ...source, id: `${source.id}-bad-${this.messages.length}` }).replaceAll(`${PLACEHOLDER}${customer}`, 'cus-none'));
      add({ eventId: `${source.id}-bad-${this.messages.length}`, customer, expectedCode: code, copies: 1 + copies[this.messages.length]!, render: () => text }, text);
    }
  }

  enqueue(message: Message, times: number): void {
    for (let i = 0; i < times; i++) this.queue.push(message);
  }

  /** The customerId the store gave customer k, once its first event is committed. */
  customerId(k: number): string | undefined {
    return this.store.identities.get(`crmId#${ids(k).crmId}`);
  }

  /** SES feedback exists only after Baton knows the customer: release it once the profile is there. */
  release(): void {
    for (const [customer, waiting] of this.held) {
      const id = this.customerId(customer);
      if (!id) continue;
      for (const m of waiting) {
        m.body = m.render(id);
        this.enqueue(m, m.copies);
      }
      this.held.delete(customer);
    }
  }

  /** Takes the records at the picked positions off the queue (SQS hands out any of them). */
  take(picks: readonly number[]): Message[] {
    const taken: Message[] = [];
    for (const p of picks) {
      if (this.queue.length === 0) break;
      const i = p % this.queue.length;
      taken.push(this.queue[i]!);
      this.queue[i] = this.queue[this.queue.length - 1]!;
      this.queue.pop();
    }
    return taken;
  }

  /** Two Lambdas each run a batch; the records of a batch run in parallel, as the batch processor does. */
  async deliver(batches: readonly (readonly number[])[]): Promise<void> {
    await Promise.all(batches.map((picks, i) => Promise.all(this.take(picks).map((m) => this.deliverOne(this.lambdas[i % 2]!, m)))));
    this.release();
  }

  private async deliverOne(lambda: Lambda, m: Message): Promise<void> {
    this.ingestCalls++;
    let outcome: IngestOutcome;
    try {
      outcome = await lambda.ingest(m.body!);
    } catch (err) {
      // Faults only: anything else is a bug in the path, not something SQS should retry.
      if (!(err instanceof InjectedCrash || err instanceof InjectedThrottling || err instanceof IngestError)) throw err;
      m.redeliveries++;
      if (m.redeliveries >= MAX_REDELIVERIES) assert.fail(`record ${m.eventId} failed ${m.redeliveries} times (last: ${String(err)})`);
      this.queue.push(m);
      return;
    }
    m.settled++;
    // Plain comparisons here (this runs ~100,000 times); each failure names the record and the outcome.
    const seen = () => `record ${m.eventId} (${m.expectedCode ?? 'valid'}) got ${JSON.stringify(outcome)}`;
    if (m.expectedCode) {
      if (outcome.status !== 'quarantined' || outcome.code !== m.expectedCode || outcome.reason.length < 10) assert.fail(seen());
    } else if (outcome.status === 'applied') {
      if (this.appliedOutcomes.has(m.eventId)) assert.fail(`${seen()}: applied twice`);
      this.appliedOutcomes.add(m.eventId);
      if (outcome.customerId !== this.customerId(m.customer)) assert.fail(`${seen()}: expected customer ${this.customerId(m.customer)}`);
    } else if (outcome.status !== 'duplicate' || Object.keys(outcome).length !== 1) {
      assert.fail(seen());
    } else if (this.ledger.commits.get(m.eventId) !== 1) {
      // A duplicate only once the event really was committed (maybe by a call that crashed after).
      assert.fail(`${seen()} but it was committed ${this.ledger.commits.get(m.eventId) ?? 0} times`);
    }
  }

  /** After the commands: SQS keeps delivering until the queue is empty (faults still on). */
  async drain(): Promise<void> {
    const pick = () => Math.floor(this.random() * 2 ** 31);
    while (this.queue.length > 0 || this.held.size > 0) {
      if (this.queue.length === 0) throw new Error(`SES feedback held for customers that never appeared: ${[...this.held.keys()].join(', ')}`);
      await this.deliver([Array.from({ length: 10 }, pick), Array.from({ length: 10 }, pick)]);
    }
  }
}

// ---- commands: what SQS does between two looks at the store ------------------------------------
type Model = { delivered: number };

class DeliverBatches implements fc.AsyncCommand<Model, World> {
  constructor(readonly batches: number[][]) {}
  check = () => true;
  async run(model: Model, world: World): Promise<void> {
    await world.deliver(this.batches);
    model.delivered++;
  }
  toString = () => `deliver(${this.batches.map((b) => b.length).join('+')})`;
}

/** SQS delivers a record in flight once more (at-least-once): one more copy on the queue. */
class DuplicateInFlight implements fc.AsyncCommand<Model, World> {
  constructor(readonly pick: number) {}
  check = () => true;
  async run(_model: Model, world: World): Promise<void> {
    if (world.queue.length === 0) return;
    const m = world.queue[this.pick % world.queue.length]!;
    m.copies++;
    world.queue.push(m);
  }
  toString = () => `duplicate(${this.pick})`;
}

const batchArb = fc.array(fc.nat(), { minLength: 0, maxLength: 10 });
const commandsArb = fc.commands(
  [
    fc.tuple(batchArb, batchArb).map(([a, b]) => new DeliverBatches([a, b])),
    fc.nat().map((p) => new DuplicateInFlight(p)),
  ],
  { maxCommands: 500, size: 'max' },
);

/** JSON with keys sorted: equal states can differ in key order (fields set in another order). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function assess(world: World): void {
  const { messages, store, ledger, quarantined } = world;
  expect(world.queue.length).toBe(0);

  // 0 lost, 0 applied twice: every valid record committed exactly once, no marker for anything else.
  const valid = messages.filter((m) => !m.expectedCode);
  const notOnce = valid.filter((m) => ledger.commits.get(m.eventId) !== 1 || store.markers.get(m.eventId)?.outcome !== 'applied');
  expect(notOnce.map((m) => `${m.eventId}: ${ledger.commits.get(m.eventId) ?? 0} commits`)).toEqual([]);
  expect(store.markers.size).toBe(valid.length);
  expect([...ledger.commits.values()].reduce((a, b) => a + b, 0)).toBe(valid.length);
  for (const m of messages) expect(m.settled, `copies of ${m.eventId} that came back with an answer`).toBe(m.copies);

  // Every invalid record quarantined with its code and a reason, once per copy delivered.
  const invalid = messages.filter((m) => m.expectedCode);
  const byBody = new Map<string, { code: string; reason: string }[]>();
  for (const e of quarantined.entries) byBody.set(e.body, [...(byBody.get(e.body) ?? []), e]);
  for (const m of invalid) {
    const entries = byBody.get(m.body!) ?? [];
    expect(entries.length, `quarantine entries for ${m.eventId}`).toBe(m.copies);
    for (const e of entries) {
      expect(e.code).toBe(m.expectedCode);
      expect(e.reason).toMatch(/\w{3,}/);
    }
  }
  expect(quarantined.entries.length).toBe(invalid.reduce((n, m) => n + m.copies, 0));
  expect(world.lambdas.reduce((n, l) => n + (l.metrics.counts.EventsQuarantined ?? 0), 0)).toBe(quarantined.entries.length);

  // Every customer's state equals the model: its distinct valid events folded into a new customer.
  expect(store.profiles.size).toBe(CUSTOMERS);
  // Grouped once: filtering all records once per customer cost more than the rest of the check.
  const validOf = new Map<number, Message[]>();
  for (const m of valid) {
    const list = validOf.get(m.customer);
    if (list) list.push(m);
    else validOf.set(m.customer, [m]);
  }
  for (let k = 0; k < CUSTOMERS; k++) {
    const customerId = world.customerId(k);
    expect(customerId, `customer ${k}`).toBeDefined();
    const events = (validOf.get(k) ?? []).map((m) => {
      const parsed = parseEvent(m.body!);
      if (!parsed.ok) throw new Error(`the generator built an invalid event: ${parsed.reason}`);
      return parsed.event;
    });
    const model = foldEvents(newCustomer(customerId!), events);
    const stored = store.profiles.get(customerId!);
    const reference = referenceFacts(events as unknown as RawEvent[]);
    expect(stored && observedFacts(stored.state, CLOCK, reference.refundCount !== undefined), `facts of customer ${k}`).toEqual(reference);
    expect(canonical(stored?.state), `state of customer ${k}`).toBe(canonical(model));
    expect(stored?.version, `commits to customer ${k}`).toBe(events.length);
  }
}

describe('ingest model: duplicates, any order, throttling and crashes at every step', () => {
  it("loses nothing, applies nothing twice and ends in the model's state, with and without the cache", async () => {
    const totals = { published: 0, duplicates: 0, invalid: 0, ingestCalls: 0, redeliveries: 0, quarantineFailures: 0 };
    const perConfig: Record<Config, number> = { memory: 0, caching: 0 };
    const faults = Object.fromEntries([...PATH_POINTS, 'throttle'].map((p) => [p, 0])) as Record<FaultPoint | 'throttle', number>;
    let runs = 0;

    await fc.assert(
      fc.asyncProperty(runArb, commandsArb, async (input, commands) => {
        // Prepare: a fresh store, two Lambdas (each with its own cache in the caching runs), the queue.
        const config = PLAN[runs++ % PLAN.length]!;
        const world = new World(input, config);
        // Act: what the commands deliver, then SQS keeps delivering until the queue is empty.
        await fc.asyncModelRun(() => ({ model: { delivered: 0 }, real: world }), commands);
        await world.drain();
        // Assess: nothing lost, nothing twice, the model's state.
        assess(world);

        const published = world.messages.reduce((n, m) => n + m.copies, 0);
        perConfig[config] += published;
        totals.published += published;
        totals.duplicates += published - world.messages.length;
        totals.invalid += world.messages.filter((m) => m.expectedCode).reduce((n, m) => n + m.copies, 0);
        totals.ingestCalls += world.ingestCalls;
        totals.redeliveries += world.messages.reduce((n, m) => n + m.redeliveries, 0);
        for (const l of world.lambdas) {
          for (const p of [...PATH_POINTS, 'throttle'] as const) faults[p] += l.faulty.injected[p];
          totals.quarantineFailures += l.quarantine.failures.throttle + l.quarantine.failures.crash;
        }
      }),
      // Fixed seed; no shrinking (thousands of async ingests per run): the seed and path reproduce a failure.
      { numRuns: PLAN.length, seed: 20_260_501, endOnFailure: true },
    );

    // The sizes the issue asks for, and proof that every kind of fault really happened.
    expect(runs).toBe(PLAN.length);
    expect(totals.published).toBeGreaterThanOrEqual(100_000);
    expect(totals.duplicates / totals.published).toBeGreaterThanOrEqual(0.3);
    expect(perConfig.memory).toBeGreaterThanOrEqual(25_000);
    expect(perConfig.caching).toBeGreaterThanOrEqual(30_000);
    expect(totals.invalid).toBeGreaterThan(100);
    for (const p of [...PATH_POINTS, 'throttle'] as const) expect(faults[p], `faults injected: ${p}`).toBeGreaterThan(10);
    expect(totals.quarantineFailures).toBeGreaterThan(0);
    expect(totals.ingestCalls).toBe(totals.published + totals.redeliveries);
    expect(totals.redeliveries).toBeGreaterThan(0);
  }, 900_000);
});
