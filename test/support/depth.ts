// How far the slow property and load tests go. `npm test` runs each at a size that keeps the suite
// inside CI's ten minutes on two cores; BATON_TEST_DEPTH=full runs each at the full size its header
// names (before a release, or after a change to what the test guards). One variable for the suite;
// a test's own variable, where it has one (BATON_RUN_KILL_CUSTOMERS), still wins.

const VARIABLE = 'BATON_TEST_DEPTH';

/** 'default' unless BATON_TEST_DEPTH=full; any other value is refused, so a typo never runs the small size silently. */
export function testDepth(env: NodeJS.ProcessEnv = process.env): 'default' | 'full' {
  const value = env[VARIABLE];
  if (value === undefined || value === '' || value === 'default') return 'default';
  if (value === 'full') return 'full';
  throw new Error(`${VARIABLE} must be "full" or "default" (or unset)`);
}

/** The size to run: `full` under BATON_TEST_DEPTH=full, else `byDefault`. */
export const sized = <T>(byDefault: T, full: T, env: NodeJS.ProcessEnv = process.env): T => (testDepth(env) === 'full' ? full : byDefault);

/** A whole number from the test's own variable (it wins over the depth), named in the error when it is not one. */
export function sizeFrom(variable: string, byDefault: number, full: number, env: NodeJS.ProcessEnv = process.env): number {
  const own = env[variable];
  if (own === undefined || own === '') return sized(byDefault, full, env);
  const n = Number(own);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${variable} must be a whole number of at least 1`);
  return n;
}
