// evaluate: SQS batch of bus events → ingest each (validate, state, decide, commit).
// Bad events are quarantined (success for the batch); faults fail only their own record.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseSettings } from '../lib/contract/config.ts';
import { createIngest, type IngestDeps } from '../lib/app/ingest.ts';
import { ingestDeps } from '../lib/wiring/ingest.ts';
import { once } from '../lib/wiring/once.ts';
import { relayTimers } from '../lib/app/journeys.ts';
import { timerRelayDeps, type RelayDeps } from '../lib/wiring/journeys.ts';
import { isSweepMessage } from '../lib/contract/journeys.ts';
import { observability, type Observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

/** On Lambda the settings are the environment, read once on the first event; the local stack passes its own. */
export function evaluateHandler(
  build: (o: Observability) => IngestDeps | Promise<IngestDeps> = (o) => ingestDeps(parseSettings(process.env), o),
  options: ObservabilityOptions = {},
  buildRelay: (o: Observability) => RelayDeps = (o) => timerRelayDeps(parseSettings(process.env), o),
) {
  const o = observability('evaluate', options);
  const ingest = once(async () => createIngest(await build(o)));
  const relay = once(async () => buildRelay(o));
  const processor = new BatchProcessor(EventType.SQS);

  return middy(async function evaluate(event: SQSEvent, context: Context) {
    return processPartialResponse(
      event,
      async function record(r: SQSRecord) {
        // The sweep schedule's message (infra/constructs/journeys.ts): timers a crash or throttle left in the outbox.
        if (isSweepMessage(r.body)) {
          const relayed = await relayTimers(await relay());
          o.logger.info('timer outbox swept', { messageId: r.messageId, relayed });
          return;
        }
        const outcome = await (await ingest())(r.body);
        // Ids and codes only: payloads and reasons about values may hold personal data.
        o.logger.info('event', { messageId: r.messageId, outcome: outcome.status, ...('code' in outcome ? { code: outcome.code } : {}) });
      },
      processor,
      { context },
    );
  })
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));
}

export const handler = evaluateHandler();
