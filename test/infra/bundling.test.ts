// One real bundle of every handler, exactly as `cdk deploy` builds it (NodejsFunction → local
// esbuild, no Docker), so a broken import fails CI. Each bundle is then loaded to prove it is a
// valid ES module that exports the handler each function is configured with.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { BatonStack } from '../../infra/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
// Inside the repository so the bundles resolve the external @aws-sdk/* from node_modules when loaded.
const OUTDIR = path.join(ROOT, 'cdk.out', `bundling-test-${process.pid}`);

afterAll(() => rmSync(OUTDIR, { recursive: true, force: true }));

describe('handler bundles', () => {
  // esbuild runs once per function (four): generous, as a shared machine can be slow.
  it('bundles every handler in functions/ with esbuild and each loads and exports the configured handler', { timeout: 600_000 }, () => {
    const app = new App({ outdir: OUTDIR, context: { 'aws:cdk:enable-asset-metadata': true } });
    const stack = new BatonStack(app, 'baton-bundling', {
      env: { account: '123456789012', region: 'eu-west-1' },
      senderEmail: 'offers@example.com',
    });
    const assembly = app.synth();
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Type: string; Metadata?: Record<string, string>; Properties: { Handler?: string } }
    >;

    // One asset per handler file; two functions of the same file share it (decisions API, unsubscribe).
    const functions = Object.values(resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => ({ dir: path.join(assembly.directory, r.Metadata!['aws:asset:path']!), handler: r.Properties.Handler!.replace(/^index\./, '') }));
    const handlers = readdirSync(path.join(ROOT, 'functions')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    // Every handler file is deployed by the stack, so every one is bundled here.
    expect(new Set(functions.map((f) => f.dir)).size).toBe(handlers.length);

    for (const { dir, handler } of functions) {
      const bundle = path.join(dir, 'index.mjs');
      expect(existsSync(bundle), bundle).toBe(true);
      // The SDK stays external (the runtime provides it): a bundle this small cannot contain it.
      expect(statSync(bundle).size).toBeLessThan(3_000_000);
      // Load it in plain Node (as Lambda would), not through vitest's transform pipeline.
      const script = `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(typeof m[${JSON.stringify(handler)}]);`;
      const loaded = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: dir,
        env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', AWS_REGION: 'eu-west-1' },
        encoding: 'utf8',
      });
      expect(loaded.trim(), bundle).toBe('function');
    }
  });
});
