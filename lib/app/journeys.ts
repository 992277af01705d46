// Journeys in the decision step: on every event (and every JourneyTimerDue) the customer's instances
// move (lib/core/journeys/evaluate.ts); their sends join the rules in the one arbitration
// (lib/core/decide.ts, through decide-and-commit.ts), so consent, caps, quiet hours, cooldown, budget,
// capacity, holdout and priority hold across rules and journeys; the new positions, the outbox and the
// timers to arm go into the same transaction as the profile. Each instance write is conditional on the
// seq read and the event's marker is in the transaction, so a repeated event or timer applies nothing
// twice; a timer whose wait was left finds the position moved and changes nothing. After the commit the
// relay hands the timers to the scheduler and clears them from the timer outbox; a crash in between
// leaves them there for `relayTimers`.
import { RuleSet, byPriority, type CompiledRule } from '../core/rules/engine.ts';
import type { Rule } from '../core/rules/rule.ts';
import { compilePattern } from '../core/event-pattern/index.ts';
import type { Decision } from '../core/decide.ts';
import { applyRuleState, customerView, type CustomerState } from '../core/customer/index.ts';
import { advance, isTimerEvent, settleSends, type Advance, type JourneyAction, type JourneyBook, type JourneySend } from '../core/journeys/evaluate.ts';
import { timerEventId, type JourneyInstance, type TimerRequest } from '../core/journeys/instance.ts';
import { mergePositions, type MergedPositions } from '../core/journeys/merge.ts';
import type { JourneyInstances, JourneySource, JourneyTimers, JourneyWrites, Metrics, TimerEnvelope, TimerOutbox } from './ports.ts';

export interface JourneyDeps {
  readonly journeys: JourneySource;
  readonly instances: JourneyInstances;
  readonly timers: JourneyTimers;
  readonly outbox: TimerOutbox;
  readonly metrics: Metrics;
  readonly clock: () => Date;
  /** The envelope's account and region (what EventBridge would stamp). */
  readonly account?: string;
  readonly region?: string;
  /** Told when the relay fails (the timers stay in the outbox for relayTimers). */
  readonly onRelayError?: (error: unknown) => void;
}

/** What journeys add to one attempt of the decision step. */
export interface JourneyPlan {
  /** The rules with the journey's sends and actions beside them, for decide. */
  readonly rules: RuleSet;
  /** The state with the journeys' setState, and the writes, once decide has ruled on the sends. */
  settle(decision: Decision | undefined, state: CustomerState, at: Date, eventId: string): { state: CustomerState; writes: JourneyWrites };
  /** After the commit: counts, and the timers handed to the scheduler. */
  committed(): Promise<void>;
}

/** The event the decision step decides on (decide-and-commit's DecisionEvent, with its detail). */
interface DecisionEvent {
  readonly id: string;
  readonly source: string;
  readonly 'detail-type': string;
}

export interface JourneyStep {
  /** Undefined when no journey is concerned (no journeys at all, or a new customer and no entry). */
  /** `mergedAway`: the profiles this event merges into the customer; their positions move to it (lib/core/journeys/merge.ts). */
  prepare(event: DecisionEvent, state: CustomerState, known: boolean, rules: RuleSet, now: Date, mergedAway?: readonly string[]): Promise<JourneyPlan | undefined>;
}

// decide never tests a rule's `when` (the event matched already); a journey step's stands for "any event".
const ANYTHING = compilePattern({ source: [{ exists: true }] });
const always = (): boolean => true;

function sendRule(s: JourneySend): Rule {
  return {
    ruleId: s.ruleId,
    campaignId: s.campaignId,
    enabled: true,
    priority: s.priority,
    when: {},
    then: { channel: s.spec.channel, template: s.spec.template, transactional: s.spec.transactional ?? false, ...(s.spec.offer ? { offer: s.spec.offer } : {}) },
    holdout: s.holdout,
    quietHours: 'defer',
  };
}

function actionRule(a: JourneyAction, priority: number): Rule {
  return {
    ruleId: a.ruleId,
    campaignId: a.campaignId,
    enabled: true,
    priority,
    when: {},
    then: { channel: 'bus', action: a.action, ...(a.payload ? { payload: a.payload } : {}) },
    holdout: 0,
    quietHours: 'defer',
  };
}

const compiled = (rule: Rule): CompiledRule => ({ rule, when: ANYTHING, if: always, fromMs: -Infinity, untilMs: Infinity });

/** The rules in force plus the journeys' sends for this one event: decide ranks them all together. */
class WithJourneySteps extends RuleSet {
  constructor(
    private readonly base: RuleSet,
    private readonly steps: readonly CompiledRule[],
  ) {
    super([]);
  }
  override matching(event: { source: string; 'detail-type': string }): CompiledRule[] {
    return [...this.base.matching(event), ...this.steps].sort(byPriority);
  }
}

/** The event a timer's schedule delivers to the evaluate queue. */
export function timerEnvelope(request: Extract<TimerRequest, { op: 'create' }>, account = '000000000000', region = 'local'): TimerEnvelope {
  return {
    version: '0',
    id: timerEventId(request.name),
    source: 'baton.journeys',
    'detail-type': 'JourneyTimerDue',
    time: request.detail.dueAt,
    account,
    region,
    resources: [],
    detail: request.detail,
  };
}

/** Hands timer requests to the scheduler and clears each from the outbox once done. */
export async function relay(deps: Pick<JourneyDeps, 'timers' | 'outbox' | 'metrics' | 'account' | 'region'>, requests: readonly TimerRequest[]): Promise<void> {
  for (const r of requests) {
    if (r.op === 'create') {
      const out = await deps.timers.create(r.name, r.at, r.timeZone, timerEnvelope(r, deps.account, deps.region));
      if (out === 'created') deps.metrics.count('JourneyTimersCreated');
    } else {
      await deps.timers.delete(r.name);
    }
    await deps.outbox.done(r);
  }
}

