// In memory, with the DynamoDB adapter's semantics (lib/adapters/dynamo/journeys.ts): journey
// positions and the timer outbox (committed atomically by MemoryCustomerRepository), the journeys in
// force, and a scheduler that keeps one-time schedules until a test's clock makes them due.
import type { JourneyInstanceWrite, JourneyInstances, JourneySource, JourneyTimers, JourneyWrites, TimerEnvelope, TimerOutbox } from '../../app/ports.ts';
import type { JourneyInstance, TimerRequest } from '../../core/journeys/instance.ts';
import { EMPTY_JOURNEY_BOOK, type JourneyBook } from '../../core/journeys/evaluate.ts';

const key = (customerId: string, journeyId: string) => `${customerId}\u0000${journeyId}`;

export class MemoryJourneyStore implements JourneyInstances, TimerOutbox {
  readonly instances = new Map<string, JourneyInstance>();
  /** Requests by schedule name, as the timer outbox keys them: a newer request replaces an older one. */
  readonly timers = new Map<string, TimerRequest>();

  /** `profileMoved`: a migration's rewrite moves the profile's version too (false: no profile), as in DynamoDB. */
  constructor(private readonly profileMoved?: (customerId: string) => boolean) {}

  /** Whether every write's seq still matches (the commit's condition). */
  accepts(writes: JourneyWrites): boolean {
    return (
      writes.instances.every((w) => (this.instances.get(key(w.instance.customerId, w.instance.journeyId))?.seq ?? 0) === w.expectedSeq) &&
      (writes.removed ?? []).every((r) => this.instances.get(key(r.customerId, r.journeyId))?.seq === r.expectedSeq)
    );
  }

  apply(writes: JourneyWrites): void {
    for (const r of writes.removed ?? []) this.instances.delete(key(r.customerId, r.journeyId));
    for (const w of writes.instances) this.instances.set(key(w.instance.customerId, w.instance.journeyId), w.instance);
    for (const t of writes.timers) this.timers.set(t.name, t);
  }

  async load(customerId: string): Promise<JourneyInstance[]> {
    return [...this.instances.values()].filter((i) => i.customerId === customerId).sort((a, b) => (a.journeyId < b.journeyId ? -1 : 1));
  }

  async active(journeyId: string, version: number): Promise<JourneyInstance[]> {
    return [...this.instances.values()].filter((i) => i.journeyId === journeyId && i.version === version && i.status === 'active');
  }

  async rewrite(write: JourneyInstanceWrite, timers: readonly TimerRequest[]): Promise<boolean> {
    const writes = { instances: [write], timers };
    if (!this.accepts(writes)) return false;
    if (this.profileMoved && !this.profileMoved(write.instance.customerId)) return false;
    this.apply(writes);
    return true;
  }

  async pending(limit: number): Promise<TimerRequest[]> {
    return [...this.timers.values()].slice(0, limit);
  }

  async done(request: TimerRequest): Promise<void> {
    const current = this.timers.get(request.name);
    if (current && current.op === request.op) this.timers.delete(request.name);
  }
}

export interface MemorySchedule {
  readonly name: string;
  readonly at: string;
  readonly timeZone: string;
  readonly event: TimerEnvelope;
  readonly dueMs: number;
}

/** One-time schedules: `due` hands out (and deletes, as ActionAfterCompletion DELETE does) those due. */
export class MemoryJourneyTimers implements JourneyTimers {
  readonly schedules = new Map<string, MemorySchedule>();
  created = 0;
  deleted = 0;

  async create(name: string, at: string, timeZone: string, event: TimerEnvelope): Promise<'created' | 'exists'> {
    if (this.schedules.has(name)) return 'exists';
    this.schedules.set(name, { name, at, timeZone, event, dueMs: Date.parse(event.detail.dueAt) });
    this.created++;
    return 'created';
  }

  async delete(name: string): Promise<void> {
    if (this.schedules.delete(name)) this.deleted++;
  }

  /** The schedules due at `nowMs`, earliest first, removed from the list. */
  due(nowMs: number): MemorySchedule[] {
    const out = [...this.schedules.values()].filter((s) => s.dueMs <= nowMs).sort((a, b) => a.dueMs - b.dueMs || (a.name < b.name ? -1 : 1));
    for (const s of out) this.schedules.delete(s.name);
    return out;
  }

  /** When the next schedule is due, if any. */
  nextDue(): number | undefined {
    let min: number | undefined;
    for (const s of this.schedules.values()) if (min === undefined || s.dueMs < min) min = s.dueMs;
    return min;
  }
}

export class MemoryJourneySource implements JourneySource {
  constructor(public book: JourneyBook = EMPTY_JOURNEY_BOOK) {}
  async current(): Promise<JourneyBook> {
    return this.book;
  }
}
