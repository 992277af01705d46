// The daily loyalty expiry run (docs/loyalty.md), started by EventBridge Scheduler once a day
// (infra/constructs/loyalty.ts): every programme writes off the lots due and publishes
// PointsExpiring for those due within its warning days. Each posting applies once, so a retried
// or overlapping run changes nothing twice.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { parseSettings } from '../lib/contract/config.ts';
import { loyaltyExpiryDeps } from '../lib/wiring/loyalty.ts';
import { awsClients } from '../lib/wiring/clients.ts';
import { observability } from '../lib/wiring/observability.ts';

const o = observability('loyalty-expiry');
export const handler = middy(async function expire() {
  const settings = parseSettings(process.env);
  const clients = awsClients(settings.aws);
  const { loyalty, programmeIds } = loyaltyExpiryDeps({
    db: clients.dynamodb(), bus: clients.bus(), tables: settings.tables, busName: settings.busName, metrics: o.port,
    onRejected: (r) => o.logger.warn('loyalty item skipped', { programmeId: r.programmeId, item: r.sk, reason: r.reason }),
  });
  for (const programmeId of await programmeIds()) {
    const report = await loyalty.expire(programmeId);
    o.logger.info('loyalty lots expired', { programmeId, ...report });
  }
})
  .use(injectLambdaContext(o.logger))
  .use(logMetrics(o.metrics));
