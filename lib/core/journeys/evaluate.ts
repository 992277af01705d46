// The step evaluation: one delivery (an event, or a wait's timer) against a customer's journey
// instances → their next positions and the step decisions (sends to arbitrate, actions, state to set,
// timers to arm or cancel). Pure: the caller loads the instances and the journeys, arbitrates the
// sends with the rules (lib/core/decide.ts), settles their outcomes (settleSends) and commits it all
// in one transaction.
//
// Per instance, in this order: the goal (reaching it exits at once), a paused journey (nothing moves;
// its due timer is re-armed an hour later), the wait's timer (only if the instance still sits in that
// wait: a stale timer changes nothing), the awaited event, the meanwhile handlers. Then entries.
import { hash } from 'node:crypto';
import type { Contact } from '../customer/index.ts';
import { compilePattern } from '../event-pattern/index.ts';
import type { Outcome, Candidate } from '../decide.ts';
import { entryPattern, type BranchStep, type Journey, type SendSpec, type Step, type WaitStep } from './journey.ts';
import { instanceIdFor, isSent, MAX_PATH, timerName, type JourneyInstance, type PathEntry, type SendRecord, type TimerDetail, type TimerRequest } from './instance.ts';
import { durationMs, nextLocalTime, wallTime } from './time.ts';
import { isTimeZone } from '../campaigns/quiet-hours.ts';

export const TIMER_SOURCE = 'baton.journeys';
export const TIMER_DETAIL_TYPE = 'JourneyTimerDue';

/** The journeys in force: the newest valid version of each, and older versions customers still run on. */
export interface JourneyBook {
  readonly journeys: readonly Journey[];
  version(journeyId: string, version: number): Journey | undefined;
}

export class StaticJourneyBook implements JourneyBook {
  private readonly versions = new Map<string, Journey>();
  constructor(
    readonly journeys: readonly Journey[],
    older: readonly Journey[] = [],
  ) {
    for (const j of [...older, ...journeys]) this.versions.set(`${j.journeyId}\u0000${j.version ?? 1}`, j);
  }
  version(journeyId: string, version: number): Journey | undefined {
    return this.versions.get(`${journeyId}\u0000${version}`);
  }
}

export const EMPTY_JOURNEY_BOOK: JourneyBook = new StaticJourneyBook([]);

export interface Delivery {
  readonly event: { readonly id: string; readonly source: string; readonly 'detail-type': string; readonly detail?: unknown };
  /** The customer view (lib/core/customer/view.ts) with the event applied: what state patterns read. */
  readonly view: { readonly customerId: string; readonly timeZone?: string | undefined; readonly [field: string]: unknown };
  /** The customer's contact history, where the answers to earlier sends are (delivered, opened...). */
  readonly contacts: readonly Contact[];
  readonly instances: readonly JourneyInstance[];
  readonly book: JourneyBook;
  readonly now: Date;
}

/** A send to arbitrate together with the rules: decide sees it as a rule with this id. */
export interface JourneySend {
  readonly ruleId: string;
  readonly journeyId: string;
  readonly campaignId: string;
  readonly stepId: string;
  readonly spec: SendSpec;
  readonly priority: number;
  readonly holdout: number;
}

export interface JourneyAction {
  readonly ruleId: string;
  readonly journeyId: string;
  readonly campaignId: string;
  readonly stepId: string;
  readonly action: string;
  readonly payload?: Record<string, unknown>;
}

export interface Advance {
  /** Instances written by this delivery (seq bumped), in the order of their journeys. */
  readonly instances: readonly JourneyInstance[];
  readonly sends: readonly JourneySend[];
  readonly actions: readonly JourneyAction[];
  readonly setState: Readonly<Record<string, string | number | boolean>>;
  readonly timers: readonly TimerRequest[];
  readonly counts: { entered: number; steps: number; conversions: number; ended: number; staleTimers: number };
}

