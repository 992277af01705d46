// Arbitration as a named case corpus: each case is rules, campaigns, policy, the customer's view
// and contact history, and the outcome expected for every candidate (docs/rules.md, "Arbitration").
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decide, inHoldout, OUTCOMES, type DecisionSubject, type Outcome } from '../../lib/core/decide.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema, type RuleInput } from '../../lib/core/rules/rule.ts';
import { campaignSchema, StaticCampaignBook, type CampaignInput } from '../../lib/core/campaigns/campaign.ts';
import { limitKey, sharedLimits } from '../../lib/core/campaigns/reservations.ts';
import { businessContext, type ContextFact } from '../../lib/core/context/index.ts';
import { policySchema, type ContactPolicyInput, type ContactRecord } from '../../lib/core/campaigns/index.ts';

const NOW = new Date('2026-03-10T12:00:00.000Z'); // 13:00 in Berlin
const HOUR = 3_600_000;
const event = { id: 'ev-1', source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { storeId: 'st-1', total: 80 } };

const r = (ruleId: string, over: Partial<RuleInput> = {}): RuleInput => ({
  ruleId,
  campaignId: 'camp',
  enabled: true,
  priority: 10,
  when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] },
  then: { channel: 'email', template: 'thanks' },
  ...over,
});

interface Case {
  name: string;
  rules: RuleInput[];
  campaigns?: CampaignInput[];
  policies?: ContactPolicyInput[];
  customer?: Partial<DecisionSubject>;
  contacts?: ContactRecord[];
  exhausted?: string[];
  now?: Date;
  /** Business context facts (docs/context.md). */
  context?: ContextFact[];
  expected: Record<string, Outcome>;
}

const consenting: Partial<DecisionSubject> = { consent: { email: true, sms: true, push: true, device: true }, timeZone: 'Europe/Berlin', tier: 'gold' };
const strict: ContactPolicyInput = {
  policyId: 'default',
  caps: { email: { perDay: 1, perWeek: 2 } },
  cooldownHours: 4,
  quietHours: { start: '21:00', end: '08:00' },
};

