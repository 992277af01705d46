// aggregates: the decisions table's stream → the report aggregates (lib/app/reports.ts). Each
// record counts once (its eventID marks it), so a retried batch adds nothing twice.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { parseSettings } from '../lib/contract/config.ts';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { DecisionChange, MessageOutcome } from '../lib/app/reports.ts';
import { OUTCOME_METRICS } from '../lib/contract/metrics.ts';
import { aggregatorFor, itemKind } from '../lib/wiring/reports.ts';
import { awsClients } from '../lib/wiring/clients.ts';
import { once } from '../lib/wiring/once.ts';
import { observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

type Image = Parameters<typeof unmarshall>[0];

/** The change a stream record carries, as plain items. */
export function changeOf(r: DynamoDBRecord): DecisionChange {
  const d = r.dynamodb ?? {};
  const newItem = d.NewImage ? unmarshall(d.NewImage as Image) : undefined;
  const oldItem = d.OldImage ? unmarshall(d.OldImage as Image) : undefined;
  return {
    id: r.eventID ?? `${d.SequenceNumber}`,
    kind: itemKind(newItem ?? oldItem),
    newItem,
    oldItem,
    // TTL deletions are the service's; Baton's own deletions (erasure) carry no user identity.
    expired: r.userIdentity?.principalId === 'dynamodb.amazonaws.com',
  };
}

export function aggregatesHandler(build: () => (change: DecisionChange) => Promise<MessageOutcome | undefined> = () => {
  const settings = parseSettings(process.env);
  return aggregatorFor(awsClients(settings.aws).dynamodb(), settings.tables);
}, options: ObservabilityOptions = {}) {
  const o = observability('aggregates', options);
  const aggregate = once(async () => build());
  const processor = new BatchProcessor(EventType.DynamoDBStreams);
  return middy(async function aggregateBatch(event: DynamoDBStreamEvent, context: Context) {
    const run = await aggregate();
    return processPartialResponse(
      event,
      async (r: DynamoDBRecord) => {
        const outcome = await run(changeOf(r));
        if (outcome && options.metrics !== false) emit(outcome);
      },
      processor,
      { context },
    );
  })
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));

  /** Per channel, and per channel and campaign: two dimension sets, so the dashboard can divide per channel. */
  function emit(outcome: MessageOutcome): void {
    for (const [figure, name] of Object.entries(OUTCOME_METRICS)) {
      const value = outcome.counts[figure as keyof typeof OUTCOME_METRICS];
      if (!value) continue;
      const sets: Record<string, string>[] = [{ channel: outcome.channel }, { channel: outcome.channel, campaignId: outcome.campaignId }];
      for (const dims of sets) {
        const single = o.metrics.singleMetric();
        single.addDimensions(dims);
        single.addMetric(name, MetricUnit.Count, value);
      }
    }
  }
}

export const handler = aggregatesHandler();
