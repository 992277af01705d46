// The suite's one size switch (test/support/depth.ts): unset runs the default sizes, `full` the
// full ones, a test's own variable wins, and a typo is refused rather than silently run small.
import { describe, expect, it } from 'vitest';
import { sized, sizeFrom, testDepth } from '../support/depth.ts';

describe('BATON_TEST_DEPTH', () => {
  it('runs the default size unless told full', () => {
    expect(testDepth({})).toBe('default');
    expect(sized(300, 20_000, {})).toBe(300);
    expect(sized(300, 20_000, { BATON_TEST_DEPTH: 'full' })).toBe(20_000);
  });

  it('refuses any other value, naming the variable and what it accepts', () => {
    expect(() => testDepth({ BATON_TEST_DEPTH: 'ful' })).toThrow('BATON_TEST_DEPTH must be "full" or "default" (or unset)');
  });

  it("lets a test's own variable win over the depth, and refuses one that is not a whole number", () => {
    expect(sizeFrom('BATON_RUN_KILL_CUSTOMERS', 300, 20_000, { BATON_RUN_KILL_CUSTOMERS: '1000', BATON_TEST_DEPTH: 'full' })).toBe(1000);
    expect(sizeFrom('BATON_RUN_KILL_CUSTOMERS', 300, 20_000, { BATON_TEST_DEPTH: 'full' })).toBe(20_000);
    expect(sizeFrom('BATON_RUN_KILL_CUSTOMERS', 300, 20_000, {})).toBe(300);
    expect(() => sizeFrom('BATON_RUN_KILL_CUSTOMERS', 300, 20_000, { BATON_RUN_KILL_CUSTOMERS: 'lots' })).toThrow('BATON_RUN_KILL_CUSTOMERS must be a whole number of at least 1');
  });
});