/** The sweep for timers a crash left in the outbox (run on a schedule, and at start-up locally). */
export async function relayTimers(deps: Pick<JourneyDeps, 'timers' | 'outbox' | 'metrics' | 'account' | 'region'>, limit = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const batch = await deps.outbox.pending(limit);
    if (batch.length === 0) return total;
    await relay(deps, batch);
    total += batch.length;
    if (batch.length < limit) return total;
  }
}

/** The step's changes plus the merge's: positions taken over are written even when the event moved them not; the merge's timers first. */
function withMerge(stepped: Advance, merge: MergedPositions): Advance {
  const written = new Set(stepped.instances.map((i) => i.journeyId));
  const adoptedOnly = merge.instances.filter((i) => merge.adopted.has(i.journeyId) && !written.has(i.journeyId)).map((i) => ({ ...i, seq: i.seq + 1 }));
  return { ...stepped, instances: [...stepped.instances, ...adoptedOnly], timers: [...merge.timers, ...stepped.timers] };
}

/** A timer that reached the decision step: counted once, with how late it came (seconds after its due time). */
function timerFired(metrics: Metrics, event: DecisionEvent, now: Date): void {
  if (!isTimerEvent(event)) return;
  metrics.count('JourneyTimersFired');
  const due = Date.parse(String((event as { detail?: { dueAt?: unknown } }).detail?.dueAt ?? ''));
  if (Number.isFinite(due)) metrics.count('JourneyTimerLateSeconds', Math.max(0, Math.round((now.getTime() - due) / 1000)));
}

/** Customers in each step: −1 on the wait left, +1 on the wait entered (steps run through at once hold nobody). */
function countPosition(metrics: Metrics, before: JourneyInstance | undefined, after: JourneyInstance): void {
  const was = before?.status === 'active' ? before.stepId : undefined;
  const is = after.status === 'active' ? after.stepId : undefined;
  if (was === is) return;
  if (was) metrics.count('JourneyCustomersInStep', -1, { journeyId: after.journeyId, stepId: was });
  if (is) metrics.count('JourneyCustomersInStep', 1, { journeyId: after.journeyId, stepId: is });
}

function hasEntries(book: JourneyBook): boolean {
  return book.journeys.some((j) => j.status === 'active');
}

export function createJourneyStep(deps: JourneyDeps): JourneyStep {
  return {
    async prepare(event, state, known, rules, now, mergedAway = []) {
      const book = await deps.journeys.current();
      if (book.journeys.length === 0 && mergedAway.length === 0) return undefined;
      // A new customer has no instances: only entries can concern them.
      if (!known && !hasEntries(book) && mergedAway.length === 0) return undefined;
      const own = known ? await deps.instances.load(state.customerId) : [];
      const theirs = (await Promise.all(mergedAway.map((id) => deps.instances.load(id)))).flat();
      const merge = theirs.length ? mergePositions(state.customerId, own, theirs) : undefined;
      const instances = merge?.instances ?? own;
      const read = new Map(instances.map((i) => [i.journeyId, i.seq]));
      const before = new Map(instances.map((i) => [i.journeyId, i]));
      const stepped: Advance = advance({ event, view: customerView(state, now), contacts: state.contacts, instances, book, now });
      const moved = merge ? withMerge(stepped, merge) : stepped;
      if (moved.instances.length === 0 && moved.timers.length === 0 && !merge) {
        timerFired(deps.metrics, event, now);
        if (moved.counts.staleTimers) deps.metrics.count('JourneyTimersStale', moved.counts.staleTimers);
        return undefined;
      }
      const priorityOf = new Map(book.journeys.map((j) => [j.journeyId, j.priority]));
      const steps = [...moved.sends.map((s) => compiled(sendRule(s))), ...moved.actions.map((a) => compiled(actionRule(a, priorityOf.get(a.journeyId) ?? 0)))];
      return {
        rules: steps.length ? new WithJourneySteps(rules, steps) : rules,
        settle(decision, current, at, eventId) {
          const settled: JourneyInstance[] = moved.sends.length ? settleSends(moved.instances, decision?.decisionId, decision?.candidates ?? []) : [...moved.instances];
          const next = Object.keys(moved.setState).length ? applyRuleState(current, moved.setState, at.toISOString(), eventId) : current;
          return {
            state: next,
            writes: {
              instances: settled.map((instance) => ({ instance, expectedSeq: read.get(instance.journeyId) ?? 0 })),
              timers: moved.timers,
              ...(merge?.removed.length ? { removed: merge.removed } : {}),
            },
          };
        },
        async committed() {
          const c = moved.counts;
          if (c.entered) deps.metrics.count('JourneyEntries', c.entered);
          if (c.steps) deps.metrics.count('JourneySteps', c.steps);
          if (c.conversions) deps.metrics.count('JourneyConversions', c.conversions);
          if (c.staleTimers) deps.metrics.count('JourneyTimersStale', c.staleTimers);
          timerFired(deps.metrics, event, now);
          for (const i of moved.instances) countPosition(deps.metrics, before.get(i.journeyId), i);
          if (moved.timers.length === 0) return;
          try {
            await relay(deps, moved.timers);
          } catch (err) {
            // Committed already: the timers wait in the outbox for the sweep, the event is done.
            deps.onRelayError?.(err);
          }
        },
      };
    },
  };
}