const cases: Case[] = [
  { name: 'a matching rule for a consenting customer is chosen', rules: [r('a')], expected: { a: 'chosen' } },
  { name: 'a rule outside its validity window', rules: [r('a', { validUntil: '2026-03-01T00:00:00Z' }), r('b', { priority: 1 })], expected: { a: 'not-valid-now', b: 'chosen' } },
  { name: 'a disabled campaign', rules: [r('a')], campaigns: [{ campaignId: 'camp', enabled: false }], expected: { a: 'campaign-inactive' } },
  { name: 'a campaign that has not started', rules: [r('a')], campaigns: [{ campaignId: 'camp', validFrom: '2026-04-01T00:00:00+02:00' }], expected: { a: 'campaign-inactive' } },
  { name: 'the customer does not match "if"', rules: [r('a', { if: { tier: ['platinum'] } }), r('b', { priority: 1, if: { tier: ['gold'] } })], expected: { a: 'customer-not-matched', b: 'chosen' } },
  {
    // cus-1 falls at 0.38 of salt s1: inside a 50 % group. The transactional receipt still goes.
    name: 'global control group: marketing held back, transactional sent',
    rules: [r('m', { priority: 20 }), r('t', { then: { channel: 'email', template: 'receipt', transactional: true } })],
    policies: [{ policyId: 'default', globalControl: { share: 0.5, salt: 's1' } }],
    expected: { m: 'global-control', t: 'chosen' },
  },
  { name: 'no consent for the channel', rules: [r('a'), r('s', { then: { channel: 'sms', template: 't' } })], customer: { consent: { email: false, sms: true } }, expected: { a: 'no-consent', s: 'chosen' } },
  {
    name: 'transactional messages are exempt from consent as the policy states',
    rules: [r('a', { then: { channel: 'email', template: 'receipt', transactional: true } })],
    customer: { consent: {} },
    expected: { a: 'chosen' },
  },
  {
    name: 'a policy that does not exempt consent holds transactional messages to it',
    rules: [r('a', { then: { channel: 'email', template: 'receipt', transactional: true } })],
    policies: [{ policyId: 'default', transactionalExemptions: ['caps'] }],
    customer: { consent: {} },
    expected: { a: 'no-consent' },
  },
  {
    name: "the rule's own per-customer limit",
    rules: [r('a', { limit: { count: 1, periodDays: 30 } }), r('b', { priority: 1 })],
    contacts: [{ channel: 'sms', atMs: NOW.getTime() - 3 * 24 * HOUR, ruleId: 'a' }],
    expected: { a: 'rule-limit', b: 'chosen' },
  },
  {
    name: 'cooldown after a contact on any channel',
    rules: [r('a')],
    policies: [strict],
    contacts: [{ channel: 'sms', atMs: NOW.getTime() - 2 * HOUR }],
    expected: { a: 'cooldown' },
  },
  {
    name: 'daily cap per channel',
    rules: [r('a'), r('s', { then: { channel: 'sms', template: 't' } })],
    policies: [strict],
    contacts: [{ channel: 'email', atMs: NOW.getTime() - 5 * HOUR }],
    expected: { a: 'cap', s: 'chosen' },
  },
  {
    name: 'weekly cap per channel',
    rules: [r('a')],
    policies: [strict],
    contacts: [
      { channel: 'email', atMs: NOW.getTime() - 30 * HOUR },
      { channel: 'email', atMs: NOW.getTime() - 80 * HOUR },
    ],
    expected: { a: 'cap' },
  },
  {
    name: 'transactional messages skip caps and cooldown',
    rules: [r('a', { then: { channel: 'email', template: 'receipt', transactional: true } })],
    policies: [strict],
    contacts: [{ channel: 'email', atMs: NOW.getTime() - HOUR }],
    expected: { a: 'chosen' },
  },
  { name: 'one message per channel: the lower priority loses', rules: [r('a', { priority: 20 }), r('b', { priority: 30 })], expected: { b: 'chosen', a: 'lower-priority' } },
  { name: 'equal priority: ruleId breaks the tie', rules: [r('zz'), r('aa')], expected: { aa: 'chosen', zz: 'lower-priority' } },
  {
    name: 'campaign priority ranks before rule priority',
    rules: [r('low-camp', { priority: 900 }), r('high-camp', { priority: 1, campaignId: 'vip' })],
    campaigns: [{ campaignId: 'vip', priority: 50 }],
    expected: { 'high-camp': 'chosen', 'low-camp': 'lower-priority' },
  },
  {
    name: 'quiet hours defer to the end of the window on the customer clock',
    rules: [r('a')],
    policies: [{ policyId: 'default', quietHours: { start: '21:00', end: '08:00' } }],
    now: new Date('2026-03-10T22:30:00Z'), // 23:30 in Berlin
    expected: { a: 'deferred' },
  },
  {
    name: 'a rule may drop instead of defer; the next candidate then takes the channel',
    rules: [r('a', { priority: 20, quietHours: 'drop' }), r('b')],
    policies: [{ policyId: 'default', quietHours: { start: '21:00', end: '08:00' } }],
    now: new Date('2026-03-10T22:30:00Z'),
    expected: { a: 'quiet-hours', b: 'deferred' },
  },
  {
    name: 'a spent budget (claim refused at commit) passes the channel on',
    rules: [r('a', { priority: 20 }), r('b', { campaignId: 'other' })],
    campaigns: [{ campaignId: 'camp', budget: { unit: 'messages', limit: 10 } }],
    exhausted: [limitKey(sharedLimits.budget('camp'))],
    expected: { a: 'budget', b: 'chosen' },
  },
  {
    name: "a campaign's hourly channel capacity",
    rules: [r('a')],
    campaigns: [{ campaignId: 'camp', capacityPerHour: { email: 5 } }],
    exhausted: [limitKey(sharedLimits.capacity('camp', 'email', NOW.getTime()))],
    expected: { a: 'capacity' },
  },
  {
    name: 'an offer whose SKU no location has is out of stock; the next candidate takes the channel',
    rules: [r('a', { priority: 20, then: { channel: 'email', template: 'case', sku: 'CASE-1' } }), r('b', { then: { channel: 'email', template: 'usb', sku: 'USB-C' } })],
    context: [
      { kind: 'inventory', sku: 'CASE-1', location: 'store-1', available: 0, at: NOW.toISOString() },
      { kind: 'inventory', sku: 'CASE-1', location: 'web', available: 0, at: NOW.toISOString() },
      { kind: 'inventory', sku: 'USB-C', location: 'store-1', available: 0, at: NOW.toISOString() },
      { kind: 'inventory', sku: 'USB-C', location: 'web', available: 3, at: NOW.toISOString() },
    ],
    expected: { a: 'out-of-stock', b: 'chosen' },
  },
  {
    name: 'a SKU Baton has no stock figure for is not held back',
    rules: [r('a', { then: { channel: 'email', template: 'case', sku: 'NEW-SKU' } })],
    context: [{ kind: 'inventory', sku: 'CASE-1', location: 'web', available: 0, at: NOW.toISOString() }],
    expected: { a: 'chosen' },
  },
  {
    name: "rules read the business context in their if: a team's free agents, a live promotion",
    rules: [
      r('call', { priority: 30, if: { context: { callCentre: { service: { agentsFree: [{ numeric: ['>', 0] }] } } } }, then: { channel: 'bus', action: 'book-call' } }),
      r('promo', { priority: 20, if: { context: { promotions: { 'BF-26': { live: [true] } } } } }),
      r('ended', { priority: 10, if: { context: { promotions: { 'SUMMER-26': { live: [true] } } } }, then: { channel: 'sms', template: 't' } }),
    ],
    context: [
      { kind: 'team', team: 'service', agentsFree: 2, queueLength: 4, at: NOW.toISOString() },
      { kind: 'promotion', promotionId: 'BF-26', status: 'live', validUntil: '2026-03-11T00:00:00.000Z', at: NOW.toISOString() },
      { kind: 'promotion', promotionId: 'SUMMER-26', status: 'live', validUntil: '2026-03-01T00:00:00.000Z', at: NOW.toISOString() },
    ],
    expected: { call: 'chosen', promo: 'chosen', ended: 'customer-not-matched' },
  },
  {
    // docs/channels.md, "Calls": the team's live load throttles calls; consent to be called is asked.
    name: 'a call with a team that has agents free is booked; no consent to be called holds another',
    rules: [
      r('call', { priority: 20, then: { channel: 'call', team: 'service', template: 'vip' } }),
      r('email', { priority: 10 }),
    ],
    customer: { consent: { email: true, call: true } },
    context: [{ kind: 'team', team: 'service', agentsFree: 1, queueLength: 0, at: NOW.toISOString() }],
    expected: { call: 'chosen', email: 'chosen' },
  },
  {
    name: 'no consent to be called',
    rules: [r('call', { then: { channel: 'call', team: 'service', template: 'vip' } })],
    customer: { consent: { email: true } },
    expected: { call: 'no-consent' },
  },
  {
    name: 'a team with no agent free: the rule defers the call (the default)',
    rules: [r('defer', { then: { channel: 'call', team: 'service', template: 'vip' } })],
    customer: { consent: { call: true } },
    context: [{ kind: 'team', team: 'service', agentsFree: 0, queueLength: 5, at: NOW.toISOString() }],
    expected: { defer: 'deferred' },
  },
  {
    name: 'a team with no agent free: a rule that suppresses drops the call, and the next candidate may book one',
    rules: [
      r('drop', { priority: 20, then: { channel: 'call', team: 'sales', template: 'upsell', whenTeamBusy: 'suppress' } }),
      r('service', { priority: 10, then: { channel: 'call', team: 'service', template: 'vip' } }),
    ],
    customer: { consent: { call: true } },
    context: [
      { kind: 'team', team: 'sales', agentsFree: 0, queueLength: 2, at: NOW.toISOString() },
      { kind: 'team', team: 'service', agentsFree: 3, queueLength: 0, at: NOW.toISOString() },
    ],
    expected: { drop: 'team-busy', service: 'chosen' },
  },
  {
    // 13:00 in Berlin is inside the policy's quiet hours for calls: the call waits for 14:00 there.
    name: 'a call inside quiet hours on the customer\'s clock is deferred to the window\'s end',
    rules: [r('quiet-call', { then: { channel: 'call', team: 'service', template: 'vip' } })],
    policies: [{ policyId: 'default', quietHours: { start: '12:00', end: '14:00', channels: ['call'] } }],
    customer: { consent: { call: true }, timeZone: 'Europe/Berlin' },
    context: [{ kind: 'team', team: 'service', agentsFree: 3, queueLength: 0, at: NOW.toISOString() }],
    expected: { 'quiet-call': 'deferred' },
  },
  {
    name: 'bus actions need no consent and leave the channels free',
    rules: [r('bus', { then: { channel: 'bus', action: 'call-list' } }), r('a')],
    customer: { consent: { email: true } },
    expected: { bus: 'chosen', a: 'chosen' },
  },
];

