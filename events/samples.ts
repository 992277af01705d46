// One realistic sample per catalog type, in events/samples/<source>/<DetailType>.json.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const SAMPLES_DIR = join(import.meta.dirname, 'samples');

/** Sample names as `<source>/<DetailType>` (detail-type without spaces). */
export function listSamples(): string[] {
  return readdirSync(SAMPLES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .flatMap((d) => readdirSync(join(SAMPLES_DIR, d.name)).map((f) => `${d.name}/${f.replace(/\.json$/, '')}`))
    .sort();
}

/** Load a sample by `<source>/<DetailType>` or by the bare detail-type when it is unambiguous. */
export function loadSample(name: string): Record<string, unknown> & { detail: Record<string, unknown> } {
  const wanted = name.replace(/\.json$/, '').replace(/ /g, '');
  const hits = listSamples().filter((s) => s === wanted || s.endsWith(`/${wanted}`));
  if (hits.length !== 1) {
    throw new Error(
      hits.length ? `sample "${name}" is ambiguous: ${hits.join(', ')}` : `no sample "${name}"; known: ${listSamples().join(', ')}`,
    );
  }
  return JSON.parse(readFileSync(join(SAMPLES_DIR, `${hits[0]}.json`), 'utf8'));
}
