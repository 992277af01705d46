// The local stack's simulated clock: speed, advance, timers on simulated time, and the
// /local/clock endpoints' duration syntax. A hand-driven real clock underneath: no real waits.
import { afterEach, describe, expect, it } from 'vitest';
import { LocalClock, parseDuration } from '../../local/clock.ts';

let real = 0;
const clocks: LocalClock[] = [];
const clock = (options: ConstructorParameters<typeof LocalClock>[0] = {}) => {
  const c = new LocalClock({ realNow: () => real, ...options });
  clocks.push(c);
  return c;
};
afterEach(() => {
  for (const c of clocks.splice(0)) c.stop();
  real = 0;
});

describe('the local clock', () => {
  it('runs at real time by default and `speed` simulated ms per real ms otherwise', () => {
    const start = new Date('2030-01-01T00:00:00Z');
    const plain = clock({ start });
    const fast = clock({ start, speed: 3600 });
    real += 1000;
    expect(plain.now().toISOString()).toBe('2030-01-01T00:00:01.000Z');
    expect(fast.now().toISOString()).toBe('2030-01-01T01:00:00.000Z');
  });

  it('moves forward by advance() and keeps its speed after', () => {
    const c = clock({ start: new Date('2030-01-01T00:00:00Z'), speed: 60 });
    c.advance(parseDuration('7d')!);
    expect(c.now().toISOString()).toBe('2030-01-08T00:00:00.000Z');
    real += 1000;
    expect(c.now().toISOString()).toBe('2030-01-08T00:01:00.000Z');
    expect(() => c.advance(-1)).toThrow(/0 or more/);
  });

  it('fires a timer when advance() reaches it, not before, and once', async () => {
    const c = clock({ start: new Date('2030-01-01T00:00:00Z'), speed: 0 });
    const fired: string[] = [];
    c.setTimer(Date.parse('2030-01-02T00:00:00Z'), () => fired.push('day 2'));
    const cancel = c.setTimer(Date.parse('2030-01-03T00:00:00Z'), () => fired.push('day 3'));
    c.advance(parseDuration('23h')!);
    await new Promise((r) => setImmediate(r));
    expect(fired).toEqual([]);
    cancel();
    c.advance(parseDuration('3d')!);
    await new Promise((r) => setTimeout(r, 0));
    c.advance(parseDuration('1d')!);
    await new Promise((r) => setTimeout(r, 0));
    expect(fired).toEqual(['day 2']);
  });

  it('says when it first read a time it jumped over', () => {
    const c = clock({ start: new Date('2030-01-01T00:00:00Z'), speed: 0 });
    c.advance(parseDuration('2d')!);
    expect(new Date(c.reachedAt(Date.parse('2030-01-02T00:00:00Z'))).toISOString()).toBe('2030-01-03T00:00:00.000Z');
    expect(c.reachedAt(Date.parse('2030-01-05T00:00:00Z'))).toBe(Date.parse('2030-01-05T00:00:00Z'));
  });

  it('refuses a negative or unreadable speed', () => {
    expect(() => clock({ speed: -1 })).toThrow(/clock speed/);
    expect(() => clock({ speed: Number.NaN })).toThrow(/clock speed/);
  });
});

describe('durations', () => {
  it('reads 7d, 36h, 1d12h, 90m, 30s and 500ms; nothing else', () => {
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
    expect(parseDuration('36h')).toBe(36 * 3_600_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('90m')).toBe(90 * 60_000);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2w')).toBe(14 * 86_400_000);
    for (const bad of ['', '7', 'd', '7 days', '-1d', '1y']) expect(parseDuration(bad), bad).toBeUndefined();
  });
});
