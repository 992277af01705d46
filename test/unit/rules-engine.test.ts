// The rule index must only narrow: for any rules and any event it returns exactly the rules whose
// `when` matches, in priority order, as a scan of every rule with the matcher would.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { matches } from '../../lib/core/event-pattern/index.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { checkRule, ruleSchema, type Rule, type RuleInput } from '../../lib/core/rules/rule.ts';

const rule = (over: Partial<RuleInput> & Pick<RuleInput, 'ruleId' | 'when'>): Rule =>
  ruleSchema.parse({ campaignId: 'c', enabled: true, priority: 10, then: { channel: 'email', template: 't' }, ...over });

const SOURCES = ['baton.pos', 'baton.erp', 'baton.crm'];
const TYPES = ['SaleCompleted', 'LicenseRenewalDue', 'CustomerUpserted'];
const STORES = ['s1', 's2', 's3', 's4'];

// Patterns over a small vocabulary, so random events often hit them, using several operator families.
const leaf = fc.oneof(
  fc.subarray(STORES, { minLength: 1 }),
  fc.constantFrom([{ prefix: 's' }], [{ 'anything-but': ['s1'] }], [{ exists: true }], [{ exists: false }], [{ suffix: '2' }], [{ 'equals-ignore-case': 'S3' }]),
);
const pattern = fc.record(
  {
    source: fc.oneof(fc.subarray(SOURCES, { minLength: 1 }), fc.constant([{ prefix: 'baton.' }])),
    'detail-type': fc.subarray(TYPES, { minLength: 1 }),
    detail: fc.record({ storeId: leaf, tags: fc.subarray(STORES, { minLength: 1 }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const orPattern = fc.tuple(pattern, pattern).map(([a, b]) => ({ $or: [a, b] }));
const event = fc.record({
  source: fc.constantFrom(...SOURCES),
  'detail-type': fc.constantFrom(...TYPES),
  detail: fc.record(
    { storeId: fc.oneof(fc.constantFrom(...STORES, 'S3', 'x'), fc.subarray(STORES)), tags: fc.subarray([...STORES, 'z']) },
    { requiredKeys: [] },
  ),
});

describe('RuleSet', () => {
  it('returns exactly the rules a scan with the matcher returns, highest priority first (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.oneof({ weight: 4, arbitrary: pattern }, { weight: 1, arbitrary: orPattern }), fc.integer({ min: 0, max: 3 }), fc.boolean()), {
          minLength: 0,
          maxLength: 40,
        }),
        fc.array(event, { minLength: 1, maxLength: 10 }),
        (specs, events) => {
          const rules = specs
            .map(([when, priority, enabled], i) => ({ when, priority, enabled, ruleId: `r-${String(i).padStart(2, '0')}` }))
            .filter((r) => checkRule({ ...r, campaignId: 'c', then: { channel: 'email', template: 't' } }).ok)
            .map((r) => rule(r));
          const set = new RuleSet(rules);
          for (const e of events) {
            const expected = rules
              .filter((r) => r.enabled && matches(r.when, e))
              .sort((a, b) => b.priority - a.priority || (a.ruleId < b.ruleId ? -1 : 1))
              .map((r) => r.ruleId);
            expect(set.matching(e).map((c) => c.rule.ruleId)).toEqual(expected);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('files rules under a selective field so most of 2,000 rules are never tested', () => {
    const rules = Array.from({ length: 2000 }, (_, i) =>
      rule({ ruleId: `store-${i}`, when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [`st-${i}`] } } }),
    );
    const set = new RuleSet(rules);
    const matched = set.matching({ source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { storeId: 'st-1234' } } as never);
    expect(matched.map((m) => m.rule.ruleId)).toEqual(['store-1234']);
    // One rule examined for the event: the other 1,999 are never reached.
    expect(set.stats()).toMatchObject({ rules: 2000, patterns: 2000, lastChecked: 1 });
  });

  it('leaves out disabled rules and returns a rule once even when the event holds two of its values', () => {
    const set = new RuleSet([
      rule({ ruleId: 'off', enabled: false, when: { source: ['baton.pos'] } }),
      ...Array.from({ length: 10 }, (_, i) => rule({ ruleId: `tag-${i}`, when: { source: ['baton.pos'], detail: { tags: [`a${i}`, `b${i}`] } } })),
    ]);
    const matched = set.matching({ source: 'baton.pos', 'detail-type': 'X', detail: { tags: ['a3', 'b3', 'a4'] } } as never);
    expect(matched.map((m) => m.rule.ruleId)).toEqual(['tag-3', 'tag-4']);
  });

  it('after live updates (whole lists with repeats, single puts and removals) answers like a set built afresh (property)', () => {
    const ruleOf = fc
      .tuple(fc.integer({ min: 0, max: 7 }), fc.oneof({ weight: 4, arbitrary: pattern }, { weight: 1, arbitrary: orPattern }), fc.integer({ min: 0, max: 3 }), fc.boolean())
      .map(([n, when, priority, enabled]) => ({ ruleId: `r-${n}`, when, priority, enabled }))
      .filter((r) => checkRule({ ...r, campaignId: 'c', then: { channel: 'email', template: 't' } }).ok)
      .map((r) => rule(r));
    const step = fc.oneof(
      fc.record({ list: fc.array(ruleOf, { maxLength: 10 }), keep: fc.subarray([0, 1, 2, 3, 4, 5, 6, 7]) }),
      fc.record({ put: ruleOf }),
      fc.record({ remove: fc.integer({ min: 0, max: 7 }) }),
    );
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 8 }), fc.array(event, { minLength: 1, maxLength: 5 }), (steps, events) => {
        const live = new RuleSet([]);
        let now = new Map<string, Rule>();
        for (const s of steps) {
          if ('list' in s) {
            // Rules kept as the same objects, new ones, and ids given twice (the last one wins).
            const list = [...now.values()].filter((r) => s.keep.includes(Number(r.ruleId.slice(2)))).concat(s.list);
            const counts = live.update(list);
            const next = new Map(list.map((r) => [r.ruleId, r]));
            expect(counts.removed).toBe([...now.keys()].filter((id) => !next.has(id)).length);
            expect(counts.added).toBe([...next.keys()].filter((id) => !now.has(id)).length);
            expect(counts.changed).toBe([...next].filter(([id, r]) => now.has(id) && now.get(id) !== r).length);
            now = next;
          } else if ('put' in s) {
            live.put(s.put);
            now.set(s.put.ruleId, s.put);
          } else {
            expect(live.remove(`r-${s.remove}`)).toBe(now.delete(`r-${s.remove}`));
          }
          expect(live.size).toBe(now.size);
          expect(new Set(live.rules)).toEqual(new Set(now.values()));
        }
        const fresh = new RuleSet([...now.values()]);
        for (const e of events) expect(live.matching(e).map((c) => c.rule.ruleId)).toEqual(fresh.matching(e).map((c) => c.rule.ruleId));
      }),
      { numRuns: 200 },
    );
  });

  it('orders hundreds of matches of one event by priority, then ruleId (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 300 }), (priorities) => {
        const rules = priorities.map((priority, i) => rule({ ruleId: `r-${i}`, priority, when: { source: ['baton.pos'] } }));
        const expected = rules.slice().sort((a, b) => b.priority - a.priority || (a.ruleId < b.ruleId ? -1 : 1)).map((r) => r.ruleId);
        expect(new RuleSet(rules).matching({ source: 'baton.pos', 'detail-type': 'X' }).map((c) => c.rule.ruleId)).toEqual(expected);
      }),
      { numRuns: 50 },
    );
  });
});
