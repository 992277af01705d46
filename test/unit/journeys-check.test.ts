// The journey language's checks: what a put refuses, with the step and the field named.
import { describe, expect, it } from 'vitest';
import { checkJourney } from '../../lib/core/journeys/check.ts';
import { nextLocalTime, wallTime } from '../../lib/core/journeys/time.ts';
import { scheduleName, timerName } from '../../lib/core/journeys/instance.ts';

const due = { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'] };
const base = { journeyId: 'j', campaignId: 'c', entry: { event: due } };
const reason = (steps: unknown[], extra: Record<string, unknown> = {}) => {
  const c = checkJourney({ ...base, ...extra, steps });
  return c.ok ? 'ok' : c.reason;
};

describe('journey checks', () => {
  it('name the step and the field of a schema error', () => {
    expect(reason([{ id: 'mail', type: 'send', channel: 'fax', template: 't' }])).toMatch(/^step "mail" \(steps\[0\]\) field channel: /);
    expect(reason([{ id: 'w', type: 'wait' }])).toMatch(/step "w" \(steps\[0\]\) field duration: a wait needs exactly one of duration or until/);
    expect(reason([{ id: 'w', type: 'wait', duration: { days: 1 }, event: { source: 'not-an-array' } }])).toMatch(/step "w" \(steps\[0\]\) field event: /);
    expect(reason([{ id: 'b', type: 'branch', split: [{ share: 60, next: 'b' }, { share: 30, next: 'b' }] }])).toMatch(/step "b" \(steps\[0\]\) field split: split shares must sum to 100/);
  });

  it('refuse unknown targets, unreachable steps and cycles without a wait', () => {
    expect(reason([{ id: 'a', type: 'send', channel: 'email', template: 't', next: 'nowhere' }])).toBe('step "a" (steps[0]) field next: no step "nowhere" in this journey');
    expect(reason([{ id: 'a', type: 'exit' }, { id: 'b', type: 'send', channel: 'email', template: 't' }])).toMatch(/step "b" \(steps\[1\]\): no step leads to it/);
    expect(
      reason([
        { id: 'a', type: 'send', channel: 'email', template: 't' },
        { id: 'b', type: 'setState', set: { x: 1 }, next: 'a' },
      ]),
    ).toMatch(/the steps "a" → "b" → "a" form a cycle without a wait/);
    // The same loop through a wait is fine.
    expect(
      reason([
        { id: 'a', type: 'send', channel: 'email', template: 't' },
        { id: 'w', type: 'wait', duration: { days: 7 }, next: 'a' },
      ]),
    ).toBe('ok');
    expect(reason([{ id: 'a', type: 'branch', answerOf: 'a', cases: [{ answer: 'clicked', next: 'a' }], otherwise: 'a' }])).toMatch(/field answerOf: "a" is a branch step, expected a send step/);
  });

  it('check templates when told which exist', () => {
    const c = checkJourney({ ...base, steps: [{ id: 'a', type: 'send', channel: 'email', template: 'missing' }] }, { templateExists: () => false });
    expect(c).toMatchObject({ ok: false, reason: 'step "a" (steps[0]) field template: no email template "missing"' });
  });

  it('refuse a bad entry or goal with the field named', () => {
    expect(reason([{ id: 'x', type: 'exit' }], { entry: {} })).toMatch(/^field entry.event: an entry needs exactly one of event or segment/);
    expect(reason([{ id: 'x', type: 'exit' }], { goal: {} })).toMatch(/^field goal.event: /);
  });
});

describe('journey time', () => {
  it('finds the next local time of day in the customer\'s zone, across a daylight-saving change', () => {
    // 2026-03-28 20:00 UTC is 21:00 in Berlin; the next 09:00 is on the 29th, after the clocks went forward (UTC+2).
    expect(new Date(nextLocalTime('09:00', 'Europe/Berlin', Date.parse('2026-03-28T20:00:00Z'))).toISOString()).toBe('2026-03-29T07:00:00.000Z');
    expect(new Date(nextLocalTime('09:00', 'Europe/Berlin', Date.parse('2026-03-29T07:00:00Z'))).toISOString()).toBe('2026-03-30T07:00:00.000Z');
    expect(wallTime(Date.parse('2026-03-29T07:00:00Z'), 'Europe/Berlin')).toBe('2026-03-29T09:00:00');
  });

  it('names schedules within Scheduler\'s limits', () => {
    expect(timerName('renewal.1.0123456789abcdef', 'wait', 2)).toBe('renewal.1.0123456789abcdef-wait-2');
    const long = scheduleName(`${'x'.repeat(64)}.1.0123456789abcdef-wait-for-renewal-1`);
    expect(long).toMatch(/^[0-9A-Za-z_.-]{1,64}$/);
    expect(long).not.toBe(scheduleName(`${'x'.repeat(64)}.1.0123456789abcdef-wait-for-renewal-2`));
  });
});
