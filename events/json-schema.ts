// JSON Schema for every catalog type: for source-system teams and the EventBridge schema registry.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { catalogEntries, eventSchema } from './catalog.ts';

export function jsonSchemas(): { file: string; schema: Record<string, unknown> }[] {
  return catalogEntries().map(({ source, detailType }) => ({
    file: `${source}.${detailType.replace(/ /g, '')}.schema.json`,
    schema: {
      $id: `https://baton.dev/schemas/${source}/${detailType.replace(/ /g, '')}.json`,
      title: `${source} ${detailType}`,
      ...z.toJSONSchema(eventSchema(source, detailType), { target: 'draft-2020-12', io: 'input' }),
    },
  }));
}

/** Writes one file per type into dir and returns the file names. */
export function exportJsonSchemas(dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  return jsonSchemas().map(({ file, schema }) => {
    writeFileSync(join(dir, file), `${JSON.stringify(schema, null, 2)}\n`);
    return file;
  });
}
