// `npm run bench [workload...]`: runs every workload in bench/workloads (or the named ones).
// Each workload prints its absolute figures and its ratios against a baseline measured in the
// same run, so results compare across machines.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

export interface Workload {
  readonly name: string;
  readonly description: string;
  run(): Promise<void>;
}

const dir = join(import.meta.dirname, 'workloads');
const wanted = process.argv.slice(2);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
const workloads: Workload[] = [];
for (const f of files) workloads.push(((await import(join(dir, f))) as { workload: Workload }).workload);
const unknown = wanted.filter((w) => !workloads.some((x) => x.name === w));
if (unknown.length) {
  console.error(`unknown workload ${unknown.join(', ')}; known: ${workloads.map((w) => w.name).join(', ')}`);
  process.exit(2);
}
for (const w of workloads.filter((x) => wanted.length === 0 || wanted.includes(x.name))) {
  console.log(`\n## ${w.name}: ${w.description}`);
  await w.run();
}