/** The rule id a journey's send or action has in decisions, contact history and the outbox. */
export const journeyRuleId = (journeyId: string, stepId: string): string => `journey:${journeyId}:${stepId}`;

const compiled = new WeakMap<object, (doc: unknown) => boolean>();
function test(pattern: Record<string, unknown>, doc: unknown): boolean {
  let c = compiled.get(pattern);
  if (!c) compiled.set(pattern, (c = compilePattern(pattern)));
  return c(doc);
}

export const isTimerEvent = (e: { source: string; 'detail-type': string }): boolean => e.source === TIMER_SOURCE && e['detail-type'] === TIMER_DETAIL_TYPE;

/** Deterministic bucket 0..99 for a split: the same customer, entry and step always land in the same one. */
export function splitBucket(journeyId: string, customerId: string, entry: number, stepId: string): number {
  return hash('sha256', `${journeyId}\u0000${customerId}\u0000${entry}\u0000${stepId}`, 'buffer').readUInt32BE(0) % 100;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Run {
  readonly d: Delivery;
  readonly nowIso: string;
  readonly sends: JourneySend[];
  readonly actions: JourneyAction[];
  readonly setState: Record<string, string | number | boolean>;
  readonly timers: TimerRequest[];
  readonly counts: Mutable<Advance['counts']>;
}

export function advance(d: Delivery): Advance {
  const run: Run = {
    d,
    nowIso: d.now.toISOString(),
    sends: [],
    actions: [],
    setState: {},
    timers: [],
    counts: { entered: 0, steps: 0, conversions: 0, ended: 0, staleTimers: 0 },
  };
  const timer = isTimerEvent(d.event) ? (d.event.detail as TimerDetail) : undefined;
  const out: JourneyInstance[] = [];
  const byJourney = new Map(d.instances.map((i) => [i.journeyId, i]));
  let timerMatched = false;

  for (const instance of d.instances) {
    if (instance.status !== 'active') continue;
    const journey = d.book.version(instance.journeyId, instance.version);
    if (!journey) continue; // its version is not loadable (invalid or removed): left where it is
    const current = d.book.journeys.find((j) => j.journeyId === instance.journeyId);
    const next = step(run, journey, current?.status === 'paused', instance, timer);
    if (timer && timer.instanceId === instance.instanceId && next) timerMatched = true;
    if (next) out.push(next);
  }
  if (timer && !timerMatched) run.counts.staleTimers++;

  if (!timer) {
    for (const journey of d.book.journeys) {
      const previous = byJourney.get(journey.journeyId);
      if (previous?.status === 'active' || !mayEnter(journey, previous, d)) continue;
      out.push(enter(run, journey, previous));
    }
  }
  return { instances: out, sends: run.sends, actions: run.actions, setState: run.setState, timers: run.timers, counts: run.counts };
}

function goalReached(journey: Journey, d: Delivery): boolean {
  const g = journey.goal;
  if (!g) return false;
  if (g.event && !isTimerEvent(d.event) && test(g.event, d.event)) return true;
  return g.state !== undefined && test(g.state, d.view);
}

function mayEnter(journey: Journey, previous: JourneyInstance | undefined, d: Delivery): boolean {
  if (journey.status !== 'active') return false;
  if (!test(entryPattern(journey), d.event)) return false;
  if (journey.entry.state && !test(journey.entry.state, d.view)) return false;
  // Customers who already reached the goal do not enter.
  if (goalReached(journey, d)) return false;
  if (!previous) return true;
  const re = journey.entry.reEntry;
  if (re.policy === 'never') return false;
  if (re.policy === 'always') return true;
  return d.now.getTime() - Date.parse(previous.endedAt ?? previous.updatedAt) >= re.days * 86_400_000;
}

function pathAdd(i: Mutable<JourneyInstance>, entry: PathEntry): void {
  const path = [...i.path, entry];
  i.path = path.length > MAX_PATH ? path.slice(path.length - MAX_PATH) : path;
}

function enter(run: Run, journey: Journey, previous: JourneyInstance | undefined): JourneyInstance {
  const { d, nowIso } = run;
  const entry = (previous?.entry ?? 0) + 1;
  const i: Mutable<JourneyInstance> = {
    instanceId: instanceIdFor(journey.journeyId, d.view.customerId, entry),
    journeyId: journey.journeyId,
    version: journey.version ?? 1,
    customerId: d.view.customerId,
    entry,
    status: 'active',
    visit: previous?.visit ?? 0,
    seq: previous?.seq ?? 0,
    enteredAt: nowIso,
    updatedAt: nowIso,
    sends: [],
    fired: [],
    path: [],
  };
  run.counts.entered++;
  pathAdd(i, { stepId: journey.steps[0]!.id, at: nowIso, what: 'entered' });
  runFrom(run, journey, i, 0);
  i.seq++;
  return i;
}

/** One active instance and the delivery; undefined when nothing about it changes. */
function step(run: Run, journey: Journey, paused: boolean, instance: JourneyInstance, timer: TimerDetail | undefined): JourneyInstance | undefined {
  const { d, nowIso } = run;
  const i: Mutable<JourneyInstance> = { ...instance };
  const done = (): JourneyInstance => ({ ...i, seq: instance.seq + 1, updatedAt: nowIso });

  if (goalReached(journey, d)) {
    cancelTimer(run, i);
    end(run, i, 'converted', 'goal');
    run.counts.conversions++;
    pathAdd(i, { stepId: i.lastStepId ?? journey.steps[0]!.id, at: nowIso, what: 'goal reached' });
    return done();
  }
  const wait = journey.steps.find((s): s is WaitStep => s.id === i.stepId && s.type === 'wait');
  if (!wait) {
    // An active instance not in a wait (a step removed by hand): it cannot move, so it ends.
    end(run, i, 'exited', 'stuck');
    return done();
  }
  if (timer) {
    if (timer.instanceId !== i.instanceId || timer.stepId !== i.stepId || timer.dueAt !== i.dueAt) return undefined;
    if (paused) {
      // Nothing moves while the journey is paused: the wait times out an hour after this fire instead.
      arm(run, journey, i, wait, d.now.getTime() + 3_600_000);
      pathAdd(i, { stepId: wait.id, at: nowIso, what: 'timer held: journey paused' });
      return done();
    }
    i.timer = undefined;
    pathAdd(i, { stepId: wait.id, at: nowIso, what: 'timed out' });
    const target = wait.event ? (wait.timeoutNext ?? wait.next) : wait.next;
    moveOn(run, journey, i, indexAfter(journey, wait, target));
    return done();
  }
  if (paused) return undefined;

  let changed = false;
  // Conversions of earlier sends (the answer `converted`).
  i.sends = i.sends.map((r) => {
    if (r.convertedAt || !isSent(r)) return r;
    const s = journey.steps.find((x) => x.id === r.stepId);
    if (s?.type === 'send' && s.conversion && test(s.conversion, d.event)) {
      changed = true;
      return { ...r, convertedAt: nowIso };
    }
    return r;
  });
  if (wait.event && test(wait.event, d.event)) {
    cancelTimer(run, i);
    pathAdd(i, { stepId: wait.id, at: nowIso, what: 'awaited event arrived' });
    moveOn(run, journey, i, indexAfter(journey, wait, wait.next));
    return done();
  }
  for (const m of wait.meanwhile ?? []) {
    if (i.fired.includes(m.id) || !test(m.event, d.event)) continue;
    i.fired = [...i.fired, m.id];
    const sid = `${wait.id}.${m.id}`;
    queueSend(run, journey, i, sid, m.send);
    pathAdd(i, { stepId: sid, at: nowIso, what: `meanwhile: send ${m.send.channel}` });
    changed = true;
  }
  return changed ? done() : undefined;
}

function indexAfter(journey: Journey, from: Step, target: string | undefined): number | undefined {
  if (target !== undefined) return journey.steps.findIndex((s) => s.id === target);
  const at = journey.steps.indexOf(from);
  return at + 1 < journey.steps.length ? at + 1 : undefined;
}

function moveOn(run: Run, journey: Journey, i: Mutable<JourneyInstance>, index: number | undefined): void {
  i.stepId = undefined;
  i.dueAt = undefined;
  i.fired = [];
  if (index === undefined) end(run, i, 'completed', 'end');
  else runFrom(run, journey, i, index);
}

function end(run: Run, i: Mutable<JourneyInstance>, status: JourneyInstance['status'], reason: NonNullable<JourneyInstance['endReason']>): void {
  i.status = status;
  i.endReason = reason;
  i.endedAt = run.nowIso;
  i.stepId = undefined;
  i.dueAt = undefined;
  i.timer = undefined;
  run.counts.ended++;
}

function cancelTimer(run: Run, i: Mutable<JourneyInstance>): void {
  if (i.timer) run.timers.push({ op: 'delete', name: i.timer });
  i.timer = undefined;
}

function arm(run: Run, journey: Journey, i: Mutable<JourneyInstance>, wait: WaitStep, dueMs: number): void {
  cancelTimer(run, i);
  const due = Math.ceil(dueMs / 1000) * 1000; // Scheduler's at() counts whole seconds
  const zone = wait.until ? customerZone(journey, run.d) : 'UTC';
  i.visit += 1;
  i.stepId = wait.id;
  i.dueAt = new Date(due).toISOString();
  i.timer = timerName(i.instanceId, wait.id, i.visit);
  run.timers.push({
    op: 'create',
    name: i.timer,
    at: wallTime(due, zone),
    timeZone: zone,
    detail: { journeyId: i.journeyId, version: i.version, instanceId: i.instanceId, customerId: i.customerId, stepId: wait.id, dueAt: i.dueAt },
  });
}

const customerZone = (journey: Journey, d: Delivery): string => {
  const tz = d.view.timeZone;
  return typeof tz === 'string' && tz.length > 0 && tz.length <= 64 && isTimeZone(tz) ? tz : journey.timeZone;
};

function queueSend(run: Run, journey: Journey, i: Mutable<JourneyInstance>, stepId: string, spec: SendSpec): void {
  const ruleId = journeyRuleId(journey.journeyId, stepId);
  run.sends.push({
    ruleId,
    journeyId: journey.journeyId,
    campaignId: journey.campaignId,
    stepId,
    spec,
    priority: spec.priority ?? journey.priority,
    holdout: journey.holdout,
  });
  i.sends = [...i.sends.filter((r) => r.stepId !== stepId), { stepId, decisionId: '', channel: spec.channel, at: run.nowIso, outcome: 'pending' }];
}

/** Runs steps from `index` until a wait, an exit or the end. The graph check rules out cycles without a wait. */
function runFrom(run: Run, journey: Journey, i: Mutable<JourneyInstance>, start: number): void {
  const { nowIso } = run;
  let index: number | undefined = start;
  for (let guard = 0; index !== undefined; guard++) {
    if (guard > journey.steps.length) {
      end(run, i, 'exited', 'stuck');
      return;
    }
    const s: Step = journey.steps[index]!;
    run.counts.steps++;
    i.lastStepId = s.id;
    switch (s.type) {
      case 'send':
        queueSend(run, journey, i, s.id, s);
        pathAdd(i, { stepId: s.id, at: nowIso, what: `send ${s.channel}` });
        index = indexAfter(journey, s, s.next);
        break;
      case 'setState':
        Object.assign(run.setState, s.set);
        pathAdd(i, { stepId: s.id, at: nowIso, what: 'state set' });
        index = indexAfter(journey, s, s.next);
        break;
      case 'action':
        run.actions.push({
          ruleId: journeyRuleId(journey.journeyId, s.id),
          journeyId: journey.journeyId,
          campaignId: journey.campaignId,
          stepId: s.id,
          action: s.action,
          ...(s.payload ? { payload: s.payload } : {}),
        });
        pathAdd(i, { stepId: s.id, at: nowIso, what: `action ${s.action}` });
        index = indexAfter(journey, s, s.next);
        break;
      case 'branch': {
        const target = choose(run, journey, i, s);
        pathAdd(i, { stepId: s.id, at: nowIso, what: `branch → ${target}` });
        index = journey.steps.findIndex((x) => x.id === target);
        break;
      }
      case 'exit':
        pathAdd(i, { stepId: s.id, at: nowIso, what: 'exit' });
        end(run, i, 'exited', 'exit-step');
        return;
      case 'wait': {
        const nowMs = run.d.now.getTime();
        const dueMs = s.duration ? nowMs + durationMs(s.duration) : nextLocalTime(s.until!.time, customerZone(journey, run.d), nowMs);
        arm(run, journey, i, s, dueMs);
        pathAdd(i, { stepId: s.id, at: nowIso, what: `waiting until ${i.dueAt}${s.event ? ' or the awaited event' : ''}` });
        return;
      }
    }
  }
  end(run, i, 'completed', 'end');
}

/** What the customer answered to a send: the contact history holds the channel's feedback times. */
export function answersTo(record: SendRecord | undefined, contacts: readonly Contact[]): Set<string> {
  const out = new Set<string>();
  if (!record || !isSent(record)) return new Set(['not-sent']);
  for (const c of contacts) {
    if (c.channel !== record.channel || c.id.split('/')[0] !== record.decisionId) continue;
    if (c.deliveredAt || (c.channel !== 'email' && c.sentAt)) out.add('delivered');
    if (c.openedAt) out.add('opened');
    if (c.clickedAt) out.add('clicked');
    if (c.bouncedAt) out.add('bounced');
  }
  if (out.has('clicked')) out.add('opened');
  if (out.has('opened')) out.add('delivered');
  if (record.convertedAt) out.add('converted');
  if (out.size === 0) out.add('no-answer');
  return out;
}

function choose(run: Run, journey: Journey, i: JourneyInstance, s: BranchStep): string {
  if (s.split) {
    const bucket = splitBucket(journey.journeyId, i.customerId, i.entry, s.id);
    let acc = 0;
    for (const c of s.split) if (bucket < (acc += c.share)) return c.next;
    return s.split[s.split.length - 1]!.next;
  }
  const answers = s.answerOf ? answersTo([...i.sends].reverse().find((r) => r.stepId === s.answerOf), run.d.contacts) : undefined;
  for (const c of s.cases ?? []) {
    if ('answer' in c ? answers!.has(c.answer) : test(c.state, run.d.view)) return c.next;
  }
  return s.otherwise!;
}

/**
 * Records what the arbitration made of each send queued by this delivery: decide's candidate for the
 * send's rule id (chosen, deferred, or suppressed and why). A send decide did not see is `not-decided`.
 */
export function settleSends(instances: readonly JourneyInstance[], decisionId: string | undefined, candidates: readonly Candidate[]): JourneyInstance[] {
  const byRule = new Map(candidates.map((c) => [c.ruleId, c]));
  return instances.map((i) => {
    if (!i.sends.some((r) => r.outcome === 'pending')) return i;
    return {
      ...i,
      sends: i.sends.map((r): SendRecord => {
        if (r.outcome !== 'pending') return r;
        const c = byRule.get(journeyRuleId(i.journeyId, r.stepId));
        const outcome: Outcome | 'pending' = c?.outcome ?? 'lower-priority';
        return { ...r, decisionId: decisionId ?? '', outcome, reason: c?.reason ?? 'not arbitrated' };
      }),
    };
  });
}
