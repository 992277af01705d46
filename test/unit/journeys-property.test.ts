// Journeys, exactly once: random journeys, random event streams with duplicated events, duplicated
// and late timer fires, a crash before or after any commit (the event is redelivered, as SQS does)
// and failed schedule creations (the sweep relays the timer outbox). The real ingest path on the
// in-memory adapters is checked against an independent model written here from the language's
// definition (docs/journeys.md), which calls none of lib/core/journeys: the same messages in the same
// order, the same path and final position, every armed wait still scheduled (no wait lost), nothing
// sent after the goal.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { CustomerRepository, JourneyTimers } from '../../lib/app/ports.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { checkJourney } from '../../lib/core/journeys/check.ts';
import { customerEvent, journeyFrom, journeyStack } from '../support/journeys.ts';

const HOUR = 3_600_000;
type Kind = 'due' | 'renewed' | 'x';
const CHANNELS = ['email', 'sms', 'push'] as const;

// ---- random journeys (the subset the model speaks) ------------------------------------------

type MStep =
  | { id: string; type: 'send'; channel: (typeof CHANNELS)[number] }
  | { id: string; type: 'wait'; hours: number; event?: Kind; next?: string; timeoutNext?: string }
  | { id: string; type: 'split'; a: string; b: string }
  | { id: string; type: 'exit' };
interface MJourney {
  steps: MStep[];
  reEntry: 'never' | 'always';
}

const journeyArb: fc.Arbitrary<MJourney> = fc
  .record({
    shape: fc.array(fc.record({ t: fc.constantFrom('send', 'send', 'wait', 'wait', 'split'), ch: fc.constantFrom(...CHANNELS), hours: fc.integer({ min: 1, max: 30 }), ev: fc.option(fc.constantFrom<Kind>('x', 'due'), { nil: undefined }), back: fc.nat(), fwd: fc.nat(), tback: fc.boolean() }), { minLength: 1, maxLength: 6 }),
    exitLast: fc.boolean(),
    reEntry: fc.constantFrom<'never' | 'always'>('never', 'always'),
  })
  .map(({ shape, exitLast, reEntry }) => {
    const n = shape.length + (exitLast ? 1 : 0);
    const id = (i: number) => `s${i}`;
    const steps: MStep[] = shape.map((s, i): MStep => {
      if (s.t === 'send') return { id: id(i), type: 'send', channel: s.ch };
      if (s.t === 'split') {
        // Both ways lead forward (the next step, and a later one): no cycle without a wait.
        if (i + 1 >= n) return { id: id(i), type: 'send', channel: s.ch };
        const later = i + 1 + (s.fwd % (n - i - 1));
        return { id: id(i), type: 'split', a: id(i + 1), b: id(later) };
      }
      // A wait may lead back to any step up to itself: cycles pass through it.
      const back = s.back % 3 === 0 ? id(s.back % (i + 1)) : undefined;
      return { id: id(i), type: 'wait', hours: s.hours, ...(s.ev ? { event: s.ev } : {}), ...(back ? { next: back } : {}), ...(s.ev && s.tback && back ? { timeoutNext: id(i) === back ? id(0) : id(i) } : {}) };
    });
    if (exitLast) steps.push({ id: id(shape.length), type: 'exit' });
    return { steps, reEntry };
  })
  // Waits leading back can leave later steps unreachable: such journeys are refused at put, not run.
  .filter((m) => checkJourney(toItem(m)).ok);

const PATTERN: Record<Kind, Record<string, unknown>> = {
  due: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'] },
  renewed: { source: ['baton.erp'], 'detail-type': ['LicenseRenewed'] },
  x: { source: ['baton.crm'], 'detail-type': ['CustomerUpserted'] },
};

function toItem(m: MJourney): unknown {
  return {
    journeyId: 'prop',
    campaignId: 'prop-campaign',
    version: 1,
    entry: { event: PATTERN.due, reEntry: { policy: m.reEntry } },
    goal: { event: PATTERN.renewed },
    steps: m.steps.map((s) => {
      if (s.type === 'send') return { id: s.id, type: 'send', channel: s.channel, template: `t-${s.id}`, transactional: true };
      if (s.type === 'wait') return { id: s.id, type: 'wait', duration: { hours: s.hours }, ...(s.event ? { event: PATTERN[s.event] } : {}), ...(s.next ? { next: s.next } : {}), ...(s.timeoutNext ? { timeoutNext: s.timeoutNext } : {}) };
      if (s.type === 'split') return { id: s.id, type: 'branch', split: [{ share: 50, next: s.a }, { share: 50, next: s.b }] };
      return { id: s.id, type: 'exit' };
    }),
  };
}

