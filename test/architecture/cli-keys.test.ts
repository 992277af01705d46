// Table key formats belong to the repository that owns the table (lib/adapters/dynamo/): the CLI
// and the demo build no `RULE#…`, `V#000001`, `ID#…`, `CAMPAIGN#…` or `POLICY#…` keys of their own.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const KEY = /\b(RULE|CAMPAIGN|POLICY|ID|CUS|DEC|MSG|ERASED|EVT|TPL)#|\bV#\d/;

const files = (dir: string): string[] =>
  readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') || e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );

describe('key formats', () => {
  it('appear in no file of the CLI or the demo', () => {
    const found = [...files('cli'), 'bin/baton.js', 'local/demo.ts'].flatMap((file) =>
      readFileSync(join(ROOT, file), 'utf8')
        .split('\n')
        .flatMap((line, i) => (KEY.test(line) ? [`${relative(ROOT, join(ROOT, file))}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(found).toEqual([]);
  });
});
