// What every part of the CLI shares and what the command tree needs before any command loads:
// exit codes, the usage error, flags, and printing a result as text or JSON.

/** What `baton` exits with; `baton --help` lists them. */
export const EXIT = {
  /** Done. */
  ok: 0,
  /** Done, and what was asked for is not so: invalid items (nothing written), not found, an entry refused, a conflict. */
  problem: 1,
  /** The command line is wrong: unknown command, option or value, a missing argument, an unreadable file. */
  usage: 2,
  /** Could not finish: Baton or AWS unreachable (is `npm start` running?), or AWS refused the call. */
  failed: 3,
} as const;

/** A user error: printed as one line, exit code 2. */
export class UsageError extends Error {}

export interface TargetFlags {
  endpoint?: string | undefined;
  region?: string | undefined;
  stage?: string | undefined;
  cloud?: boolean | undefined;
  bus?: string | undefined;
}

/** The global flags and the command's own options (commander's `optsWithGlobals()`). */
export type CliFlags = TargetFlags & { json?: boolean | undefined } & Record<string, string | boolean | undefined>;

/** Where a command writes: `out` is stdout (with --json, one JSON document and nothing else), `err` is stderr. */
export interface Printer {
  readonly out: (line: string) => void;
  readonly err?: (line: string) => void;
}

export const console_: Required<Printer> = {
  out: (line) => void process.stdout.write(`${line}\n`),
  err: (line) => void process.stderr.write(`${line}\n`),
};

/** Prints a result: as one JSON document with --json, else as the lines `text` makes of it. */
export function report<T>(flags: { json?: boolean | undefined }, p: Printer, value: T, text: (value: T) => string[]): void {
  if (flags.json) p.out(JSON.stringify(value, null, 2));
  else for (const line of text(value)) p.out(line);
}

