// `npm start` as a person runs it: ready line, the demo's emails in the local SES, and nothing
// left running after Ctrl-C or SIGTERM (the DynamoDB Local JVM included).
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../local/servers.ts';

const root = join(import.meta.dirname, '..', '..');

interface Started {
  child: ChildProcess;
  output: () => string;
  ports: { bus: number; dynamodb: number; ses: number };
}

const running: ChildProcess[] = [];
// A failed test must not leave a stack running behind it.
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
});

async function npmStart(args: string[]): Promise<Started> {
  const ports = { bus: await freePort(), dynamodb: await freePort(), ses: await freePort() };
  // A process group of its own, as a terminal gives it: Ctrl-C signals the whole group.
  const child = spawn('npm', ['start', '--', ...args], {
    cwd: root,
    detached: true,
    env: { ...process.env, BATON_BUS_PORT: String(ports.bus), BATON_DYNAMODB_PORT: String(ports.dynamodb), BATON_SES_PORT: String(ports.ses) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  return { child, output: () => output, ports };
}

async function waitFor(started: Started, text: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!started.output().includes(text)) {
    if (started.child.exitCode !== null) throw new Error(`npm start exited early:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`no "${text}" within ${timeoutMs} ms:\n${started.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const exited = (child: ChildProcess) => new Promise<number | null>((ok) => (child.exitCode !== null ? ok(child.exitCode) : child.once('exit', (code) => ok(code))));

function javaOnPort(port: number): string {
  try {
    return execFileSync('pgrep', ['-f', `DynamoDBLocal.*-port ${port}`], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

/** The stack stops within seconds of the signal; a JVM still there after 60 s (a busy machine) was left behind. */
async function noJavaLeft(port: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (javaOnPort(port) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  expect(javaOnPort(port)).toBe('');
}

describe('npm start', () => {
  it('comes up, replays the demo into readable emails, and Ctrl-C leaves no process behind', async () => {
    const started = await npmStart([]);
    // 30 s alone on two cores (the ready line reports it); the suite's other files share the cores.
    await waitFor(started, 'Baton local stack ready', 300_000);
    expect(Number(/ready in ([\d.]+)s/.exec(started.output())?.[1])).toBeGreaterThan(0);
    expect(started.output()).toContain(`bus http://127.0.0.1:${started.ports.bus}`);
    expect(javaOnPort(started.ports.dynamodb)).not.toBe('');
    await waitFor(started, 'demo replayed', 300_000);
    const store = (await (await fetch(`http://127.0.0.1:${started.ports.ses}/store`)).json()) as { emails: { subject: string; body: { html: string } }[] };
    expect(store.emails.length).toBeGreaterThan(5);
    // Personalised: the subject names the customer, nothing is left as a raw Liquid tag.
    expect(store.emails.every((e) => !e.body.html.includes('{{'))).toBe(true);
    expect(started.output()).toMatch(/quarantined [1-9]/);

    process.kill(-started.child.pid!, 'SIGINT');
    await exited(started.child);
    await noJavaLeft(started.ports.dynamodb);
  }, 900_000);

  it('starts empty with --no-demo and stops everything on SIGTERM to npm alone', async () => {
    const started = await npmStart(['--no-demo']);
    await waitFor(started, 'listening', 300_000);
    expect(started.output()).not.toContain('demo:');
    const health = await fetch(`http://127.0.0.1:${started.ports.bus}/health`);
    expect(health.status).toBe(200);
    process.kill(started.child.pid!, 'SIGTERM');
    await exited(started.child);
    await noJavaLeft(started.ports.dynamodb);
    expect(started.output()).toContain('stopping the local stack');
  }, 600_000);
});
