// Everything a piece of code writes to stdout, stderr and the console, kept from the terminal.
import { inspect } from 'node:util';

/** Everything written to stdout, stderr and the console while `fn` runs; nothing reaches the terminal. */
export async function capture<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
  const lines: string[] = [];
  const keep = (chunk: unknown) => lines.push(typeof chunk === 'string' ? chunk : Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
  const originals = { out: process.stdout.write, err: process.stderr.write };
  const methods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const consoleOriginals = methods.map((m) => console[m]);
  process.stdout.write = ((chunk: unknown) => (keep(chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => (keep(chunk), true)) as typeof process.stderr.write;
  // As the console would print them, but whole: an error with its message, stack, cause and own fields.
  const whole = (a: unknown) => (typeof a === 'string' ? a : inspect(a, { depth: Infinity, breakLength: Infinity, maxArrayLength: Infinity, maxStringLength: Infinity }));
  for (const m of methods) console[m] = (...args: unknown[]) => keep(args.map(whole).join(' '));
  try {
    return { result: await fn(), lines };
  } finally {
    process.stdout.write = originals.out;
    process.stderr.write = originals.err;
    methods.forEach((m, i) => (console[m] = consoleOriginals[i]!));
  }
}
