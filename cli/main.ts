// `baton`: the operator's and marketer's command line. Local stack by default; --cloud for AWS.
// Each command is a module in cli/commands/ exporting `command = { name, usage, run }`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, type CliFlags } from './io.ts';

export interface Command {
  readonly name: string;
  readonly usage: string;
  /** Options of its own, beyond the shared ones (node:util parseArgs form). */
  readonly options?: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;
  run(args: string[], flags: CliFlags): Promise<number>;
}

async function commands(): Promise<Command[]> {
  const dir = join(import.meta.dirname, 'commands');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts')).sort();
  return Promise.all(files.map(async (f) => ((await import(join(dir, f))) as { command: Command }).command));
}

function help(all: Command[]): string {
  return `baton <command>\n\n${all.map((c) => `  ${c.usage}`).join('\n')}

Options: --endpoint URL (default: the local stack, bus on http://127.0.0.1:4010, DynamoDB on :8000),
--cloud (your AWS credentials and region), --region R, --bus NAME (default baton; implies --cloud
unless --endpoint is given), --stage S (default local; dev with --cloud), --json`;
}

async function main(argv: string[]): Promise<number> {
  const all = await commands();
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...(Object.assign({}, ...all.map((c) => c.options ?? {})) as Record<string, { type: 'string' }>),
      endpoint: { type: 'string' },
      region: { type: 'string' },
      bus: { type: 'string' },
      stage: { type: 'string' },
      cloud: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [name, ...rest] = positionals;
  if (values.help || !name) {
    console.log(help(all));
    return name || values.help ? 0 : 2;
  }
  const command = all.find((c) => c.name === name);
  if (!command) throw new UsageError(`unknown command "${name}"\n\n${help(all)}`);
  return command.run(rest, values as CliFlags);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(err.message);
      process.exitCode = 2;
      return;
    }
    const detail = `${err.message} ${String((err as { cause?: unknown }).cause ?? '')}`;
    if (/ECONNREFUSED/.test(detail) || (err as { code?: string }).code === 'ECONNREFUSED') {
      console.error('cannot reach Baton: is the local stack running (npm start)? For AWS use --cloud.');
    } else {
      console.error(`baton: ${(err as { name?: string }).name ?? 'Error'}: ${err.message}`);
    }
    process.exitCode = 1;
  },
);
