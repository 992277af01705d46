// Issue 11, defect 6 (matcher part): a document of 100,000 nested arrays (200 KB, under the bus's
// size limit) must be matched like any other, never overflow the stack with a RangeError.
import { describe, expect, it } from 'vitest';
import { compilePattern } from '../../lib/core/event-pattern/index.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';

const DEPTH = 100_000;
/** `inner` wrapped in DEPTH arrays, built the way JSON.parse builds it from a 200 KB body. */
const nested = (inner: string): unknown => JSON.parse(`${'['.repeat(DEPTH)}${inner}${']'.repeat(DEPTH)}`);

describe('deeply nested documents', () => {
  it('a leaf looks through any depth of arrays', () => {
    expect(compilePattern({ a: ['x'] })({ a: nested('"x"') })).toBe(true);
    expect(compilePattern({ a: ['x'] })({ a: nested('"y"') })).toBe(false);
    expect(compilePattern({ a: [{ exists: false }] })({ a: nested('') })).toBe(true);
  });

  it('an object node looks through any depth of arrays for its element', () => {
    expect(compilePattern({ a: { b: ['x'], c: ['y'] } })({ a: nested('{"b": "x", "c": "y"}') })).toBe(true);
    expect(compilePattern({ a: { b: ['x'], c: ['y'] } })({ a: nested('{"b": "x", "c": "z"}') })).toBe(false);
  });

  it('exists:false checks presence through any depth of arrays', () => {
    // b sorts before c: its absence is checked across the whole array, at every depth.
    const p = compilePattern({ a: { b: [{ exists: false }], c: ['y'] } });
    expect(p({ a: nested('{"c": "y"}') })).toBe(true);
    expect(p({ a: [{ c: 'y' }, nested('{"b": 1}')] })).toBe(false);
    expect(p({ a: [{ c: 'y', b: nested('1') }] })).toBe(false);
    expect(p({ a: [{ c: 'y', b: nested('') }] })).toBe(true);
  });

  it('the rule index walks any depth', () => {
    const rule = ruleSchema.parse({
      ruleId: 'deep', campaignId: 'c', enabled: true, priority: 1, then: { channel: 'email', template: 't' },
      when: { source: ['baton.pos'], detail: { storeId: ['s1'] } },
    });
    const set = new RuleSet(Array.from({ length: 10 }, (_, i) => ({ ...rule, ruleId: `deep-${i}`, when: { ...rule.when, detail: { storeId: [`s${i}`] } } })));
    const event = { source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { storeId: nested('"s1"') } };
    expect(set.matching(event).map((m) => m.rule.ruleId)).toEqual(['deep-1']);
  });
});
