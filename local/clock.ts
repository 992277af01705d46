// The local stack's one clock. Every use case the stack wires (ingest, dispatch, the decision API,
// unsubscribe) and the Scheduler stand-in read the time from here, so a 7-day journey can be
// watched in minutes: `npm start -- --clock-speed 3600` runs an hour per real second, and
// POST /local/clock/advance {"by":"7d"} jumps ahead. Real time by default. Time only moves
// forward: customers' histories, caps and waits all assume it never goes back.
import type { HttpExtension } from './bus.ts';
import { sendJson } from './bus.ts';

/** setTimeout's longest delay; a longer wait is armed in steps. */
const MAX_DELAY_MS = 2 ** 31 - 1;

export interface LocalClockOptions {
  /** Simulated milliseconds per real millisecond: 1 is real time, 3600 an hour a second, 0 stands still until advanced. @default 1 */
  readonly speed?: number;
  /** The simulated time at start. @default now */
  readonly start?: Date;
  /** The real clock underneath (tests). @default Date.now */
  readonly realNow?: () => number;
}

interface Timer {
  readonly at: number;
  readonly fire: () => void;
  handle?: NodeJS.Timeout;
}

export class LocalClock {
  readonly speed: number;
  /** Milliseconds added by advance(), in all. */
  advancedMs = 0;
  private anchorReal: number;
  private anchorSim: number;
  private readonly realNow: () => number;
  private readonly timers = new Set<Timer>();
  /** The jumps advance() made, as [from, to] simulated times (few: one per call). */
  private readonly jumps: [number, number][] = [];

  constructor({ speed = 1, start, realNow = Date.now }: LocalClockOptions = {}) {
    if (!Number.isFinite(speed) || speed < 0) throw new Error('clock speed: expected a number of simulated seconds per real second, 0 or more (1 is real time)');
    this.speed = speed;
    this.realNow = realNow;
    this.anchorReal = realNow();
    this.anchorSim = start ? start.getTime() : this.anchorReal;
  }

  /** The time, in epoch milliseconds. */
  nowMs(): number {
    return this.anchorSim + (this.realNow() - this.anchorReal) * this.speed;
  }

  /** The `clock: () => Date` every use case takes; bound, so it can be handed over as it is. */
  readonly now = (): Date => new Date(this.nowMs());

  /** Moves the time forward by `ms`; timers that came due fire. Returns the new time. */
  advance(ms: number): Date {
    if (!Number.isFinite(ms) || ms < 0) throw new Error('advance: expected a duration of 0 or more');
    const from = this.nowMs();
    const now = from + ms;
    if (ms > 0) this.jumps.push([from, now]);
    this.anchorReal = this.realNow();
    this.anchorSim = now;
    this.advancedMs += ms;
    for (const timer of this.timers) this.arm(timer);
    return new Date(now);
  }

  /**
   * When the clock first read `atMs` or later: `atMs` itself, or the end of the advance() that
   * jumped over it. A timer is late only by what comes after that.
   */
  reachedAt(atMs: number): number {
    for (const [from, to] of this.jumps) if (atMs > from && atMs <= to) return to;
    return atMs;
  }

  /** Runs `fire` once the clock reads `atMs` or later (at once when it already does). Returns the cancel. */
  setTimer(atMs: number, fire: () => void): () => void {
    const timer: Timer = { at: atMs, fire };
    this.timers.add(timer);
    this.arm(timer);
    return () => {
      clearTimeout(timer.handle);
      this.timers.delete(timer);
    };
  }

  /** Cancels every timer (the stack stops). */
  stop(): void {
    for (const timer of this.timers) clearTimeout(timer.handle);
    this.timers.clear();
  }

  private arm(timer: Timer): void {
    clearTimeout(timer.handle);
    timer.handle = undefined;
    const left = timer.at - this.nowMs();
    if (left > 0 && this.speed === 0) return; // only advance() moves a clock that stands still
    const delay = left <= 0 ? 0 : Math.ceil(left / this.speed);
    timer.handle = setTimeout(() => {
      if (timer.at > this.nowMs()) return this.arm(timer); // a step of a long wait, or rounding
      this.timers.delete(timer);
      timer.fire();
    }, Math.min(delay, MAX_DELAY_MS));
    timer.handle.unref();
  }
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
export const DURATION_EXAMPLE = 'a duration such as 7d, 36h, 90m, 1d12h or 30s';

/** `7d`, `36h`, `1d12h`, `90m`, `30s`, `500ms` → milliseconds; undefined when it is none of these. */
export function parseDuration(text: string): number | undefined {
  const compact = text.trim().toLowerCase();
  if (!DURATION.test(compact)) return undefined;
  let ms = 0;
  for (const [, value, unit] of compact.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g)) ms += Number(value) * UNITS[unit!]!;
  return ms;
}

/** GET /local/clock and POST /local/clock/advance, served on the bus port. */
export function clockExtension(clock: LocalClock): HttpExtension {
  const reading = () => ({ now: clock.now().toISOString(), speed: clock.speed, advancedMs: clock.advancedMs });
  return async (req, res, body) => {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/local/clock' && req.method === 'GET') {
      sendJson(res, 200, reading());
      return true;
    }
    if (path !== '/local/clock/advance') return false;
    if (req.method !== 'POST') {
      sendJson(res, 405, { error: 'POST /local/clock/advance with {"by":"7d"} or {"to":"2030-01-01T09:00:00Z"}' });
      return true;
    }
    const problem = (message: string) => sendJson(res, 400, { error: message });
    let request: unknown;
    try {
      request = JSON.parse(body || '{}');
    } catch {
      problem('body: expected JSON such as {"by":"7d"}');
      return true;
    }
    const { by, to } = (request ?? {}) as { by?: unknown; to?: unknown };
    if ((by === undefined) === (to === undefined)) {
      problem('body: expected one of "by" (a duration such as 7d) or "to" (an ISO 8601 time)');
      return true;
    }
    let ms: number | undefined;
    if (by !== undefined) {
      ms = typeof by === 'string' ? parseDuration(by) : undefined;
      if (ms === undefined) {
        problem(`by: expected ${DURATION_EXAMPLE}`);
        return true;
      }
    } else {
      const target = typeof to === 'string' ? Date.parse(to) : Number.NaN;
      if (Number.isNaN(target)) {
        problem('to: expected an ISO 8601 time such as 2030-01-01T09:00:00Z');
        return true;
      }
      ms = target - clock.nowMs();
      if (ms < 0) {
        problem('to: expected a time after the clock\'s now: the local clock only moves forward');
        return true;
      }
    }
    clock.advance(ms);
    sendJson(res, 200, reading());
    return true;
  };
}
