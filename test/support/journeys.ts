// The real ingest path with journeys on a fake clock, over the in-memory adapters or DynamoDB Local,
// and a scheduler that fires schedules when the clock reaches them (as EventBridge Scheduler would,
// delivering the schedule's Input to evaluate). For the journey scenario, property and policy tests.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { createIngest, type IngestOutcome } from '../../lib/app/ingest.ts';
import { createJourneyStep, relayTimers, type JourneyDeps } from '../../lib/app/journeys.ts';
import { CachingCustomerRepository } from '../../lib/adapters/caching.ts';
import type { CustomerRepository, JourneyInstances, JourneyTimers, TimerOutbox } from '../../lib/app/ports.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { MemoryQuarantine } from '../../lib/adapters/memory/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { MemoryJourneySource, MemoryJourneyTimers, type MemorySchedule } from '../../lib/adapters/memory/journeys.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoJourneyInstances } from '../../lib/adapters/dynamo/journeys.ts';
import { DynamoDecisionHistory } from '../../lib/adapters/dynamo/decisions.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { checkRule, type RuleInput } from '../../lib/core/rules/rule.ts';
import { StaticCampaignBook, checkCampaign, type CampaignInput } from '../../lib/core/campaigns/campaign.ts';
import { checkPolicy, type ContactPolicyInput } from '../../lib/core/campaigns/policy.ts';
import { checkJourney } from '../../lib/core/journeys/check.ts';
import type { Journey } from '../../lib/core/journeys/journey.ts';
import { StaticJourneyBook } from '../../lib/core/journeys/evaluate.ts';
import type { JourneyInstance } from '../../lib/core/journeys/instance.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import type { Decision } from '../../lib/core/decide.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function journeyFrom(item: unknown): Journey {
  const c = checkJourney(item);
  if (!c.ok) throw new Error(c.reason);
  return c.journey;
}

export const loadJourneyFile = (path: string): Journey => journeyFrom(parseYaml(readFileSync(path, 'utf8')));
export const RENEWAL_FILE = new URL('../../examples/journeys/renewal.yaml', import.meta.url).pathname;

export interface FakeClock {
  (): Date;
  set(ms: number): void;
  ms(): number;
}

export function fakeClock(startIso: string): FakeClock {
  let now = Date.parse(startIso);
  const clock = (() => new Date(now)) as FakeClock;
  clock.set = (ms) => {
    now = ms;
  };
  clock.ms = () => now;
  return clock;
}

export interface StackOptions {
  readonly journeys: readonly Journey[];
  readonly rules?: readonly RuleInput[];
  readonly campaigns?: readonly CampaignInput[];
  readonly policies?: readonly ContactPolicyInput[];
  readonly start?: string;
  /** DynamoDB Local: the client and tables; the in-memory adapters without it. */
  readonly dynamo?: { db: DynamoDBDocumentClient; tables: TableNames };
  /** Faults: wrap the repository or the scheduler (a crash before or after a commit, a failed create). */
  readonly wrapCustomers?: (repo: CustomerRepository<CustomerState>) => CustomerRepository<CustomerState>;
  readonly wrapTimers?: (timers: JourneyTimers) => JourneyTimers;
  /** The id new customers get (random by default). */
  readonly newCustomerId?: () => string;
  /** A warm function's per-process cache in front of the repository and the positions, as lib/wiring/ingest.ts composes it. */
  readonly cache?: boolean;
}

let eventCounter = 0;

/** An event from a source system, with a unique id unless one is given. */
export function customerEvent(source: string, detailType: string, detail: Record<string, unknown>, at: Date, id?: string): Record<string, unknown> {
  return {
    version: '0',
    id: id ?? `evt-${process.pid}-${++eventCounter}-${Math.random().toString(36).slice(2, 8)}`,
    source,
    'detail-type': detailType,
    time: at.toISOString(),
    account: '123456789012',
    region: 'eu-west-1',
    resources: [],
    detail: { occurredAt: at.toISOString(), ...detail },
  };
}