// ---- the independent model --------------------------------------------------------------------

interface MInstance {
  entry: number;
  status: 'active' | 'completed' | 'exited' | 'converted';
  wait?: string;
  dueAt?: number;
  steps: string[];
}

class Model {
  instances: MInstance[] = [];
  messages: string[] = [];
  seen = new Set<string>();
  goalAt: number | undefined;
  constructor(
    private readonly j: MJourney,
    private readonly customerId: string,
  ) {}

  private index(id: string): number {
    return this.j.steps.findIndex((s) => s.id === id);
  }

  private run(inst: MInstance, from: number | undefined, now: number, sends: string[]): void {
    let i = from;
    while (i !== undefined && i < this.j.steps.length) {
      const s = this.j.steps[i]!;
      inst.steps.push(s.id);
      if (s.type === 'send') {
        sends.push(s.id);
        i = i + 1;
      } else if (s.type === 'split') {
        const h = createHash('sha256').update(`prop\u0000${this.customerId}\u0000${inst.entry}\u0000${s.id}`).digest();
        i = this.index(h.readUInt32BE(0) % 100 < 50 ? s.a : s.b);
      } else if (s.type === 'exit') {
        inst.status = 'exited';
        return;
      } else {
        inst.wait = s.id;
        inst.dueAt = Math.ceil((now + s.hours * HOUR) / 1000) * 1000;
        return;
      }
    }
    inst.status = 'completed';
  }

  private leave(inst: MInstance, wait: Extract<MStep, { type: 'wait' }>, target: string | undefined, now: number, sends: string[]): void {
    inst.wait = undefined;
    inst.dueAt = undefined;
    const at = target !== undefined ? this.index(target) : this.index(wait.id) + 1;
    this.run(inst, at, now, sends);
  }

  /** One delivery, in arrival order. */
  deliver(d: { id: string; kind: Kind } | { id: string; timer: { stepId: string; dueAt: string } }, now: number): void {
    if (this.seen.has(d.id)) return;
    this.seen.add(d.id);
    const sends: string[] = [];
    const current = this.instances.at(-1);
    if (current?.status === 'active') {
      const wait = this.j.steps.find((s) => s.id === current.wait) as Extract<MStep, { type: 'wait' }>;
      if ('kind' in d && d.kind === 'renewed') {
        current.status = 'converted';
        current.wait = undefined;
        current.dueAt = undefined;
        this.goalAt = now;
      } else if ('timer' in d) {
        if (d.timer.stepId === current.wait && Date.parse(d.timer.dueAt) === current.dueAt) this.leave(current, wait, wait.event ? (wait.timeoutNext ?? wait.next) : wait.next, now, sends);
      } else if (wait.event === d.kind) {
        this.leave(current, wait, wait.next, now, sends);
      }
    } else if ('kind' in d && d.kind === 'due' && (current === undefined || this.j.reEntry === 'always')) {
      const inst: MInstance = { entry: (current?.entry ?? 0) + 1, status: 'active', steps: [] };
      this.instances.push(inst);
      this.run(inst, 0, now, sends);
    }
    // One message per channel per event: the first in rule-id order takes it.
    const taken = new Set<string>();
    for (const stepId of [...sends].sort((a, b) => (`journey:prop:${a}` < `journey:prop:${b}` ? -1 : 1))) {
      const s = this.j.steps.find((x) => x.id === stepId) as Extract<MStep, { type: 'send' }>;
      if (taken.has(s.channel)) continue;
      taken.add(s.channel);
      this.messages.push(stepId);
    }
  }
}

// ---- the driver -----------------------------------------------------------------------------

