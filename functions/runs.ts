// Outbound runs in the cloud (infra/constructs/runs.ts, docs/campaigns.md):
//   starter  every minute (EventBridge Scheduler): due runs → the run queue
//   worker   the run queue (SQS): takes the run's lease and works on it until its Lambda's time is
//            nearly up (checkpoint per page); the next minute's copy carries on from the checkpoint
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseSettings } from '../lib/contract/config.ts';
import { createRuns, startDueRuns } from '../lib/app/runs.ts';
import { runDeps, runStarterDeps } from '../lib/wiring/runs.ts';
import { once } from '../lib/wiring/once.ts';
import { observability } from '../lib/wiring/observability.ts';

/** The run queue's URL (infra/constructs/runs.ts sets it on the starter). */
export const RUN_QUEUE_ENV = 'BATON_RUN_QUEUE_URL';
/** Left for the last page and the lease's release before Lambda stops the worker. */
const MARGIN_MS = 90_000;

const starterObservability = observability('run-starter');
export const starter = middy(async function starter() {
  const url = process.env[RUN_QUEUE_ENV];
  if (!url) throw new Error(`${RUN_QUEUE_ENV} is not set; expected the run queue's URL`);
  const due = await startDueRuns(runStarterDeps(parseSettings(process.env), url));
  starterObservability.logger.info('runs handed to the workers', { runs: due.length });
})
  .use(injectLambdaContext(starterObservability.logger))
  .use(logMetrics(starterObservability.metrics));

const workerObservability = observability('run-worker');
const runs = once(async () => createRuns(runDeps(parseSettings(process.env), { port: workerObservability.port, logger: workerObservability.logger }, { concurrency: 16, parallelBuckets: 16 })));
const processor = new BatchProcessor(EventType.SQS);
export const worker = middy(async function worker(event: SQSEvent, context: Context) {
  const work = await runs();
  return processPartialResponse(
    event,
    async (r: SQSRecord) => {
      const { runId } = JSON.parse(r.body) as { runId: string };
      const run = await work.work(runId, { holder: context.awsRequestId, leaseMs: 120_000, deadlineMs: Date.now() + context.getRemainingTimeInMillis() - MARGIN_MS });
      workerObservability.logger.info('run worked on', { runId, state: run?.state ?? 'not-found' });
    },
    processor,
    { context },
  );
})
  .use(injectLambdaContext(workerObservability.logger))
  .use(logMetrics(workerObservability.metrics));
