// The house rules of .dependency-cruiser.cjs, run by `npm test`: a wing that imports upward, or a
// circle, fails here with both files named.
import { describe, expect, it } from 'vitest';
import { cruise, type IReporterOutput, type ICruiseResult } from 'dependency-cruiser';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';

const ROOT = join(import.meta.dirname, '..', '..');
const WINGS = ['events', 'lib', 'functions', 'infra', 'local', 'cli', 'bench', 'console'];

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
  }, 300_000);
});

/** Non-test TypeScript files under the wings, with their text. */
function sources(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith('.ts')) out.push({ file: rel, text: readFileSync(join(ROOT, rel), 'utf8') });
    }
  };
  for (const w of WINGS) walk(w);
  return out;
}

/** Lines matching `re`, as `file:line: text`, outside the files `allowed` accepts. */
function offending(re: RegExp, allowed: (file: string) => boolean): string[] {
  return sources()
    .filter((s) => !allowed(s.file))
    .flatMap((s) =>
      s.text.split('\n').flatMap((line, i) => (re.test(line) && !/^\s*(\/\/|\/?\*)/.test(line) ? [`${s.file}:${i + 1}: ${line.trim()}`] : [])),
    );
}

describe('facts kept in one place', () => {
  // Settings are parsed once and passed down; only a process's entry point may set its environment.
  const ENTRY_POINTS = new Set(['local/main.ts', 'cli/main.ts', 'bench/run.ts']);
  it('writes process.env only in the process entry points', () => {
    expect(offending(/process\.env(\.\w+|\[[^\]]+\])\s*=[^=]|Object\.assign\(\s*process\.env/, (f) => ENTRY_POINTS.has(f))).toEqual([]);
  });

  // Still to move into their repositories (issue 10); the list may only shrink.
  it('writes DynamoDB key formats only inside lib/adapters/dynamo/', () => {
    // A key prefix such as `CUS#`, `ID#`, `RULE#` or `V#000001` in a string or template literal.
    expect(offending(/['"`][A-Z]{1,12}#/, (f) => f.startsWith('lib/adapters/dynamo/'))).toEqual([]);
  });

  it('types the decision subject (no `as never` casts in the use cases or the CLI)', () => {
    // The CLI decides through lib/app (`baton rules test` runs its dry run), so it is held to the same.
    expect(offending(/customerView\([^)]*\) as never|\bcode as never\b/, (f) => !['lib/app/', 'lib/core/', 'cli/'].some((wing) => f.startsWith(wing)))).toEqual([]);
  });
});
