import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The real local servers (DynamoDB Local, SES, the local bus) start once for the whole run.
    globalSetup: ['test/global-setup.ts'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: more workers only fight over them with the DynamoDB Local JVM.
    maxWorkers: 2,
    onConsoleLog: () => false,
    reporters: ['default'],
  },
});
