// aggregates: the decisions table's stream → the report aggregates (lib/app/reports.ts). Each
// record counts once (its eventID marks it), so a retried batch adds nothing twice.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { parseSettings } from '../lib/contract/config.ts';
import type { DecisionChange } from '../lib/app/reports.ts';
import { aggregatorFor } from '../lib/wiring/reports.ts';
import { awsClients } from '../lib/wiring/clients.ts';
import { once } from '../lib/wiring/once.ts';
import { observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

type Image = Parameters<typeof unmarshall>[0];

/** The change a stream record carries, as plain items. */
export function changeOf(r: DynamoDBRecord): DecisionChange {
  const d = r.dynamodb ?? {};
  return {
    id: r.eventID ?? `${d.SequenceNumber}`,
    newItem: d.NewImage ? unmarshall(d.NewImage as Image) : undefined,
    oldItem: d.OldImage ? unmarshall(d.OldImage as Image) : undefined,
  };
}

export function aggregatesHandler(build: () => (change: DecisionChange) => Promise<void> = () => {
  const settings = parseSettings(process.env);
  return aggregatorFor(awsClients(settings.aws).dynamodb(), settings.tables);
}, options: ObservabilityOptions = {}) {
  const o = observability('aggregates', options);
  const aggregate = once(async () => build());
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return middy(async function aggregateBatch(event: DynamoDBStreamEvent, context: Context) {
    const run = await aggregate();
    return processPartialResponse(event, (r: DynamoDBRecord) => run(changeOf(r)), processor, { context });
  }).use(injectLambdaContext(o.logger));
}

export const handler = aggregatesHandler();
