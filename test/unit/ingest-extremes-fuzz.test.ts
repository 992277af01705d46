// Fuzz of the ingest path (in-memory adapters, and a rule that fires on sales and licence purchases
// so the view and decide run too) with events the catalog's schema accepts but that sit at its
// edges: times at both ends of the calendar under every UTC offset and with up to nine decimals, the
// largest, smallest and subnormal amounts, long strings of odd Unicode (lone surrogates, combining
// marks, bidi controls, emoji sequences, JSON and Liquid syntax), empty arrays and objects where the
// schema allows them, and unknown extra fields holding extreme numbers (extreme-events.arbitraries.ts).
// Every one of 50,000 events must come back applied, or quarantined with the reason the test
// predicts; none may throw (a throw is retried and then dead-lettered: issue 11, defect 3).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { IngestOutcome } from '../../lib/app/ingest.ts';
import { TIME_RANGE } from '../../events/catalog.ts';
import { CUSTOMERS, customerOf, extremeCaseArb, type Case } from './extreme-events.arbitraries.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { memoryIngest, unhandledRejections } from '../support/memory-ingest.ts';

const RUNS = 50_000;

const UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TIME_PATH = /(^|\.)(at|firstSeen|lastSeen|firstPurchaseAt|lastSaleAt|lastContact\.\w+|\w+At(\.v)?)$/;

/** The times a state keeps (by path), and those not in UTC with milliseconds (which would not sort). */
function stateTimes(state: CustomerState): { checked: number; bad: string[] } {
  const out = { checked: 0, bad: [] as string[] };
  const walk = (v: unknown, path: string) => {
    if (typeof v === 'string') {
      if (!TIME_PATH.test(path)) return;
      out.checked++;
      if (!UTC_MS.test(v)) out.bad.push(path);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    for (const [key, child] of Object.entries(v)) walk(child, Array.isArray(v) ? path : path ? `${path}.${key}` : key);
  };
  walk(state, '');
  return out;
}

/** What is wrong with an outcome, or undefined when it is the one the case expects. */
function verdict(c: Case, outcome: IngestOutcome): string | undefined {
  const want = c.expect;
  const about = `${JSON.stringify(outcome)} for ${c.body.slice(0, 300)}`;
  if (want.status === 'applied') return outcome.status === 'applied' ? undefined : `expected applied, got ${about}`;
  if (outcome.status !== 'quarantined' || outcome.code !== want.code) return `expected quarantined ${want.code}, got ${about}`;
  if (want.mentions.length > 0 && !want.mentions.some((m) => outcome.reason.includes(m))) return `the reason names none of ${want.mentions.join(', ')}: ${about}`;
  if (want.withRange && !(outcome.reason.includes(TIME_RANGE.earliest) && outcome.reason.includes(TIME_RANGE.latest))) return `the reason does not state the accepted range: ${about}`;
  return undefined;
}

describe('ingest fuzz: schema-valid extremes', () => {
  const rejections = unhandledRejections();

  it('applies or quarantines every one of 50,000 events at the schema\'s edges, and throws for none', async () => {
    // Prepare: one profile per customer, and a rule that fires on sales and purchases (so decide and the view run).
    const rule = ruleSchema.parse({
      ruleId: 'extremes',
      campaignId: 'extremes',
      enabled: true,
      priority: 1,
      // Sales and purchases: often enough to build the view of every kind of state, rare enough to stay fast.
      when: { 'detail-type': ['SaleCompleted', 'LicensePurchased'] },
      then: { channel: 'email', template: 'any' },
      setState: { lastSeenBy: 'fuzz' },
    });
    const rules = new RuleSet([rule]);
    let made = 0;
    const { ingest, store, quarantine } = memoryIngest({ rules: { current: async () => rules }, newCustomerId: () => `cus-x${made++}` });
    const customerIds: string[] = [];
    for (let k = 0; k < CUSTOMERS; k++) {
      const first = { version: '0', id: `prep-${k}`, source: 'baton.crm', 'detail-type': 'ConsentChanged', time: '2026-01-01T00:00:00Z', detail: { ids: { crmId: customerOf(k).crmId }, occurredAt: '2026-01-01T00:00:00Z', channel: 'email', granted: true, via: 'test' } };
      const outcome = await ingest(JSON.stringify(first));
      expect(outcome.status).toBe('applied');
      customerIds.push((outcome as { customerId: string }).customerId);
    }
    const caseArb = extremeCaseArb(customerIds);

    // Act and assess, one event per run.
    const wrong: string[] = [];
    const tally = new Map<string, number>();
    // fc.check, not fc.assert: on a failure the test shows what went wrong (below), not only the case.
    const run = await fc.check(
      fc.asyncProperty(caseArb, async (c) => {
        let outcome: IngestOutcome;
        try {
          outcome = await ingest(c.body);
        } catch (err) {
          wrong.push(`threw ${String(err)} for ${c.body.slice(0, 300)}`);
          return false;
        }
        const got = outcome.status === 'quarantined' ? `quarantined ${outcome.code}` : outcome.status;
        tally.set(got, (tally.get(got) ?? 0) + 1);
        const problem = verdict(c, outcome);
        if (problem) wrong.push(problem);
        return problem === undefined;
      }),
      { numRuns: RUNS, seed: 20_261_231, endOnFailure: true },
    );
    await new Promise((r) => setImmediate(r)); // a rejection nobody handled is reported on a later turn

    expect(wrong.slice(0, 3)).toEqual([]);
    expect(run.failed).toBe(false);
    expect(rejections).toEqual([]);
    const applied = tally.get('applied') ?? 0;
    const quarantined = (tally.get('quarantined invalid-detail') ?? 0) + (tally.get('quarantined invalid-envelope') ?? 0) + (tally.get('quarantined too-large') ?? 0);
    expect(applied + quarantined, JSON.stringify([...tally])).toBe(RUNS);
    // Both answers really occur, often: neither half of the oracle is vacuous.
    expect(applied).toBeGreaterThan(RUNS / 5);
    expect(tally.get('quarantined invalid-detail') ?? 0).toBeGreaterThan(RUNS / 10);
    expect(tally.get('quarantined invalid-envelope') ?? 0).toBeGreaterThan(RUNS / 500);
    // One marker per applied event, one quarantine entry per quarantined one: nothing half done.
    expect(store.markers.size).toBe(CUSTOMERS + applied);
    expect(quarantine.entries).toHaveLength(quarantined);
    // The state kept only times it can order: UTC with milliseconds, in years 0000-9999.
    expect(store.profiles.size).toBe(CUSTOMERS);
    const times = [...store.profiles.values()].map((p) => stateTimes(p.state));
    expect(times.flatMap((t) => t.bad)).toEqual([]);
    expect(times.reduce((n, t) => n + t.checked, 0)).toBeGreaterThan(CUSTOMERS * 100);
    // 50,000 events took 22 s of CPU on a shared 2-core machine (load about 28, so 4 minutes of wall
    // time); the limit is only a guard.
  }, 600_000);
});
