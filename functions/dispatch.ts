// dispatch: the decisions table's stream → send each new outbox message through its channel.
// The same function reads the held queue: messages quiet hours held, delivered at their time.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { parseSettings } from '../lib/contract/config.ts';
import { createDispatch, type DispatchDeps } from '../lib/app/dispatch.ts';
import { dispatchDeps, outboxRef, pendingOutboxMessage, type OutboxRef } from '../lib/wiring/dispatch.ts';
import { once } from '../lib/wiring/once.ts';
import { observability, type Observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

/** On Lambda the settings are the environment, read once on the first event; the local stack passes its own. */
export function dispatchHandler(
  build: (o: Observability) => DispatchDeps | Promise<DispatchDeps> = (o) => dispatchDeps(parseSettings(process.env), o),
  options: ObservabilityOptions = {},
) {
  const o = observability('dispatch', options);
  const dispatch = once(async () => createDispatch(await build(o)));
  const streamProcessor = new BatchProcessor(EventType.DynamoDBStreams);
  const queueProcessor = new BatchProcessor(EventType.SQS);

  async function send(message: OutboxRef): Promise<void> {
    const outcome = await (await dispatch())(message);
    // Ids and outcome codes only: never the address or the content.
    o.logger.info('message', { decisionId: message.decisionId, channel: message.channel, outcome });
    if (outcome === 'held' && !message.notBefore) o.logger.warn('message held without a held queue', { decisionId: message.decisionId, channel: message.channel });
  }

  async function streamRecord(r: DynamoDBRecord): Promise<void> {
    // Only outbox messages waiting to be sent; decisions, feedback and status updates pass through.
    const message = pendingOutboxMessage(r.dynamodb?.NewImage);
    if (message) await send(message);
  }

  async function heldRecord(r: SQSRecord): Promise<void> {
    const message = outboxRef(JSON.parse(r.body));
    if (!message) {
      o.logger.error('held message without an outbox key dropped', { messageId: r.messageId });
      return;
    }
    await send(message);
  }

  return middy(async function dispatchBatch(event: DynamoDBStreamEvent | SQSEvent, context: Context) {
    await dispatch(); // built before the batch: a bad setting fails the invocation with its own message
    return (event.Records[0] as { eventSource?: string } | undefined)?.eventSource === 'aws:sqs'
      ? processPartialResponse(event as SQSEvent, heldRecord, queueProcessor, { context })
      : processPartialResponse(event as DynamoDBStreamEvent, streamRecord, streamProcessor, { context });
  })
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));
}

export const handler = dispatchHandler();
