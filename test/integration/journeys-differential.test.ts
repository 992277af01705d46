// The same commands on the in-memory and the DynamoDB journey adapters: the same positions, paths,
// send outcomes, timers and messages (ids aside: each run makes its own customer ids).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { db, tables, unique } from '../support/local.ts';
import { journeyFrom, journeyStack, messagesOf, type JourneyStack } from '../support/journeys.ts';
import { renewal } from '../support/renewal-scenario.ts';

const HOUR = 3_600_000;
const answerJourney = journeyFrom({
  journeyId: 'nudge',
  campaignId: 'nudges',
  entry: { event: { source: ['baton.crm'], 'detail-type': ['CustomerUpserted'] }, reEntry: { policy: 'always' } },
  goal: { state: { tier: ['platinum'] } },
  steps: [
    { id: 'hello', type: 'send', channel: 'email', template: 'hello', transactional: true },
    { id: 'nine', type: 'wait', until: { time: '09:00' } },
    { id: 'ab', type: 'branch', split: [{ share: 50, next: 'tag' }, { share: 50, next: 'answer' }] },
    { id: 'tag', type: 'setState', set: { nudged: true } },
    { id: 'answer', type: 'branch', answerOf: 'hello', cases: [{ answer: 'opened', next: 'done' }], otherwise: 'again' },
    { id: 'again', type: 'wait', duration: { hours: 5 }, event: { source: ['baton.erp'], 'detail-type': ['LicenseRenewalDue'] }, next: 'hello', timeoutNext: 'done' },
    { id: 'done', type: 'exit' },
  ],
});

type Op = { op: 'upsert'; tier: string } | { op: 'due' } | { op: 'renewed' } | { op: 'advance'; hours: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('upsert' as const), tier: fc.constantFrom('gold', 'silver', 'platinum') }),
  fc.constant({ op: 'due' as const }),
  fc.constant({ op: 'renewed' as const }),
  fc.record({ op: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 60 }) }),
);

async function play(stack: JourneyStack, tag: string, ops: Op[]) {
  const ids = { crmId: `crm-${tag}`, licenseId: `LIC-${tag}` };
  const first = await stack.event('baton.crm', 'CustomerUpserted', { ids: { crmId: ids.crmId }, profile: { timeZone: 'America/New_York' } });
  if (first.status !== 'applied') throw new Error('no customer');
  for (const o of ops) {
    // A minute between events: two profile changes at one instant would be ordered by their (random) ids.
    if (o.op !== 'advance') await stack.advance(60_000);
    if (o.op === 'upsert') await stack.event('baton.crm', 'CustomerUpserted', { ids: { crmId: ids.crmId }, profile: { tier: o.tier } });
    else if (o.op === 'due') await stack.event('baton.erp', 'LicenseRenewalDue', { ids, licenseId: ids.licenseId, product: 'p', expiresAt: '2027-01-01T00:00:00Z', daysLeft: 9 });
    else if (o.op === 'renewed') await stack.event('baton.erp', 'LicenseRenewed', { ids, licenseId: ids.licenseId, product: 'p', expiresAt: '2028-01-01T00:00:00Z', amount: 1, currency: 'EUR' });
    else await stack.advance(o.hours * HOUR);
  }
  const c = first.customerId;
  // As stored: JSON drops undefined fields.
  // Decision ids come from the event ids, which each run makes anew.
  const instances = JSON.parse(JSON.stringify(await stack.store.load(c), (k, v) => (k === 'decisionId' ? undefined : v)));
  return { instances, messages: await messagesOf(stack, c), schedules: [...stack.timers.schedules.values()].map((s) => [s.name, s.at, s.timeZone, s.event]) };
}

describe('journey adapters, in memory and on DynamoDB Local', () => {
  it('give the same positions, paths, timers and messages for the same commands', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 12 }), async (ops) => {
        const start = '2026-03-02T08:00:00.000Z';
        const journeys = [renewal(), answerJourney];
        // One customer id for both (a split depends on it), new in every run (the tables are shared).
        const id = unique('cus-diff');
        const tag = unique('t');
        const memory = await play(journeyStack({ journeys, start, newCustomerId: () => id }), tag, ops);
        const dynamo = await play(journeyStack({ journeys, start, newCustomerId: () => id, dynamo: { db: db(), tables: tables() } }), tag, ops);
        expect(dynamo).toEqual(memory);
      }),
      { numRuns: 6 },
    );
  }, 240_000);
});
