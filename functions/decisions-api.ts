// decisions-api: API Gateway HTTP API (IAM-authorised) → the decision API (lib/decision-api.ts);
// also the public one-click unsubscribe route. Thin: map the request, call lib, map the answer.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { createDecisionApi, type DecisionApiDeps } from '../lib/decision-api.ts';
import { environment, ingestDeps } from '../lib/adapters/environment.ts';
import { DynamoDecisionStore } from '../lib/adapters/dynamo/decisions.ts';
import { publishEvents } from '../lib/adapters/publisher.ts';
import { observability } from '../lib/adapters/observability.ts';
import { ENV, clientConfig } from '../lib/config.ts';
import { BUS_NAME } from '../lib/routes.ts';

export function decisionApiDeps(o: ReturnType<typeof observability>, env: NodeJS.ProcessEnv = process.env): DecisionApiDeps {
  const e = environment(env);
  const ingest = ingestDeps(e, o.port, (rej) => o.logger.warn('rule skipped', { ruleId: rej.ruleId, reason: rej.reason }));
  const secret = env[ENV.unsubscribeSecret];
  const bus = new EventBridgeClient(clientConfig(ENV.busEndpoint, env));
  const busName = env[ENV.busName] ?? BUS_NAME;
  return {
    customers: ingest.customers,
    rules: ingest.rules,
    ...(ingest.campaigns ? { campaigns: ingest.campaigns } : {}),
    metrics: o.port,
    decisions: new DynamoDecisionStore(e.db, e.tables.decisions),
    ...(secret
      ? {
          unsubscribe: {
            secret,
            async publish(event) {
              const [result] = await publishEvents(bus, busName, [event]);
              if (!result?.eventId) throw new Error(`the bus refused the ConsentChanged (${result?.errorCode ?? 'unknown'})`);
            },
          },
        }
      : {}),
  };
}

export function decisionsApiHandler(deps?: (o: ReturnType<typeof observability>) => DecisionApiDeps) {
  const o = observability('decisions-api');
  let api: ReturnType<typeof createDecisionApi> | undefined;

  return middy(async (event: APIGatewayProxyEventV2, _context: Context): Promise<APIGatewayProxyStructuredResultV2> => {
    api ??= createDecisionApi(deps?.(o) ?? decisionApiDeps(o));
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
