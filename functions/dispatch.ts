// dispatch: the decisions table's stream → send each new outbox message through its channel.
// The same function reads the held queue: messages quiet hours held, delivered at their time.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { createDispatch, type DispatchDeps } from '../lib/app/dispatch.ts';
import { environment, dispatchDeps } from '../lib/wiring/environment.ts';
import { observability } from '../lib/wiring/observability.ts';

export function dispatchHandler(deps?: (o: ReturnType<typeof observability>) => DispatchDeps) {
  const o = observability('dispatch');
  let dispatch: ReturnType<typeof createDispatch> | undefined;
  const streamProcessor = new BatchProcessor(EventType.DynamoDBStreams);
  const queueProcessor = new BatchProcessor(EventType.SQS);
  const run = async (key: { pk: string; sk: string; notBefore?: string }, decisionId: unknown, channel: unknown) => {
    dispatch ??= createDispatch(deps?.(o) ?? dispatchDeps(environment(), o.port));
    const outcome = await dispatch(key);
    // Ids and outcome codes only: never the address or the content.
    o.logger.info('message', { decisionId, channel, outcome });
    if (outcome === 'held' && !key.notBefore) o.logger.warn('message held without a held queue', { decisionId, channel });
  };

  async function streamRecord(r: DynamoDBRecord): Promise<void> {
    const image = r.dynamodb?.NewImage ? unmarshall(r.dynamodb.NewImage as never) : undefined;
    // Only outbox messages waiting to be sent; decisions, feedback and status updates pass through.
    if (!image || !String(image.sk).startsWith('MSG#') || image.status !== 'pending') return;
    await run(
      { pk: String(image.pk), sk: String(image.sk), ...(typeof image.notBefore === 'string' ? { notBefore: image.notBefore } : {}) },
      image.decisionId,
      image.channel,
    );
  }

  async function heldRecord(r: SQSRecord): Promise<void> {
    const key = JSON.parse(r.body) as { pk?: unknown; sk?: unknown; notBefore?: unknown };
    if (typeof key.pk !== 'string' || typeof key.sk !== 'string') {
      o.logger.error('held message without pk/sk dropped', { messageId: r.messageId });
      return;
    }
    await run({ pk: key.pk, sk: key.sk, ...(typeof key.notBefore === 'string' ? { notBefore: key.notBefore } : {}) }, key.pk.slice(4), key.sk.slice(4));
  }

  return middy(async (event: DynamoDBStreamEvent | SQSEvent, context: Context) =>
    (event.Records[0] as { eventSource?: string } | undefined)?.eventSource === 'aws:sqs'
      ? processPartialResponse(event as SQSEvent, heldRecord, queueProcessor, { context })
      : processPartialResponse(event as DynamoDBStreamEvent, streamRecord, streamProcessor, { context }),
  )
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));
}

export const handler = dispatchHandler();
