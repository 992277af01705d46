// `baton schemas export <dir>`: JSON Schema for every event type in the catalog.
import { exportJsonSchemas } from '../../events/json-schema.ts';
import { report, type CliFlags, type Printer } from '../io.ts';

export function exportSchemas(dir: string, flags: CliFlags, p: Printer): number {
  const files = exportJsonSchemas(dir);
  report(flags, p, { dir, files }, () => [`wrote ${files.length} JSON Schemas to ${dir}`]);
  return 0;
}