function run(c: Case) {
  const rules = new RuleSet(c.rules.map((x) => ruleSchema.parse(x)));
  const book = new StaticCampaignBook(
    (c.campaigns ?? []).map((x) => campaignSchema.parse(x)),
    (c.policies ?? []).map((x) => policySchema.parse(x)),
  );
  return decide({
    event,
    customer: { customerId: 'cus-1', ...consenting, ...c.customer },
    rules,
    campaigns: book,
    now: c.now ?? NOW,
    ...(c.contacts ? { contacts: c.contacts } : {}),
    ...(c.exhausted ? { exhausted: new Set(c.exhausted) } : {}),
    ...(c.context ? { context: businessContext(c.context, c.now ?? NOW) } : {}),
  });
}

describe('decide: arbitration corpus', () => {
  it.each(cases)('$name', (c) => {
    const decision = run(c);
    expect(Object.fromEntries(decision!.candidates.map((x) => [x.ruleId, x.outcome]))).toEqual(c.expected);
    const sent = Object.entries(c.expected).filter(([, o]) => o === 'chosen' || o === 'deferred').map(([id]) => id);
    expect(decision!.messages.map((m) => m.ruleId).sort()).toEqual(sent.sort());
  });

  it('covers every outcome code but holdout (tested below)', () => {
    const seen = new Set(cases.flatMap((c) => Object.values(c.expected)));
    expect(OUTCOMES.filter((o) => !seen.has(o))).toEqual(['holdout']);
  });

  it('gives the deferred message the end of quiet hours as notBefore (08:00 Berlin = 07:00 UTC)', () => {
    const decision = run(cases.find((c) => c.name.startsWith('quiet hours defer'))!)!;
    expect(decision.messages[0]!.notBefore).toBe('2026-03-11T07:00:00.000Z');
    expect(decision.candidates[0]!.notBefore).toBe('2026-03-11T07:00:00.000Z');
  });

  it("books a deferred call the rule's retryMinutes later, with the team on the message", () => {
    const decision = run(cases.find((c) => c.name.startsWith('a team with no agent free'))!)!;
    expect(decision.messages).toHaveLength(1);
    expect(decision.messages[0]).toMatchObject({ channel: 'call', team: 'service', template: 'vip', notBefore: '2026-03-10T12:30:00.000Z' });
    expect(decision.candidates.find((c) => c.ruleId === 'defer')!.reason).toContain('team service reports no agent free');
  });

  it('holds a call that would ring inside quiet hours to the end of the window on the customer\'s clock (14:00 Berlin = 13:00 UTC)', () => {
    const decision = run(cases.find((c) => c.name.startsWith('a call inside quiet hours'))!)!;
    expect(decision.messages[0]).toMatchObject({ channel: 'call', notBefore: '2026-03-10T13:00:00.000Z' });
  });

  it('returns undefined when no rule matches the event', () => {
    expect(run({ name: 'none', rules: [r('a', { when: { source: ['baton.erp'] } })], expected: {} })).toBeUndefined();
  });

  it('claims budget and capacity once per counter, summed, with the capacity window of the send hour', () => {
    const decision = run({
      name: 'claims',
      rules: [r('a'), r('s', { then: { channel: 'sms', template: 't' } })],
      campaigns: [{ campaignId: 'camp', budget: { unit: 'money', limit: 10_000, costPerMessage: { email: 2, sms: 7 } }, capacityPerHour: { sms: 100 } }],
      expected: {},
    })!;
    expect(decision.reservations).toEqual([
      { on: { kind: 'budget', campaignId: 'camp' }, key: 'budget/camp', amount: 9, limit: 10_000 },
      {
        on: { kind: 'capacity', campaignId: 'camp', channel: 'sms', hour: '2026-03-10T12' }, key: 'capacity/camp/sms/2026-03-10T12',
        amount: 1, limit: 100, expiresAt: Date.parse('2026-03-10T13:00:00Z') / 1000 + 86_400,
      },
    ]);
  });

  it('puts a deterministic share of customers in the holdout: no message, no claim, channel still taken', () => {
    const held = Array.from({ length: 200 }, (_, i) => `cus-${i}`).find((id) => inHoldout(id, 'camp', 0.5))!;
    const rules = new RuleSet([r('a', { holdout: 0.5, priority: 20 }), r('b', { campaignId: 'other' })].map((x) => ruleSchema.parse(x)));
    const book = new StaticCampaignBook([campaignSchema.parse({ campaignId: 'camp', budget: { unit: 'messages', limit: 5 } })]);
    const decision = decide({ event, customer: { customerId: held, ...consenting }, rules, campaigns: book, now: NOW })!;
    expect(decision.candidates.map((c) => [c.ruleId, c.outcome])).toEqual([
      ['a', 'holdout'],
      ['b', 'lower-priority'],
    ]);
    expect(decision.messages).toEqual([]);
    expect(decision.reservations).toBeUndefined();
  });

  it('holds about the stated share of customers out, the same ones every time (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.05, max: 0.5, noNaN: true }), fc.string({ minLength: 1, maxLength: 12 }), (share, campaign) => {
        const ids = Array.from({ length: 2000 }, (_, i) => `cus-${i}`);
        const held = ids.filter((id) => inHoldout(id, campaign, share)).length / ids.length;
        expect(Math.abs(held - share)).toBeLessThan(0.05);
        expect(ids.filter((id) => inHoldout(id, campaign, share)).length / ids.length).toBe(held);
      }),
      { numRuns: 20 },
    );
  });

  it('never writes customer data into reasons', () => {
    const decision = run({ ...cases[5]!, customer: { consent: { email: false }, firstName: 'Ottilie', email: 'o@example.com' } })!;
    for (const c of decision.candidates) expect(c.reason).not.toMatch(/Ottilie|example\.com|cus-1/);
  });
});
