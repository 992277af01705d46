// Quiet hours in the customer's own time zone. A window such as 21:00-08:00 is read on the
// customer's wall clock, so it follows daylight-saving changes; a message that falls inside it is
// held until the first instant the wall clock leaves the window.
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** True when `timeZone` is an IANA zone this runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

interface Wall {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
}

function wallClock(timeZone: string, ms: number): Wall {
  const w: Wall = { y: 0, mo: 0, d: 0, h: 0, mi: 0, s: 0 };
  for (const p of formatter(timeZone).formatToParts(ms)) {
    if (p.type === 'year') w.y = Number(p.value);
    else if (p.type === 'month') w.mo = Number(p.value);
    else if (p.type === 'day') w.d = Number(p.value);
    else if (p.type === 'hour') w.h = Number(p.value);
    else if (p.type === 'minute') w.mi = Number(p.value);
    else if (p.type === 'second') w.s = Number(p.value);
  }
  return w;
}

/** Offset of the zone from UTC at `ms`, in milliseconds (wall clock minus UTC). */
function offsetAt(timeZone: string, ms: number): number {
  const w = wallClock(timeZone, ms);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - (ms - (((ms % 1000) + 1000) % 1000));
}

export interface QuietWindow {
  /** Local wall-clock time `HH:MM` the window starts (inclusive). */
  readonly start: string;
  /** Local wall-clock time `HH:MM` the window ends (exclusive); before `start` for overnight windows. */
  readonly end: string;
}

export const minutesOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

export function inWindow(window: QuietWindow, minuteOfDay: number): boolean {
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  return start < end ? minuteOfDay >= start && minuteOfDay < end : minuteOfDay >= start || minuteOfDay < end;
}

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/**
 * When `nowMs` falls inside the quiet window on the wall clock of `timeZone`, the epoch ms at which
 * the window ends (the first instant outside it); undefined when `nowMs` is outside the window.
 * A window end that the clock skips (spring forward) ends the window at the jump; an end the clock
 * passes twice (fall back) ends it at the first pass after `nowMs`.
 */
export function quietUntil(window: QuietWindow, timeZone: string, nowMs: number): number | undefined {
  // Window edges are whole wall-clock minutes, so the answer is the same for every instant of a
  // minute: customers share a few dozen zones, and the clock reading is the costly part.
  const key = `${window.start}${window.end}${timeZone}\u0000${Math.floor(nowMs / MINUTE_MS)}`;
  const hit = answers.get(key);
  if (hit !== undefined) return hit === NONE ? undefined : hit;
  const answer = computeQuietUntil(window, timeZone, nowMs);
  if (answers.size >= 4096) answers.clear();
  answers.set(key, answer ?? NONE);
  return answer;
}

const NONE = -1;
const answers = new Map<string, number>();

function computeQuietUntil(window: QuietWindow, timeZone: string, nowMs: number): number | undefined {
  // A jump over the window's end can land back inside the window (a window of nearly 24 hours):
  // then the window goes on from there.
  let until = windowEnd(window, timeZone, nowMs);
  for (let i = 0; until !== undefined && i < 3; i++) {
    const next = windowEnd(window, timeZone, until);
    if (next === undefined) return until;
    until = next;
  }
  return until;
}

function windowEnd(window: QuietWindow, timeZone: string, nowMs: number): number | undefined {
  const now = wallClock(timeZone, nowMs);
  const minute = now.h * 60 + now.mi;
  if (!inWindow(window, minute)) return undefined;
  const start = minutesOf(window.start);
  const end = minutesOf(window.end);
  // Overnight windows entered before midnight end tomorrow; all others end today.
  const dayShift = start > end && minute >= start ? 1 : 0;
  const target = Date.UTC(now.y, now.mo - 1, now.d + dayShift, Math.floor(end / 60), end % 60);

  const offsets = new Set([offsetAt(timeZone, target - DAY_MS), offsetAt(timeZone, target), offsetAt(timeZone, target + DAY_MS)]);
  let best: number | undefined;
  for (const o of offsets) {
    const t = target - o;
    if (t > nowMs && offsetAt(timeZone, t) === o && (best === undefined || t < best)) best = t;
  }
  if (best !== undefined) return throughTransition(window, timeZone, nowMs, best);

  // The end lies in a gap (the clock jumps over it): the window ends at the jump.
  const sorted = [...offsets].sort((a, b) => a - b);
  const after = sorted[sorted.length - 1]!;
  let lo = Math.floor((target - after) / MINUTE_MS); // before the jump
  let hi = Math.ceil((target - sorted[0]!) / MINUTE_MS); // after the jump
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(timeZone, mid * MINUTE_MS) === after) hi = mid;
    else lo = mid;
  }
  return hi * MINUTE_MS;
}

/**
 * The wall clock reaches `end` at `until` moving forward; a clock change on the way can set it back
 * out of the window (fall back) earlier. Then the window ends at the change; otherwise at `until`.
 */
function throughTransition(window: QuietWindow, timeZone: string, nowMs: number, until: number): number {
  const before = offsetAt(timeZone, nowMs);
  if (offsetAt(timeZone, until - 1) === before) return until;
  let lo = Math.floor(nowMs / MINUTE_MS);
  let hi = Math.ceil(until / MINUTE_MS);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetAt(timeZone, mid * MINUTE_MS) === before) lo = mid;
    else hi = mid;
  }
  const change = hi * MINUTE_MS;
  if (change >= until) return until;
  const wall = wallClock(timeZone, change);
  return inWindow(window, wall.h * 60 + wall.mi) ? (windowEnd(window, timeZone, change) ?? change) : change;
}
