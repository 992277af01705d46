// Starts the real local stack once for the whole test run, on free ports so it never collides
// with a developer's own `npm start`, and hands its endpoints to the tests.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startLocalStack } from '../local/stack.ts';
import type { TableNames } from '../lib/contract/tables.ts';
import { buildCliBundle } from './support/cli-bundle.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: { bus: string; dynamodb: string; ses: string; scheduler: string };
    tables: TableNames;
    /** Environment variables the local stack set or changed while starting (none, by rule). */
    localStackEnvWrites: string[];
    /** The `baton` CLI bundled once for the run (test/support/cli-bundle.ts). */
    cliBundle: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const before = { ...process.env };
  // Rules and campaigns changed by a test reach the handlers within a third of a second.
  const [stack, cliBundle] = await Promise.all([
    startLocalStack({ busPort: 0, dynamodbPort: 0, sesPort: 0, stage: 'test', rulesRefreshMs: 300 }),
    buildCliBundle(),
  ]);
  project.provide('cliBundle', cliBundle);
  const names = new Set([...Object.keys(before), ...Object.keys(process.env)]);
  project.provide('localStackEnvWrites', [...names].filter((name) => before[name] !== process.env[name]).sort());
  project.provide('endpoints', stack.endpoints);
  project.provide('tables', stack.tables);
  return async () => {
    await stack.stop();
    rmSync(dirname(cliBundle), { recursive: true, force: true });
  };
}
