// The statement as templates and the decision API show it: the next expiry grouped by the
// customer's calendar day, numbers and dates in their locale, and templates checked at write for
// the fields `loyalty.<programme>` has.
import { describe, expect, it } from 'vitest';
import { loyaltyTemplateView, summaryOf } from '../../lib/core/loyalty/statement.ts';
import { checkTemplate, templateReads, type Template } from '../../lib/core/channels/template.ts';
import { parseDecisionRequest } from '../../lib/app/decision-api.ts';

const lots = [
  { lotId: 'a', earnedAt: '2025-03-01T00:00:00Z', expiresAt: '2026-03-31T23:59:59.999Z', points: 300 },
  { lotId: 'b', earnedAt: '2025-04-01T00:00:00Z', expiresAt: '2026-04-01T10:00:00.000Z', points: 40 },
  { lotId: 'c', earnedAt: '2025-05-01T00:00:00Z', expiresAt: '2026-05-31T23:59:59.999Z', points: 900 },
  { lotId: 'spent', earnedAt: '2025-01-01T00:00:00Z', expiresAt: '2026-02-28T23:59:59.999Z', points: 0 },
];
const account = { programmeId: 'city-rewards', currencyName: 'points', balance: 1240, lots };
const now = new Date('2026-03-01T00:00:00Z');

describe('the loyalty summary', () => {
  it('takes the next day points expire on, in the customer\'s time zone', () => {
    expect(summaryOf(account, now, 'UTC').nextExpiry).toEqual({ on: '2026-03-31', points: 300 });
    // In Berlin the end of March (UTC) is already 1 April, the day lot b expires too.
    expect(summaryOf(account, now, 'Europe/Berlin').nextExpiry).toEqual({ on: '2026-04-01', points: 340 });
    expect(summaryOf(account, now, 'Not/AZone').nextExpiry).toEqual({ on: '2026-03-31', points: 300 });
    expect(summaryOf({ ...account, lots: [] }, now).nextExpiry).toBeUndefined();
  });

  it('formats numbers and the day in the customer\'s locale', () => {
    const s = summaryOf(account, now, 'UTC');
    expect(loyaltyTemplateView([s], { locale: 'en-GB' })['city-rewards']).toEqual({
      balance: 1240, balanceText: '1,240', currencyName: 'points', tier: null,
      nextExpiry: { points: 300, pointsText: '300', on: '2026-03-31', date: '31 March' },
      statement: 'you have 1,240 points, 300 expire on 31 March',
    });
    expect(loyaltyTemplateView([s], { locale: 'de' })['city-rewards']!.balanceText).toBe('1.240');
    expect(loyaltyTemplateView([s], { locale: 'not a locale' })['city-rewards']!.balanceText).toBe('1,240');
  });
});

describe('templates that name loyalty', () => {
  const tpl = (text: string): Template => ({ templateId: 't', channel: 'sms', locale: 'en', text });

  it('are checked at write against the fields a programme entry has', () => {
    expect(checkTemplate(tpl('{{ loyalty.city-rewards.balanceText }}, {{ loyalty["other"].nextExpiry.date }}, {{ loyalty.x.statement }}')).ok).toBe(true);
    const bad = checkTemplate(tpl('{{ loyalty.city-rewards.balanse }}'));
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues[0]!.message).toMatch(/"loyalty\.city-rewards\.balanse" is not a field of loyalty\.city-rewards/);
  });

  it('are told apart from those that do not, so dispatch reads the ledger only for them', () => {
    expect(templateReads(tpl('You have {{ loyalty.city-rewards.balance }}'), 'loyalty')).toBe(true);
    expect(templateReads(tpl('Hi {{ customer.firstName }}, loyalty matters'), 'loyalty')).toBe(false);
  });
});

describe('the decision request asking for the statement', () => {
  const base = { customer: { kind: 'crmId', value: 'C1' }, channel: 'web' };
  it('takes true or programme ids, and names the field when wrong', () => {
    expect(parseDecisionRequest({ ...base, loyalty: true }).ok).toBe(true);
    expect(parseDecisionRequest({ ...base, loyalty: ['city-rewards'] }).ok).toBe(true);
    const bad = parseDecisionRequest({ ...base, loyalty: false });
    expect(!bad.ok && bad.problem.reason).toMatch(/^loyalty/);
    const empty = parseDecisionRequest({ ...base, loyalty: [] });
    expect(!empty.ok && empty.problem.reason).toMatch(/^loyalty/);
  });
});
