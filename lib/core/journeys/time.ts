// When a wait ends: a duration, or the next time the customer's wall clock shows a time of day.
import { isTimeZone, quietUntil } from '../campaigns/quiet-hours.ts';
import type { Duration } from './journey.ts';

const MINUTE_MS = 60_000;

export const durationMs = (d: Duration): number => (((d.days ?? 0) * 24 + (d.hours ?? 0)) * 60 + (d.minutes ?? 0)) * MINUTE_MS;

const pad = (n: number) => String(n).padStart(2, '0');
const plusMinute = (hhmm: string): string => {
  const m = (Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5)) + 1) % 1440;
  return `${pad(Math.floor(m / 60))}:${pad(m % 60)}`;
};

/**
 * The first instant after `nowMs` at which the wall clock of `timeZone` shows `hhmm`. Read as the end
 * of a "quiet window" covering every other minute of the day, so daylight-saving gaps and repeats are
 * handled as quiet hours handle them (a time the clock skips is reached at the jump).
 */
export function nextLocalTime(hhmm: string, timeZone: string, nowMs: number): number {
  const zone = isTimeZone(timeZone) ? timeZone : 'UTC';
  const window = { start: plusMinute(hhmm), end: hhmm };
  const at = quietUntil(window, zone, nowMs) ?? quietUntil(window, zone, Math.floor(nowMs / MINUTE_MS) * MINUTE_MS + MINUTE_MS);
  return at!;
}

/** `YYYY-MM-DDThh:mm:ss` on the wall clock of `timeZone`: what Scheduler's `at(...)` takes with that zone. */
export function wallTime(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: isTimeZone(timeZone) ? timeZone : 'UTC',
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  }).formatToParts(ms);
  const get = (t: string) => parts.find((p) => p.type === t)!.value;
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}`;
}
