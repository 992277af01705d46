// Runs the real `baton` command as a user does, from the repository root.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { inject } from 'vitest';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Resolves with the exit code instead of rejecting. The machine may be slow: a minute per run. */
export function baton(...args: string[]): Promise<Run> {
  return batonWith({}, ...args);
}

/** The entry a user runs, `bin/baton.js` through tsx, rather than the run's bundle of the same source. */
export function batonEntry(...args: string[]): Promise<Run> {
  return runCli('bin/baton.js', {}, args);
}

/** `baton` with extra environment, e.g. the local stack's ports as `npm start` reads them. */
export function batonWith(env: Record<string, string>, ...args: string[]): Promise<Run> {
  // The bundle test/global-setup.ts built (test/support/cli-bundle.ts); the entry when run without it.
  return runCli(inject('cliBundle') ?? 'bin/baton.js', env, args);
}

function runCli(entry: string, env: Record<string, string>, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [entry, ...args],
      { cwd: ROOT, timeout: 240_000, env: { ...process.env, NO_COLOR: '1', ...env } },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') return reject(error);
        resolve({ code: typeof error?.code === 'number' ? error.code : 0, stdout, stderr });
      },
    );
  });
}

/** The environment that points `baton` at a local stack, as a user with `npm start` on those ports has it. */
export function stackEnv(endpoints: { bus: string; dynamodb: string }): Record<string, string> {
  return { BATON_BUS_PORT: new URL(endpoints.bus).port, BATON_DYNAMODB_PORT: new URL(endpoints.dynamodb).port };
}
