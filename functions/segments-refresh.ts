// The daily segment refresh (docs/segments.md), started by EventBridge Scheduler once a day
// (infra/constructs/runs.ts): time alone moves customers in and out of segments.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parseSettings } from '../lib/contract/config.ts';
import { refreshSegments } from '../lib/app/segments-refresh.ts';
import { segmentsRefreshDeps } from '../lib/wiring/segments.ts';
import { awsClients } from '../lib/wiring/clients.ts';
import { observability } from '../lib/wiring/observability.ts';

const o = observability('segments-refresh');
export const handler = middy(async function refresh(event: { part?: number; parts?: number } = {}) {
  const settings = parseSettings(process.env);
  const clients = awsClients(settings.aws);
  const report = await refreshSegments(segmentsRefreshDeps({ db: clients.dynamodb(), bus: clients.bus(), tables: settings.tables, busName: settings.busName, metrics: o.port }), {
    ...(event.part !== undefined ? { part: event.part } : {}),
    ...(event.parts !== undefined ? { parts: event.parts } : {}),
  });
  o.logger.info('segments refreshed', { ...report });
})
  .use(injectLambdaContext(o.logger))
  .use(logMetrics(o.metrics));
