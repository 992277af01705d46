import { defineConfig } from 'vitest/config';
import LongestFirstSequencer from './test/support/sequencer.ts';

// The global setup runs the local stack in this process: keep the SDK's Node 20 notice out of it.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** Pure files (no local servers, no module state shared between files): one module graph per worker. */
const PURE = ['test/unit/**/*.test.ts', 'test/architecture/**/*.test.ts'];

export default defineConfig({
  test: {
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    // Generous: the suite must pass on a shared 2-core machine with both cores kept busy by others.
    // Waits inside tests are progress-based (test/support/local.ts); these only catch a hang.
    testTimeout: 180_000,
    hookTimeout: 300_000,
    teardownTimeout: 120_000,
    // Two cores: more workers only fight over them with the DynamoDB Local JVM.
    maxWorkers: 2,
    // The longest files first (test/support/sequencer.ts): a run then ends on short files, not on a long tail.
    sequence: { sequencer: LongestFirstSequencer },
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'stack',
          include: ['test/**/*.test.ts'],
          exclude: PURE,
          // The real local servers (DynamoDB Local, SES, the local bus) start once for the whole run.
          globalSetup: ['test/global-setup.ts'],
        },
      },
      {
        extends: true,
        // Unit and architecture files share their workers' modules instead of importing zod, the
        // catalog and the core again for every file (each file's own import was most of its time).
        test: { name: 'pure', include: PURE, isolate: false },
      },
    ],
  },
});