type Op =
  | { op: 'event'; kind: Kind }
  | { op: 'dup'; which: number }
  | { op: 'advance'; hours: number }
  | { op: 'dupTimer' }
  | { op: 'staleTimer'; which: number }
  | { op: 'late' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('event' as const), kind: fc.constantFrom<Kind>('due', 'due', 'x', 'x', 'renewed') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dup' as const), which: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'dupTimer' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('staleTimer' as const), which: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ op: 'late' as const }) },
);

class Crash extends Error {}

async function check(m: MJourney, ops: Op[], crashes: { before: Set<number>; after: Set<number>; timers: Set<number> }, cache: boolean): Promise<void> {
  const journey = journeyFrom(toItem(m));
  let commits = 0;
  let creates = 0;
  const wrapCustomers = (repo: CustomerRepository<CustomerState>): CustomerRepository<CustomerState> => ({
    resolve: (ids) => repo.resolve(ids),
    load: (id) => repo.load(id),
    markSeen: (a, b, c) => repo.markSeen(a, b, c),
    erase: (e) => repo.erase(e),
    async commit(change) {
      commits++;
      if (crashes.before.has(commits)) throw new Crash('crash before the commit');
      const out = await repo.commit(change);
      if (crashes.after.has(commits)) throw new Crash('crash after the commit');
      return out;
    },
  });
  const wrapTimers = (t: JourneyTimers): JourneyTimers => ({
    async create(...args) {
      if (crashes.timers.has(++creates)) throw new Crash('scheduler unavailable');
      return t.create(...args);
    },
    delete: (name) => t.delete(name),
  });
  const stack = journeyStack({ journeys: [journey], wrapCustomers, wrapTimers, cache });
  const ids = { crmId: 'crm-prop' };
  const first = await stack.event('baton.crm', 'CustomerUpserted', { ids, profile: { tier: 'gold' } });
  if (first.status !== 'applied') throw new Error('no customer');
  const customerId = first.customerId;
  const model = new Model(m, customerId);
  model.seen.add('(onboarding)');

  // Delivers until it is not a crash (the queue redelivers the same body).
  const deliver = async (body: Record<string, unknown>): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      try {
        const out = await stack.send(body);
        expect(out.status, JSON.stringify(out)).not.toBe('quarantined');
        return;
      } catch (err) {
        if (!(err instanceof Crash) || attempt > 10) throw err;
      }
    }
  };
  const delivered: Record<string, unknown>[] = [];
  let lastTimer: Record<string, unknown> | undefined;
  const timersFired: Record<string, unknown>[] = [];
  let held: Record<string, unknown>[] = [];
  let holdNext = false;
  const toModel = (body: Record<string, unknown>) => {
    const detail = body.detail as Record<string, unknown>;
    if (body.source === 'baton.journeys') model.deliver({ id: String(body.id), timer: { stepId: String(detail.stepId), dueAt: String(detail.dueAt) } }, stack.clock.ms());
    else model.deliver({ id: String(body.id), kind: body.source === 'baton.crm' ? 'x' : body['detail-type'] === 'LicenseRenewed' ? 'renewed' : 'due' }, stack.clock.ms());
  };
  const both = async (body: Record<string, unknown>) => {
    await deliver(body);
    toModel(body);
  };
  const flushHeld = async () => {
    const late = held;
    held = [];
    for (const b of late) await both(b);
  };
  // The sweep: timers a crash left in the outbox (it may meet the scheduler down too, and runs again).
  const sweep = async () => {
    for (let attempt = 0; ; attempt++) {
      try {
        return await stack.relay();
      } catch (err) {
        if (!(err instanceof Crash) || attempt > 10) throw err;
      }
    }
  };
  const fireDue = async (until: number) => {
    for (;;) {
      await sweep();
      const next = stack.timers.nextDue();
      if (next === undefined || next > until) break;
      stack.clock.set(Math.max(stack.clock.ms(), next));
      for (const s of stack.timers.due(stack.clock.ms())) {
        const body = s.event as unknown as Record<string, unknown>;
        lastTimer = body;
        timersFired.push(body);
        if (holdNext) {
          holdNext = false;
          held.push(body);
        } else await both(body);
      }
    }
    stack.clock.set(until);
  };

  for (const o of ops) {
    const at = stack.clock();
    if (o.op === 'event') {
      const detail =
        o.kind === 'x'
          ? { ids, profile: { tier: 'gold' } }
          : { ids: { ...ids, licenseId: 'LIC-1' }, licenseId: 'LIC-1', product: 'p', expiresAt: '2027-01-01T00:00:00Z', ...(o.kind === 'due' ? { daysLeft: 30 } : { amount: 10, currency: 'EUR' }) };
      const body = customerEvent(o.kind === 'x' ? 'baton.crm' : 'baton.erp', o.kind === 'x' ? 'CustomerUpserted' : o.kind === 'due' ? 'LicenseRenewalDue' : 'LicenseRenewed', detail, at);
      delivered.push(body);
      await both(body);
      await flushHeld();
    } else if (o.op === 'dup' && delivered.length) {
      await both(delivered[o.which % delivered.length]!);
    } else if (o.op === 'advance') {
      await fireDue(stack.clock.ms() + o.hours * HOUR);
      await flushHeld();
    } else if (o.op === 'dupTimer' && lastTimer) {
      await both(lastTimer);
    } else if (o.op === 'staleTimer' && timersFired.length) {
      // An earlier wait's timer once more under another event id (a schedule re-created by hand, a
      // second region...): the position has moved on, so it must change nothing.
      await both({ ...timersFired[o.which % timersFired.length]!, id: `stale-${o.which}-${stack.clock.ms()}` });
    } else if (o.op === 'late') {
      holdNext = true;
    }
  }
  await flushHeld();
  // No wait lost: every wait due by now has fired (what is still awaited lies ahead).
  const waiting = model.instances.at(-1);
  if (waiting?.status === 'active') expect(waiting.dueAt).toBeGreaterThan(stack.clock.ms());
  await sweep();

  // The same messages, in the same order.
  const sent = (await stack.decisions(customerId)).flatMap((d) => d.messages.map((x) => x.ruleId.replace('journey:prop:', '')));
  expect(sent).toEqual(model.messages);
  // The same position and path of the latest entry.
  const mine = await stack.instance(customerId, 'prop');
  const theirs = model.instances.at(-1);
  expect(mine?.entry).toBe(theirs?.entry);
  if (mine && theirs) {
    expect(mine.status).toBe(theirs.status);
    expect(mine.stepId).toBe(theirs.wait);
    expect(mine.dueAt ? Date.parse(mine.dueAt) : undefined).toBe(theirs.dueAt);
    const notes = new Set(['entered', 'timed out', 'awaited event arrived', 'goal reached']);
    const steps = mine.path.filter((p) => !notes.has(p.what)).map((p) => p.stepId);
    expect(steps).toEqual(theirs.steps.slice(theirs.steps.length - steps.length));
    // No wait lost: the wait the model is in has its schedule, due when the model says.
    if (theirs.status === 'active') {
      const armed = [...stack.timers.schedules.values()].filter((s) => s.event.detail.stepId === theirs.wait && Date.parse(s.event.detail.dueAt) === theirs.dueAt);
      expect(armed).toHaveLength(1);
    }
  }
  // Nothing sent after the goal.
  if (model.goalAt !== undefined && mine?.status === 'converted') {
    const after = (await stack.decisions(customerId)).filter((d) => Date.parse(d.at) > Date.parse(mine.endedAt!));
    expect(after.flatMap((d) => d.messages)).toEqual([]);
  }
}

describe('journeys against an independent model', () => {
  it('take the same path, apply no step twice, lose no wait and send nothing after the goal, under duplicates, late timers and crashes', async () => {
    await fc.assert(
      fc.asyncProperty(
        journeyArb,
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        fc.record({ before: fc.uniqueArray(fc.integer({ min: 2, max: 40 }), { maxLength: 4 }), after: fc.uniqueArray(fc.integer({ min: 2, max: 40 }), { maxLength: 4 }), timers: fc.uniqueArray(fc.integer({ min: 1, max: 20 }), { maxLength: 3 }) }),
        // With and without a warm function's cache of profiles and positions (lib/adapters/caching.ts).
        fc.boolean(),
        async (m, ops, c, cache) => {
          await check(m, ops, { before: new Set(c.before), after: new Set(c.after), timers: new Set(c.timers) }, cache);
        },
      ),
      { numRuns: 200 },
    );
  }, 120_000);
});
