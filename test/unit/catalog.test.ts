// The catalog checked both ways (STYLE point 4): every sample parses, and removing any required
// detail field makes it fail with a reason that names the field. The JSON Schema export publishes
// one schema per type that the samples satisfy.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { catalogEntries, detailSchema } from '../../events/catalog.ts';
import { exportJsonSchemas, jsonSchemas } from '../../events/json-schema.ts';
import { listSamples, loadSample } from '../../events/samples.ts';
import { parseEvent } from '../../events/validate.ts';

const compact = (detailType: string) => detailType.replace(/ /g, '');

/** The keys of a detail schema whose absence zod refuses, read from the schema's own shape. */
function requiredKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) throw new Error('every catalog detail schema is an object schema');
  return Object.keys(shape).filter((key) => !shape[key]!.safeParse(undefined).success);
}

type JsonSchemaObject = {
  $schema?: string;
  $id?: string;
  type?: string;
  required?: string[];
  properties?: Record<string, { const?: unknown; required?: string[]; properties?: Record<string, unknown> }>;
};

const samples = listSamples();
const exportedSchemas = jsonSchemas().map(({ file, schema }) => ({ file, schema: schema as JsonSchemaObject }));
const removals = samples.flatMap((name) => {
  const sample = loadSample(name);
  const schema = detailSchema(sample.source as string, sample['detail-type'] as string);
  return schema ? requiredKeys(schema).map((field) => ({ name, field })) : [];
});

describe('event samples', () => {
  it('there is a sample per type to check', () => {
    // A broken samples directory would make every it.each below vacuous.
    expect(samples.length).toBeGreaterThanOrEqual(24);
    expect(removals.length).toBeGreaterThan(samples.length * 2);
  });

  it.each(samples)('%s parses', (name) => {
    const sample = loadSample(name);

    const result = parseEvent(JSON.stringify(sample));

    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.event.source).toBe(sample.source);
    expect(result.event['detail-type']).toBe(sample['detail-type']);
    // The file lives where its envelope says: <source>/<DetailType without spaces>.json.
    expect(name).toBe(`${String(sample.source)}/${compact(String(sample['detail-type']))}`);
  });

  it.each(removals)('$name without detail.$field is invalid-detail naming it', ({ name, field }) => {
    const sample = loadSample(name);
    expect(sample.detail).toHaveProperty(field);
    const { [field]: _removed, ...rest } = sample.detail;

    const result = parseEvent({ ...sample, detail: rest });

    expect(result).toMatchObject({ ok: false, code: 'invalid-detail' });
    if (result.ok) return;
    expect(result.reason).toContain(`detail.${field}:`);
  });

  it('every catalog type has a sample, except the ones Baton publishes itself', () => {
    const sampled = new Set(samples);

    const missing = catalogEntries()
      .map(({ source, detailType }) => `${source}/${compact(detailType)}`)
      .filter((name) => !sampled.has(name));

    expect(missing).toEqual(['baton/ActionRequested', 'baton/CallRequested', 'baton.segments/SegmentEntered', 'baton.segments/SegmentLeft']);
  });

  it('every sample belongs to a catalog type', () => {
    const known = new Set(catalogEntries().map(({ source, detailType }) => `${source}/${compact(detailType)}`));

    expect(samples.filter((name) => !known.has(name))).toEqual([]);
  });
});

describe('JSON Schema export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'baton-schemas-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('writes one file per catalog type, with distinct names and ids', () => {
    const files = exportJsonSchemas(dir);

    const entries = catalogEntries();
    expect(files).toHaveLength(entries.length);
    expect(readdirSync(dir).sort()).toEqual([...files].sort());
    expect(new Set(files).size).toBe(files.length);
    const ids = files.map((f) => (JSON.parse(readFileSync(join(dir, f), 'utf8')) as JsonSchemaObject).$id);
    expect(new Set(ids).size).toBe(files.length);
    expect(files).toEqual(entries.map(({ source, detailType }) => `${source}.${compact(detailType)}.schema.json`));
  });

  it.each(exportedSchemas)(
    '$file is a draft 2020-12 object schema that requires detail',
    ({ schema }) => {
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toMatch(/^https:\/\/baton\.dev\/schemas\/[\w.]+\/\w+\.json$/);
      expect(schema.type).toBe('object');
      expect(schema.required).toEqual(expect.arrayContaining(['source', 'detail-type', 'detail']));
      expect(schema.properties?.detail).toBeTypeOf('object');
    },
  );

  it.each(samples)('the sample %s satisfies its exported schema at the top level and in detail', (name) => {
    const sample = loadSample(name);
    const file = `${String(sample.source)}.${compact(String(sample['detail-type']))}.schema.json`;
    const exported = exportedSchemas.find((s) => s.file === file);
    expect(exported, `no exported schema ${file}`).toBeDefined();
    const schema = exported!.schema;
    const properties = schema.properties ?? {};

    const missingTop = (schema.required ?? []).filter((key) => !(key in sample));
    const unknownTop = Object.keys(sample).filter((key) => !(key in properties));
    const detailRequired = properties.detail?.required ?? [];
    const missingDetail = detailRequired.filter((key) => !(key in sample.detail));

    expect(missingTop).toEqual([]);
    expect(unknownTop).toEqual([]);
    expect(properties.source?.const).toBe(sample.source);
    expect(properties['detail-type']?.const).toBe(sample['detail-type']);
    expect(missingDetail).toEqual([]);
    // The exported `required` is the same list zod enforces (two derivations that must agree).
    expect([...detailRequired].sort()).toEqual(
      requiredKeys(detailSchema(String(sample.source), String(sample['detail-type']))!).sort(),
    );
  });
});
