// What journeys report for the dashboard (infra/constructs/observability.ts): timers fired into the
// decision step, how late each came, and customers in each step (+1 in, −1 out, per journey and step).
import { describe, expect, it } from 'vitest';
import { journeyFrom, journeyStack } from '../support/journeys.ts';
import { renewal, runRenewalScenario } from '../support/renewal-scenario.ts';

const DAY = 86_400_000;

describe('journey metrics', () => {
  it('counts the fired timers and customers per step through the renewal scenario', async () => {
    const stack = journeyStack({ journeys: [renewal()] });
    await runRenewalScenario(stack, 'metrics');
    // Two waits timed out (the renewed customer's timer was deleted), each on the dot.
    expect(stack.metrics.counts.JourneyTimersFired).toBe(2);
    expect(stack.metrics.counts.JourneyTimerLateSeconds).toBe(0);
    // Three entered the wait and all three left it: net zero, 3 in and 3 out.
    expect(stack.metrics.byDimensions['JourneyCustomersInStep{journeyId=renewal,stepId=wait-for-renewal}']).toBe(0);
    expect(Object.keys(stack.metrics.byDimensions)).toEqual(['JourneyCustomersInStep{journeyId=renewal,stepId=wait-for-renewal}']);
  });

  it('counts customers into a step while they wait, and a late or repeated timer with its lateness', async () => {
    const journey = journeyFrom({
      journeyId: 'nudge',
      campaignId: 'nudges',
      entry: { event: { source: ['baton.crm'], 'detail-type': ['CustomerUpserted'] } },
      steps: [
        { id: 'day', type: 'wait', duration: { days: 1 } },
        { id: 'week', type: 'wait', duration: { days: 7 } },
      ],
    });
    const stack = journeyStack({ journeys: [journey] });
    for (const crmId of ['a', 'b']) expect((await stack.event('baton.crm', 'CustomerUpserted', { ids: { crmId }, profile: { tier: 'gold' } })).status).toBe('applied');
    expect(stack.metrics.byDimensions).toEqual({ 'JourneyCustomersInStep{journeyId=nudge,stepId=day}': 2 });

    // The timers arrive 90 seconds late (Scheduler's flexible precision, a slow queue).
    const due = stack.timers.nextDue()!;
    stack.clock.set(due + 90_000);
    const fired = stack.timers.due(stack.clock.ms());
    for (const s of fired) await stack.send(s.event as unknown as Record<string, unknown>);
    expect(stack.metrics.counts.JourneyTimersFired).toBe(2);
    expect(stack.metrics.counts.JourneyTimerLateSeconds).toBe(180);
    expect(stack.metrics.byDimensions).toEqual({ 'JourneyCustomersInStep{journeyId=nudge,stepId=day}': 0, 'JourneyCustomersInStep{journeyId=nudge,stepId=week}': 2 });

    // A repeat of the first fire is the same event: it moves nobody (and is not counted twice as a step).
    await stack.send(fired[0]!.event as unknown as Record<string, unknown>);
    expect(stack.metrics.byDimensions['JourneyCustomersInStep{journeyId=nudge,stepId=week}']).toBe(2);
    await stack.advance(8 * DAY);
    expect(stack.metrics.byDimensions['JourneyCustomersInStep{journeyId=nudge,stepId=week}']).toBe(0);
  });
});
