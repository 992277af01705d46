// console-api: API Gateway (REST, Cognito user-pool authorizer) → the console's use case
// (lib/app/console.ts). Thin: who calls comes from the claims API Gateway passes after it checked
// the token (requestContext.authorizer.claims; jwt.claims for an HTTP API), never from the body;
// the use case checks what that caller may do. No claims: 401.
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { parseSettings } from '../lib/contract/config.ts';
import { CONSOLE_API_BASE, parseConsoleSettings, TENANT_CLAIM } from '../lib/contract/console.ts';
import type { Caller, ConsoleDeps } from '../lib/app/console.ts';
import { consoleApi, consoleDeps } from '../lib/wiring/console.ts';
import { once } from '../lib/wiring/once.ts';
import { observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

/** What API Gateway passes: a REST API's authorizer claims, or an HTTP API's JWT claims. */
export type ConsoleEvent = Pick<APIGatewayProxyEvent, 'httpMethod' | 'path' | 'body' | 'headers' | 'queryStringParameters'> & {
  readonly requestContext?: { readonly authorizer?: { readonly claims?: Record<string, unknown>; readonly jwt?: { readonly claims?: Record<string, unknown> } } | null };
};

/** `cognito:groups` arrives as a list, "a,b", or "[a b]" depending on the API type. */
function groupsOf(raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw !== 'string') return [];
  return raw.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter(Boolean);
}

/** The caller the claims name; undefined without claims (or without a user in them). */
export function callerOf(event: ConsoleEvent): Caller | undefined {
  const auth = event.requestContext?.authorizer;
  const claims = auth?.claims ?? auth?.jwt?.claims;
  if (!claims) return undefined;
  const user = claims['cognito:username'] ?? claims.username ?? claims.sub;
  if (typeof user !== 'string' || !user) return undefined;
  const tenant = claims[TENANT_CLAIM];
  return { user, groups: groupsOf(claims['cognito:groups']), tenant: typeof tenant === 'string' ? tenant : '' };
}

const json = (status: number, body: unknown): APIGatewayProxyResult => ({
  statusCode: status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(body),
});

export function consoleApiHandler(
  deps: () => ConsoleDeps | Promise<ConsoleDeps> = () => consoleDeps(parseSettings(process.env), parseConsoleSettings(process.env)),
  options: ObservabilityOptions = {},
) {
  const o = observability('console-api', options);
  const api = once(async () => consoleApi(await deps()));
  return middy<ConsoleEvent, APIGatewayProxyResult, Error, Context>()
    .use(injectLambdaContext(o.logger))
    .use(httpHeaderNormalizer())
    .use(httpErrorHandler({ logger: false }))
    .use({
      // The body parser's refusal as a 400 naming what was expected (never the body).
      onError: async (request) => {
        if ((request.error as { cause?: { package?: unknown } } | null)?.cause?.package === '@middy/http-json-body-parser') {
          // Answered here: the error handler would say only "Invalid or malformed JSON".
          request.response = json(400, { code: 'invalid-json', reason: 'body: expected a JSON object' });
          request.error = null;
        }
      },
    })
    .use(httpJsonBodyParser({ disableContentTypeError: true }))
    .handler(async (event) => {
      const path = event.path.startsWith(CONSOLE_API_BASE) ? event.path.slice(CONSOLE_API_BASE.length) || '/' : event.path;
      const query = Object.fromEntries(Object.entries(event.queryStringParameters ?? {}).filter(([, v]) => v !== undefined)) as Record<string, string>;
      const res = await (await api())({ method: event.httpMethod, path, query, body: event.body ?? undefined, caller: callerOf(event) });
      // Status and the route's shape only: paths and bodies may name a customer.
      o.logger.info('request', { method: event.httpMethod, status: res.status });
      return json(res.status, res.body);
    });
}

export const handler = consoleApiHandler();
