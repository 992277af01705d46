// decisions-api: API Gateway HTTP API (IAM-authorised) → the decision API (lib/app/decision-api.ts);
// also the public one-click unsubscribe route. Thin: map the request, call lib, map the answer.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { parseSettings } from '../lib/contract/config.ts';
import { createDecisionApi, type DecisionApiDeps } from '../lib/app/decision-api.ts';
import { decisionApiDeps } from '../lib/wiring/environment.ts';
import { once } from '../lib/wiring/once.ts';
import { observability, type Observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

export function decisionsApiHandler(
  deps: (o: Observability) => DecisionApiDeps | Promise<DecisionApiDeps> = (o) => decisionApiDeps(parseSettings(process.env), o),
  options: ObservabilityOptions = {},
) {
  const o = observability('decisions-api', options);
  const built = once(async () => createDecisionApi(await deps(o)));

  return middy(async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    const api = await built();
    const body = event.body ? (event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body) : '';
    const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const res = await api({
      method: event.requestContext.http.method,
      path: event.rawPath,
      query: event.queryStringParameters ?? {},
      headers,
      body,
    });
    // Status and path only: the body may name a customer.
    o.logger.info('request', { method: event.requestContext.http.method, path: event.rawPath, status: res.status });
    return { statusCode: res.status, headers: res.headers, body: res.body };
  })
    .use(injectLambdaContext(o.logger))
    .use(logMetrics(o.metrics));
}

export const handler = decisionsApiHandler();
