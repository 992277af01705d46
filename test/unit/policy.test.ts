// The contact policy: quiet hours against a brute-force reference across time zones and
// daylight-saving changes, the policy and campaign schemas, and the contact history.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkPolicy, contactHistory, ContactStats, quietUntil, type QuietWindow } from '../../lib/core/campaigns/index.ts';
import { checkCampaign, campaignSchema } from '../../lib/core/campaigns/campaign.ts';
import { mergeReservations, reservationsFor } from '../../lib/core/campaigns/reservations.ts';
import type { Contact } from '../../lib/core/customer/index.ts';

const MINUTE = 60_000;

// Zones with DST in both hemispheres, half-hour and 45-minute offsets, a 30-minute DST shift
// (Lord Howe), and zones without DST.
const ZONES = [
  'Europe/Berlin',
  'Europe/London',
  'America/New_York',
  'America/Los_Angeles',
  'America/Sao_Paulo',
  'Australia/Sydney',
  'Australia/Lord_Howe',
  'Pacific/Auckland',
  'Asia/Kolkata',
  'Asia/Kathmandu',
  'Asia/Tokyo',
  'America/St_Johns',
  'UTC',
];

const references = new Map<string, Intl.DateTimeFormat>();
/** The reference: the wall-clock minute of day, straight from Intl. */
function wallMinute(zone: string, ms: number): number {
  let f = references.get(zone);
  if (!f) references.set(zone, (f = new Intl.DateTimeFormat('en-GB', { timeZone: zone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  const [h, m] = f.format(ms).split(':').map(Number);
  return h! * 60 + m!;
}
const hhmm = (m: number) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
function quietRef(w: { start: number; end: number }, zone: string, ms: number): boolean {
  const m = wallMinute(zone, ms);
  return w.start < w.end ? m >= w.start && m < w.end : m >= w.start || m < w.end;
}
/** Reference answer: scan forward minute by minute for the first instant outside the window. */
function untilRef(w: { start: number; end: number }, zone: string, nowMs: number): number | undefined {
  if (!quietRef(w, zone, nowMs)) return undefined;
  let t = Math.floor(nowMs / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < 2 * 1440; i++, t += MINUTE) if (!quietRef(w, zone, t)) return t;
  throw new Error('window never ends');
}

// DST transitions of the zones above, so many runs land right on them.
const TRANSITIONS = [
  '2026-03-29T01:00:00Z', // Europe
  '2026-10-25T01:00:00Z',
  '2026-03-08T07:00:00Z', // New York
  '2026-11-01T06:00:00Z',
  '2026-04-04T15:00:00Z', // Sydney / Lord Howe (April 5 local)
  '2026-10-03T15:30:00Z',
  '2026-04-04T14:00:00Z', // Auckland
  '2026-09-26T14:00:00Z',
].map(Date.parse);

const instant = fc.oneof(
  fc.integer({ min: Date.parse('2020-01-01T00:00:00Z'), max: Date.parse('2035-12-31T00:00:00Z') }),
  fc.tuple(fc.constantFrom(...TRANSITIONS), fc.integer({ min: -20 * 60, max: 20 * 60 }), fc.integer({ min: 0, max: 59_999 })).map(
    ([t, minutes, ms]) => t + minutes * MINUTE + ms,
  ),
);
// Windows whose edges sit on the usual transition hours (01:00-03:00) as well as anywhere.
const edge = fc.oneof(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 60, max: 180 }));
const window = fc.tuple(edge, edge).filter(([a, b]) => a !== b).map(([start, end]) => ({ start, end }));

describe('quiet hours', () => {
  it('end exactly where a minute-by-minute scan of the wall clock says, in every zone and across DST (property)', () => {
    fc.assert(
      fc.property(window, fc.constantFrom(...ZONES), instant, (w, zone, nowMs) => {
        const q: QuietWindow = { start: hhmm(w.start), end: hhmm(w.end) };
        expect(quietUntil(q, zone, nowMs)).toBe(untilRef(w, zone, nowMs));
      }),
      { numRuns: 400, examples: [[{ start: 121, end: 120 }, "Europe/Berlin", 1774745940000], [{ start: 61, end: 0 }, "Europe/London", 1792889940000]] },
    );
  });

  it('hold an overnight window through the spring-forward night in Berlin', () => {
    // 2026-03-29: 02:00 CET jumps to 03:00 CEST. 22:30 the night before is 21:30 UTC.
    const until = quietUntil({ start: '22:00', end: '02:30' }, 'Europe/Berlin', Date.parse('2026-03-28T21:30:00Z'));
    // 02:30 does not exist that night: the window ends at the jump, 01:00 UTC (03:00 CEST).
    expect(new Date(until!).toISOString()).toBe('2026-03-29T01:00:00.000Z');
  });

  it('end at the first 08:00 on the customer clock, not the server clock', () => {
    const now = Date.parse('2026-07-01T03:00:00Z'); // 23:00 in New York, 05:00 in Berlin
    expect(new Date(quietUntil({ start: '21:00', end: '08:00' }, 'America/New_York', now)!).toISOString()).toBe('2026-07-01T12:00:00.000Z');
    expect(new Date(quietUntil({ start: '21:00', end: '08:00' }, 'Europe/Berlin', now)!).toISOString()).toBe('2026-07-01T06:00:00.000Z');
    expect(quietUntil({ start: '21:00', end: '08:00' }, 'Asia/Tokyo', now)).toBeUndefined(); // 12:00 there
  });
});

describe('policy and campaign items', () => {
  it('accept a complete policy and fill the stated defaults', () => {
    const check = checkPolicy({ policyId: 'default', caps: { email: { perDay: 1, perWeek: 3 } }, quietHours: { start: '21:00', end: '08:00' }, cooldownHours: 12 });
    expect(check.ok && check.policy).toMatchObject({
      quietHours: { channels: ['email', 'sms', 'push', 'device', 'call'], defaultTimeZone: 'UTC' },
      transactionalExemptions: ['consent', 'caps', 'quiet-hours', 'cooldown', 'holdout'],
    });
  });

  it.each([
    [{ policyId: 'p', quietHours: { start: '25:00', end: '08:00' } }, 'quietHours.start'],
    [{ policyId: 'p', quietHours: { start: '08:00', end: '08:00' } }, 'quietHours.end'],
    [{ policyId: 'p', quietHours: { start: '21:00', end: '08:00', defaultTimeZone: 'Mars/Olympus' } }, 'quietHours.defaultTimeZone'],
    [{ policyId: 'p', caps: { fax: { perDay: 1 } } }, 'caps'],
    [{ policyId: 'p', transactionalExemptions: ['budget'] }, 'transactionalExemptions'],
  ])('reject an invalid policy and name the field (%#)', (item, field) => {
    const check = checkPolicy(item);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toContain(field);
  });

  it.each([
    [{ campaignId: 'c', budget: { unit: 'messages', limit: -1 } }, 'budget.limit'],
    [{ campaignId: 'c', budget: { unit: 'money', limit: 100 } }, 'budget.costPerMessage'],
    [{ campaignId: 'c', validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, 'validUntil'],
    [{ campaignId: 'C!' }, 'campaignId'],
  ])('reject an invalid campaign and name the field (%#)', (item, field) => {
    const check = checkCampaign(item);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toContain(field);
  });

  it('sum claims on one counter so a transaction touches each item once', () => {
    const c = campaignSchema.parse({ campaignId: 'c', budget: { unit: 'messages', limit: 3 } });
    const at = Date.parse('2026-01-01T10:20:00Z');
    expect(mergeReservations([...reservationsFor(c, 'email', at), ...reservationsFor(c, 'sms', at)])).toEqual([
      { on: { kind: 'budget', campaignId: 'c' }, key: 'budget/c', amount: 2, limit: 3 },
    ]);
  });
});

describe('contact history', () => {
  const contact = (id: string, channel: Contact['channel'], sentAt?: string): Contact => ({ id, channel, ...(sentAt ? { sentAt } : {}) });

  it('counts a queued message and its later SES feedback once, and keeps the rule', () => {
    const history = contactHistory([
      contact('dec-1/email/r1', 'email', '2026-01-01T10:00:00.000Z'),
      contact('dec-1', 'email', '2026-01-01T10:00:05.000Z'),
      contact('dec-2/sms/r2', 'sms', '2026-01-01T11:00:00.000Z'),
      contact('msg:abc', 'email'), // bounced before any send time: not a contact
    ]);
    expect(history).toEqual([
      { channel: 'email', atMs: Date.parse('2026-01-01T10:00:00.000Z'), ruleId: 'r1' },
      { channel: 'sms', atMs: Date.parse('2026-01-01T11:00:00.000Z'), ruleId: 'r2' },
    ]);
  });

  it('counts per channel over rolling windows of 24 hours and 7 days', () => {
    const now = Date.parse('2026-01-10T12:00:00Z');
    const stats = new ContactStats(
      [
        { channel: 'email', atMs: now - 23 * 3_600_000 },
        { channel: 'email', atMs: now - 25 * 3_600_000 },
        { channel: 'email', atMs: now - 8 * 86_400_000 },
        { channel: 'sms', atMs: now - 3_600_000, ruleId: 'r' },
      ],
      now,
    );
    expect([stats.day('email'), stats.week('email'), stats.day('sms'), stats.byRule('r', 1), stats.hoursSinceLast()]).toEqual([1, 2, 1, 1, 1]);
  });
});
