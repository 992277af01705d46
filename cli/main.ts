// `baton`: the operator's and marketer's command line. Local stack by default; --cloud for AWS.
import { parseArgs } from 'node:util';
import { exportJsonSchemas } from '../events/json-schema.ts';
import { UsageError } from './io.ts';
import { send } from './send.ts';

const HELP = `baton <command>

  send <file|sample>...         publish events (JSON, JSON array or JSON lines, or a sample name
                                such as baton.pos/SaleCompleted) in batches of 10
  schemas export <dir>          write JSON Schema for every event type in the catalog

Options: --endpoint URL (default: the local bus, http://127.0.0.1:4010), --cloud (use your AWS
credentials and region instead), --region R, --bus NAME (default baton), --stage S, --json`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      endpoint: { type: 'string' },
      region: { type: 'string' },
      bus: { type: 'string' },
      stage: { type: 'string' },
      cloud: { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(HELP);
    return command || values.help ? 0 : 2;
  }
  switch (command) {
    case 'send':
      return send(rest, values);
    case 'schemas': {
      const [sub, dir] = rest;
      if (sub !== 'export' || !dir) throw new UsageError('usage: baton schemas export <dir>');
      const files = exportJsonSchemas(dir);
      console.log(`wrote ${files.length} JSON Schemas to ${dir}`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command "${command}"\n\n${HELP}`);
  }
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
    const name = (err as { name?: string }).name;
    if (name === 'TimeoutError' || (err as { code?: string }).code === 'ECONNREFUSED' || /ECONNREFUSED/.test(String((err as { cause?: unknown }).cause ?? err.message))) {
      console.error(`cannot reach Baton (${err.message}); is the local stack running (npm start)? For AWS use --cloud.`);
    } else {
      console.error(`baton: ${name ?? 'Error'}: ${err.message}`);
    }
    process.exitCode = 1;
  },
);
