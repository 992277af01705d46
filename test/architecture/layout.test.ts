// The house rules of .dependency-cruiser.cjs, run by `npm test`: a wing that imports upward, or a
// circle, fails here with both files named.
import { describe, expect, it } from 'vitest';
import { cruise, type IReporterOutput, type ICruiseResult } from 'dependency-cruiser';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const WINGS = ['events', 'lib', 'functions', 'infra', 'local', 'cli', 'bench'];

export async function violations(): Promise<string[]> {
  const rules = createRequire(import.meta.url)(join(ROOT, '.dependency-cruiser.cjs'));
  const cwd = process.cwd();
  process.chdir(ROOT);
  let out: IReporterOutput;
  try {
    out = await cruise(WINGS, { ...rules.options, ruleSet: { forbidden: rules.forbidden }, validate: true });
  } finally {
    process.chdir(cwd);
  }
  const result = out.output as ICruiseResult;
  return result.summary.violations.map((v) =>
    v.cycle ? `${v.rule.name}: ${[v.from, ...v.cycle.map((c) => c.name)].join(' → ')}` : `${v.rule.name}: ${v.from} → ${v.to}`,
  );
}

describe('the layout', () => {
  it('keeps every wing to its dependency rule, with no circle', async () => {
    expect(await violations()).toEqual([]);
  }, 60_000);
});