export function journeyStack(opts: StackOptions) {
  const clock = fakeClock(opts.start ?? '2026-03-02T08:00:00.000Z');
  const metrics = new MemoryMetrics();
  const memory = opts.dynamo ? undefined : new MemoryCustomerRepository<CustomerState>();
  const bare: CustomerRepository<CustomerState> = memory ?? new DynamoCustomerRepository<CustomerState>(opts.dynamo!.db, opts.dynamo!.tables, clock);
  const wrapped = opts.wrapCustomers ? opts.wrapCustomers(bare) : bare;
  const cached = opts.cache ? new CachingCustomerRepository(wrapped) : undefined;
  const customers = cached ?? wrapped;
  const store: JourneyInstances & TimerOutbox = memory?.journeys ?? new DynamoJourneyInstances(opts.dynamo!.db, opts.dynamo!.tables.customers, clock);
  const timers = new MemoryJourneyTimers();
  const source = new MemoryJourneySource(new StaticJourneyBook(opts.journeys));
  const rules = new RuleSet((opts.rules ?? []).map((r) => {
    const c = checkRule(r);
    if (!c.ok) throw new Error(c.reason);
    return c.rule;
  }));
  const book = new StaticCampaignBook(
    (opts.campaigns ?? []).map((c) => {
      const k = checkCampaign(c);
      if (!k.ok) throw new Error(k.reason);
      return k.campaign;
    }),
    (opts.policies ?? []).map((p) => {
      const k = checkPolicy(p);
      if (!k.ok) throw new Error(k.reason);
      return k.policy;
    }),
  );
  const relayErrors: unknown[] = [];
  const journeyDeps: JourneyDeps = { journeys: source, instances: cached ? cached.journeyInstances(store) : store, timers: opts.wrapTimers ? opts.wrapTimers(timers) : timers, outbox: store, metrics, clock, onRelayError: (e) => relayErrors.push(e) };
  const ingest = createIngest({
    customers,
    quarantine: new MemoryQuarantine(),
    rules: { current: async () => rules },
    campaigns: { current: async () => book },
    metrics,
    clock,
    sleep: async () => {},
    ...(opts.newCustomerId ? { newCustomerId: opts.newCustomerId } : {}),
    journeys: createJourneyStep(journeyDeps),
  });
  const history = opts.dynamo ? new DynamoDecisionHistory(opts.dynamo.db, opts.dynamo.tables.decisions) : undefined;

  const send = async (event: Record<string, unknown>): Promise<IngestOutcome> => ingest(JSON.stringify(event));

  return {
    clock,
    metrics,
    timers,
    store,
    source,
    memory,
    relayErrors,
    send,
    /** An event of `detailType` now, on the fake clock. */
    event: (source: string, detailType: string, detail: Record<string, unknown>, id?: string) => send(customerEvent(source, detailType, detail, clock(), id)),
    /** Moves the clock to `ms` later, firing every schedule due on the way at its time. */
    async advance(ms: number): Promise<MemorySchedule[]> {
      const until = clock.ms() + ms;
      const fired: MemorySchedule[] = [];
      for (;;) {
        const next = timers.nextDue();
        if (next === undefined || next > until) break;
        clock.set(Math.max(clock.ms(), next));
        for (const s of timers.due(clock.ms())) {
          fired.push(s);
          const out = await send(s.event as unknown as Record<string, unknown>);
          if (out.status === 'quarantined') throw new Error(`timer quarantined: ${out.reason}`);
        }
      }
      clock.set(until);
      return fired;
    },
    relay: () => relayTimers(journeyDeps),
    instance: async (customerId: string, journeyId: string): Promise<JourneyInstance | undefined> =>
      (await store.load(customerId)).find((i) => i.journeyId === journeyId),
    /** The customer's decisions, oldest first. */
    async decisions(customerId: string): Promise<Decision[]> {
      if (memory) return [...memory.decisions.values()].filter((d) => d.customerId === customerId).sort((a, b) => a.at.localeCompare(b.at));
      const found = await history!.ofCustomer([customerId], 1000);
      return found.decisions
        .map((r) => ({ ...(r.decision as unknown as Decision), messages: r.messages as unknown as Decision['messages'] }))
        .sort((a, b) => a.at.localeCompare(b.at));
    },
  };
}

export type JourneyStack = ReturnType<typeof journeyStack>;

/** Every message queued for the customer, oldest first: `<channel>:<template>` with its rule. */
export async function messagesOf(stack: JourneyStack, customerId: string): Promise<{ channel: string; template?: string; ruleId: string; at: string }[]> {
  return (await stack.decisions(customerId)).flatMap((d) => d.messages.map((m) => ({ channel: m.channel, ...(m.template ? { template: m.template } : {}), ruleId: m.ruleId, at: d.at })));
}
