// dispatch: the decisions table's stream → send each new outbox message through its channel.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { createDispatch, type DispatchDeps } from '../lib/dispatch.ts';
import { environment, dispatchDeps } from '../lib/adapters/environment.ts';
import { observability } from '../lib/adapters/observability.ts';

export function dispatchHandler(deps?: (o: ReturnType<typeof observability>) => DispatchDeps) {
  const o = observability('dispatch');
  let dispatch: ReturnType<typeof createDispatch> | undefined;
  const processor = new BatchProcessor(EventType.DynamoDBStreams);

  async function record(r: DynamoDBRecord): Promise<void> {
    const image = r.dynamodb?.NewImage ? unmarshall(r.dynamodb.NewImage as never) : undefined;
    // Only outbox messages waiting to be sent; decisions and status updates pass through.
    if (!image || !String(image.sk).startsWith('MSG#') || image.status !== 'pending') return;
    dispatch ??= createDispatch(deps?.(o) ?? dispatchDeps(environment(), o.port));
    const outcome = await dispatch({ pk: String(image.pk), sk: String(image.sk) });
    o.logger.info('message', { decisionId: image.decisionId, channel: image.channel, outcome });
  }

  return middy(async (event: DynamoDBStreamEvent, context: Context) => processPartialResponse(event, record, processor, { context }))
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));
}

export const handler = dispatchHandler();
