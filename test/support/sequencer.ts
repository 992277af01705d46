// Runs the known-longest test files first, so the run does not end on a tail of long files while
// the other worker idles. Vitest's own order needs a results cache (a clean CI clone has none, and
// then it runs the largest files first: npm-start, tour and bundling are small files, so they ran
// last). The seconds below are from a clean-clone run on two cores; keep them roughly current when
// a file becomes slow (the summary reporter prints the slowest files of every run).
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Seconds each slow file took (import + tests) in a two-worker run; files not listed run after these. */
export const SLOW_FILES: Readonly<Record<string, number>> = {
  'test/integration/runs-kill.test.ts': 135,
  'test/integration/limits.test.ts': 106,
  'test/integration/npm-start.test.ts': 88,
  'test/unit/ingest-model.test.ts': 77,
  'test/integration/cli-items.test.ts': 51,
  'test/integration/runs.dynamo.test.ts': 49,
  'test/unit/ingest-extremes-fuzz.test.ts': 47,
  'test/infra/bundling.test.ts': 46,
  'test/integration/erasure-faults.test.ts': 43,
  'test/integration/journeys-local-stack.test.ts': 36,
  'test/integration/ingest-model.dynamo.test.ts': 34,
  'test/infra/stack.test.ts': 32,
  'test/integration/tour.test.ts': 30,
  'test/unit/customer-state.test.ts': 25,
  'test/integration/cli-scripting.test.ts': 22,
  'test/unit/ingest-fuzz.test.ts': 21,
  'test/integration/repository-differential.test.ts': 21,
  'test/integration/cli-agent.test.ts': 20,
  'test/integration/privacy-canary.test.ts': 20,
  'test/integration/local-timers.test.ts': 20,
  'test/e2e/console.test.ts': 18,
};

export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Vitest's order first (a stable base for the files not listed), then the listed ones ahead of it.
    const base = await super.sort(files);
    const seconds = (spec: TestSpecification) => SLOW_FILES[relative(this.ctx.config.root, spec.moduleId).replaceAll('\\', '/')] ?? -1;
    return base
      .map((spec, index) => ({ spec, index, s: seconds(spec) }))
      .sort((a, b) => b.s - a.s || a.index - b.index)
      .map(({ spec }) => spec);
  }
}
