import { exportJsonSchemas } from '../../events/json-schema.ts';
import { UsageError } from '../io.ts';

export const command = {
  name: 'schemas',
  usage: 'schemas export <dir>          write JSON Schema for every event type in the catalog',
  async run([sub, dir]: string[]): Promise<number> {
    if (sub !== 'export' || !dir) throw new UsageError('usage: baton schemas export <dir>');
    const files = exportJsonSchemas(dir);
    console.log(`wrote ${files.length} JSON Schemas to ${dir}`);
    return 0;
  },
};
