// evaluate: SQS batch of bus events → ingest each (validate, state, decide, commit).
// Bad events are quarantined (success for the batch); faults fail only their own record.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { createIngest, type IngestDeps } from '../lib/app/ingest.ts';
import { environment, ingestDeps } from '../lib/wiring/environment.ts';
import { observability } from '../lib/wiring/observability.ts';

export function evaluateHandler(deps?: (o: ReturnType<typeof observability>) => IngestDeps) {
  const o = observability('evaluate');
  let ingest: ReturnType<typeof createIngest> | undefined;
  const processor = new BatchProcessor(EventType.SQS);

  async function record(r: SQSRecord): Promise<void> {
    ingest ??= createIngest(
      deps?.(o) ?? ingestDeps(environment(), o.port, (rej) => o.logger.warn('rule skipped', { ruleId: rej.ruleId, reason: rej.reason })),
    );
    const outcome = await ingest(r.body);
    // Ids and codes only: payloads and reasons about values may hold personal data.
    o.logger.info('event', { messageId: r.messageId, outcome: outcome.status, ...('code' in outcome ? { code: outcome.code } : {}) });
  }

  return middy(async (event: SQSEvent, context: Context) => processPartialResponse(event, record, processor, { context }))
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));
}

export const handler = evaluateHandler();
