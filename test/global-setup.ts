// Starts the real local stack once for the whole test run, on free ports so it never collides
// with a developer's own `npm start`, and hands its endpoints to the tests.
import type { TestProject } from 'vitest/node';
import { startLocalStack } from '../local/stack.ts';
import type { TableNames } from '../lib/contract/tables.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: { bus: string; dynamodb: string; ses: string; scheduler: string };
    tables: TableNames;
    /** Environment variables the local stack set or changed while starting (none, by rule). */
    localStackEnvWrites: string[];
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const before = { ...process.env };
  // Rules and campaigns changed by a test reach the handlers within a third of a second.
  const stack = await startLocalStack({ busPort: 0, dynamodbPort: 0, sesPort: 0, stage: 'test', rulesRefreshMs: 300 });
  const names = new Set([...Object.keys(before), ...Object.keys(process.env)]);
  project.provide('localStackEnvWrites', [...names].filter((name) => before[name] !== process.env[name]).sort());
  project.provide('endpoints', stack.endpoints);
  project.provide('tables', stack.tables);
  return () => stack.stop();
}
