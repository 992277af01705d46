// decisions-api: API Gateway HTTP API (IAM-authorised) → the decision API (lib/app/decision-api.ts)
// through its HTTP face (lib/wiring/http.ts); also the public one-click unsubscribe route. Thin:
// parse the settings and build the deps once, answer, log the status.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parseSettings } from '../lib/contract/config.ts';
import type { DecisionApiDeps } from '../lib/app/decision-api.ts';
import { decisionApiDeps } from '../lib/wiring/environment.ts';
import { decisionsHttp } from '../lib/wiring/http.ts';
import { once } from '../lib/wiring/once.ts';
import { observability, type Observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

export function decisionsApiHandler(
  deps: (o: Observability) => DecisionApiDeps | Promise<DecisionApiDeps> = (o) => decisionApiDeps(parseSettings(process.env), o),
  options: ObservabilityOptions = {},
) {
  const o = observability('decisions-api', options);
  const http = once(async () => decisionsHttp(await deps(o)));

  return middy(async (event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const res = await (await http())(event, context);
    // Status and path only: the body may name a customer.
    o.logger.info('request', { method: event.requestContext.http.method, path: event.rawPath, status: res.statusCode });
    return res;
  })
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));
}

export const handler = decisionsApiHandler();
