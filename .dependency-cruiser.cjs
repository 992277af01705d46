// The house rules: each wing imports only the wings below it. `npm test` runs this
// (test/unit/layout.test.ts); `npx depcruise -c .dependency-cruiser.cjs events lib functions infra local cli bench`
// prints the same report. Wings, bottom to top:
//   events/ (the catalog) ← lib/contract ← lib/core ← lib/app (use cases; ports in lib/app/ports.ts)
//   ← lib/adapters ← lib/wiring ← functions/, local/, cli/, bench/;   infra/ (the cloud) reads only
//   events/ and lib/contract.
/** @type {import('dependency-cruiser').IConfiguration} */
const above = (...wings) => `^(${wings.join('|')})/`;
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'A circle ties its modules into one: cut it by moving the shared value down a wing.', from: {}, to: { circular: true } },
    { name: 'events-is-the-floor', severity: 'error', comment: 'The event catalog depends on nothing of Baton.', from: { path: '^events/' }, to: { path: above('lib', 'functions', 'infra', 'local', 'cli', 'bench', 'test') } },
    { name: 'contract-below-core', severity: 'error', comment: 'lib/contract holds names and settings only: it may import the catalog and nothing above.', from: { path: '^lib/contract/' }, to: { path: '^(lib/(core|app|adapters|wiring)|functions|infra|local|cli|bench|test)/' } },
    { name: 'core-below-app', severity: 'error', comment: 'lib/core is the pure domain: it may not import use cases, adapters, wiring or entry points.', from: { path: '^lib/core/' }, to: { path: '^(lib/(app|adapters|wiring)|functions|infra|local|cli|bench|test)/' } },
    { name: 'core-does-no-io', severity: 'error', comment: 'lib/core does no I/O: no AWS SDK, middy, Powertools, file, network or process modules.', from: { path: '^lib/core/' }, to: { path: '(^|/)node_modules/(@aws-sdk|@middy|@aws-lambda-powertools)/|^(node:)?(fs|fs/promises|http|https|net|child_process|dgram|dns|worker_threads)$', dependencyTypesNot: ['type-only'] } },
    { name: 'app-below-adapters', severity: 'error', comment: 'Use cases talk to the world through the ports in lib/app/ports.ts, never through an adapter.', from: { path: '^lib/app/' }, to: { path: '^(lib/(adapters|wiring)|functions|infra|local|cli|bench|test)/' } },
    { name: 'app-no-sdk', severity: 'error', comment: 'Use cases reach AWS only through ports.', from: { path: '^lib/app/' }, to: { path: '(^|/)node_modules/(@aws-sdk|@middy|@aws-lambda-powertools)/', dependencyTypesNot: ['type-only'] } },
    { name: 'adapters-implement-ports-only', severity: 'error', comment: 'An adapter implements a port (lib/app/ports.ts); it never calls a use case.', from: { path: '^lib/adapters/' }, to: { path: '^lib/app/', pathNot: '^lib/app/ports\\.ts$' } },
    { name: 'adapters-below-wiring', severity: 'error', comment: 'Adapters are built by the wiring, not the other way round.', from: { path: '^lib/adapters/' }, to: { path: '^(lib/wiring|functions|infra|local|cli|bench|test)/' } },
    { name: 'lib-below-entry-points', severity: 'error', comment: 'lib/ never imports a handler, a stack, the CLI, a benchmark or a test.', from: { path: '^lib/' }, to: { path: '^(functions|infra|local|cli|bench|test)/' } },
    { name: 'handlers-are-thin', severity: 'error', comment: 'A handler calls the wiring and a use case; adapters and the core come through the wiring.', from: { path: '^functions/' }, to: { path: '^(lib/(adapters|core)|infra|local|cli|bench|test)/' } },
    { name: 'cloud-reads-contract-only', severity: 'error', comment: 'The CDK stack shares names, routes and tables with the code (lib/contract) and nothing else.', from: { path: '^infra/' }, to: { path: '^(lib/(core|app|adapters|wiring)|functions|local|cli|bench|test)/' } },
    { name: 'laptop-apart-from-cloud', severity: 'error', comment: 'The local stack and the CDK stack have no import tie.', from: { path: '^(local|cli|bench)/' }, to: { path: '^infra/' } },
    { name: 'no-test-imports', severity: 'error', comment: 'Only tests import test support.', from: { path: '^(events|lib|functions|infra|local|cli|bench)/' }, to: { path: '^test/' } },
    { name: 'console-is-a-browser-app', severity: 'error', comment: 'The console front end talks to its API over HTTP: it imports nothing of Baton but lib/contract types.', from: { path: '^console/' }, to: { path: '^(events|lib/(core|app|adapters|wiring)|functions|infra|local|cli|bench|test)/' } },
    { name: 'console-contract-types-only', severity: 'error', comment: 'Only types from lib/contract: its modules read process.env and zod, which the browser bundle does not need.', from: { path: '^console/' }, to: { path: '^lib/contract/', dependencyTypesNot: ['type-only'] } },
    { name: 'nothing-imports-the-console', severity: 'error', comment: 'The console is served as files (local/console.ts bundles it by path), never imported.', from: { path: '^(events|lib|functions|infra|local|cli|bench)/' }, to: { path: '^console/' } },
    { name: 'aws-sdk-in-adapters', severity: 'error', comment: 'AWS clients live in lib/adapters (built by lib/wiring); the rest of lib/ sees ports.', from: { path: '^lib/(contract|core|app)/' }, to: { path: '(^|/)node_modules/@aws-sdk/' } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk\\.out)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
