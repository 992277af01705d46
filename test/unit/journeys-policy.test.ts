// Contact policy across journeys and rules: two journeys and a rule all want to e-mail one customer
// on one day under a cap of one e-mail a day. Exactly one goes, the highest priority's; the others are
// recorded with why: lower priority on the same event, the cap later that day.
import { describe, expect, it } from 'vitest';
import { journeyFrom, journeyStack, messagesOf } from '../support/journeys.ts';

const due = { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'] };

describe('contact policy across journeys and rules', () => {
  it('sends one e-mail under a cap of one, the highest priority, and records why the others did not go', async () => {
    const stack = journeyStack({
      journeys: [
        journeyFrom({
          journeyId: 'renewal-high',
          campaignId: 'renewals',
          entry: { event: due },
          steps: [
            { id: 'first', type: 'send', channel: 'email', template: 'renewal-reminder' },
            { id: 'pause', type: 'wait', duration: { hours: 2 } },
            { id: 'second', type: 'send', channel: 'email', template: 'renewal-second' },
          ],
        }),
        journeyFrom({ journeyId: 'winback', campaignId: 'winback', entry: { event: due }, steps: [{ id: 'hello', type: 'send', channel: 'email', template: 'winback' }] }),
      ],
      rules: [{ ruleId: 'promo', campaignId: 'promo', enabled: true, priority: 50, when: due, then: { channel: 'email', template: 'promo' } }],
      campaigns: [
        { campaignId: 'renewals', priority: 9 },
        { campaignId: 'promo', priority: 5 },
        { campaignId: 'winback', priority: 2 },
      ],
      policies: [{ policyId: 'default', caps: { email: { perDay: 1 } } }],
    });
    const ids = { crmId: 'crm-policy', licenseId: 'LIC-P' };
    const first = await stack.event('baton.crm', 'CustomerUpserted', { ids: { crmId: 'crm-policy' }, profile: { email: 'p@example.com' } });
    if (first.status !== 'applied') throw new Error('no customer');
    await stack.event('baton.crm', 'ConsentChanged', { ids: { crmId: 'crm-policy' }, channel: 'email', granted: true, via: 'web-form' });
    await stack.event('baton.erp', 'LicenseRenewalDue', { ids, licenseId: 'LIC-P', product: 'p', expiresAt: '2026-04-01T00:00:00Z', daysLeft: 30 });
    await stack.advance(3 * 3_600_000);

    const customerId = first.customerId;
    expect(await messagesOf(stack, customerId)).toEqual([expect.objectContaining({ channel: 'email', template: 'renewal-reminder', ruleId: 'journey:renewal-high:first' })]);

    const [decision] = (await stack.decisions(customerId)).filter((d) => d.eventType === 'baton.erp/LicenseRenewalDue');
    const outcome = Object.fromEntries(decision!.candidates.map((c) => [c.ruleId, c.outcome]));
    expect(outcome).toEqual({ 'journey:renewal-high:first': 'chosen', promo: 'lower-priority', 'journey:winback:hello': 'lower-priority' });

    const high = await stack.instance(customerId, 'renewal-high');
    expect(high?.sends.map((s) => [s.stepId, s.outcome])).toEqual([
      ['first', 'chosen'],
      ['second', 'cap'],
    ]);
    expect(high?.sends[1]?.reason).toMatch(/email cap of 1 per 24 h/);
    const winback = await stack.instance(customerId, 'winback');
    expect(winback?.sends.map((s) => [s.stepId, s.outcome, s.reason])).toEqual([['hello', 'lower-priority', expect.stringMatching(/ranked higher already took email/)]]);
  });
});
