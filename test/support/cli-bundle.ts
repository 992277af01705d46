// The `baton` CLI built once per test run, so each of the suite's few hundred CLI runs starts in
// about half the time: tsx compiles and Node resolves some 2,000 modules on every start otherwise.
// It is the same source, bundled by esbuild; test/integration/cli.test.ts still runs bin/baton.js,
// the entry a user runs, so the bundle never stands in for it unproved.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = join(import.meta.dirname, '..', '..');

// Source files find their neighbours (package.json, events/samples, examples/) from their own
// location; inside a bundle import.meta would name the bundle's, so each file keeps its own.
const ownLocation: Plugin = {
  name: 'own-location',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      if (args.path.includes(`${join('node_modules', '')}`)) return undefined;
      const source = readFileSync(args.path, 'utf8')
        .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path)))
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href));
      return { contents: source, loader: 'ts' };
    });
  },
};

/** Builds the CLI into a fresh folder and answers the path of its entry. */
export async function buildCliBundle(): Promise<string> {
  const outdir = mkdtempSync(join(tmpdir(), 'baton-cli-'));
  await build({
    entryPoints: [join(ROOT, 'cli', 'main.ts')],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outdir,
    logLevel: 'error',
    plugins: [ownLocation],
    // CommonJS dependencies inside an ES module bundle still call require(); the notice is off as bin/baton.js has it.
    banner: {
      js: "import { createRequire as __batonRequire } from 'node:module'; const require = __batonRequire(import.meta.url); process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';",
    },
  });
  return join(outdir, 'main.js');
}
