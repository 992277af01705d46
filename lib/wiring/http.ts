// The decision API's HTTP face (API Gateway HTTP API, payload 2.0): the routes, the JSON body, every
// answer that is not 200 in the one documented shape `{code, reason}`, and the unsubscribe pages.
// Middy's own middlewares normalise the header names, parse the JSON body and render the errors;
// the use cases (lib/app/decision-api.ts, lib/app/unsubscribe.ts) know nothing of HTTP.
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { BatonError } from '../contract/errors.ts';
import { createDecisionApi, parseDecisionRequest, type DecisionApiDeps, type DecisionProblem } from '../app/decision-api.ts';
import { createUnsubscribe } from '../app/unsubscribe.ts';

type Event = APIGatewayProxyEventV2;
type Result = APIGatewayProxyStructuredResultV2;
export type HttpHandler = (event: Event, context: Context) => Promise<Result>;

// The same paths as the cloud's routes (infra/constructs/api.ts).
export const DECISIONS_PATH = '/v1/decisions';
export const UNSUBSCRIBE_PATH = '/unsubscribe';
/** The largest request body the decision API reads; a request is a few hundred bytes. */
export const MAX_BODY_BYTES = 8 * 1024;

/** An answer that is not 200: a string code and a reason a caller can act on. Never personal data. */
export interface HttpProblem {
  readonly status: number;
  readonly code: string;
  readonly reason: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A problem thrown for middy's error handler to render: `statusCode`, `headers` and, as the
 * message, the `{code, reason}` body.
 */
export class ProblemError extends BatonError {
  readonly statusCode: number;
  readonly expose = true;
  readonly headers: Record<string, string>;
  constructor(problem: HttpProblem, options?: { cause?: unknown }) {
    super(problem.code, JSON.stringify({ code: problem.code, reason: problem.reason }), options);
    this.statusCode = problem.status;
    this.headers = { 'cache-control': 'no-store', ...problem.headers };
  }
}

const STATUS: Record<DecisionProblem['code'], number> = { 'invalid-request': 400, 'unknown-customer': 404, 'request-id-reused': 409 };

const tooLarge = (): ProblemError => new ProblemError({ status: 413, code: 'too-large', reason: `request body is over ${MAX_BODY_BYTES} bytes` });

/** Refuses a body over the limit before it is parsed. */
const bodyLimit = (): middy.MiddlewareObj<Event, Result> => ({
  before: async ({ event }) => {
    const bytes = event.body ? Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : 0;
    if (bytes > MAX_BODY_BYTES) throw tooLarge();
  },
});

/** Every error as a problem: the body parser's in Baton's codes, any other a fault the caller may retry. */
const asProblems = (): middy.MiddlewareObj<Event, Result> => ({
  onError: async (request) => {
    const err: unknown = request.error;
    if (err instanceof ProblemError) return;
    if ((err as { cause?: { package?: unknown } } | undefined)?.cause?.package === '@middy/http-json-body-parser') {
      // The parser answers 415 for both: a media type it does not read, and a body that is not JSON.
      const type = String(request.event.headers?.['content-type'] ?? '');
      request.error =
        (err as Error).message === 'Unsupported Media Type'
          ? new ProblemError({ status: 415, code: 'unsupported-media-type', reason: `content-type is "${type.slice(0, 64)}"; expected application/json` })
          : new ProblemError({ status: 400, code: 'invalid-json', reason: 'request body is not JSON; expected {"customer": {"kind": "crmId", "value": "..."}, "channel": "web"}' });
      return;
    }
    // A fault (DynamoDB unavailable, throttled, concurrent updates): the caller may retry.
    const name = err instanceof Error ? err.name : 'Error';
    request.error = new ProblemError(
      { status: 503, code: 'unavailable', reason: `could not answer now (${name}); retry with the same requestId`, headers: { 'retry-after': '1' } },
      { cause: err },
    );
  },
});

/** The middlewares of every route; errors are answered, never logged here (a parser error holds the body). */
function route(handler: (event: Event) => Promise<Result>): middy.MiddyfiedHandler<Event, Result> {
  // The handler (functions/decisions-api.ts) has its own middy for the Lambda timeout and logs.
  return middy<Event, Result>({ timeoutEarlyInMillis: 0 })
    .use(httpHeaderNormalizer({ defaultHeaders: { 'content-type': 'application/json' } })) // no content-type: read as JSON
    .use(httpErrorHandler({ logger: false }))
    .use(asProblems())
    .handler(handler);
}

const json = (status: number, value: unknown): Result => ({
  statusCode: status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(value),
});

export function decisionsHttp(deps: DecisionApiDeps): HttpHandler {
  const decide = createDecisionApi(deps);
  const unsubscribe = createUnsubscribe(deps);

  const decisions = route(async (event) => {
    const parsed = parseDecisionRequest(event.body as unknown);
    const out = parsed.ok ? await decide(parsed.request) : ({ status: 'refused', problem: parsed.problem } as const);
    if (out.status === 'refused') throw new ProblemError({ status: STATUS[out.problem.code], ...out.problem });
    return json(200, out.answer);
  })
    .use(bodyLimit())
    .use(httpJsonBodyParser());

  const unsubscribing = route(async (event) => {
    const token = event.queryStringParameters?.t ?? '';
    const claim = unsubscribe.check(token);
    if (!claim) {
      return page(400, 'This unsubscribe link is not valid', 'The link may be incomplete. Copy the whole link from the e-mail, or reply to it and ask us to unsubscribe you.');
    }
    const method = event.requestContext.http.method;
    if (method === 'GET' || method === 'HEAD') {
      const form = `<form method="post" action="?t=${encodeURIComponent(token)}"><button type="submit">Unsubscribe</button></form>`;
      return page(200, 'Unsubscribe?', `You will no longer receive our ${claim.channel} offers.`, form);
    }
    if (method !== 'POST') {
      throw new ProblemError({ status: 405, code: 'method-not-allowed', reason: 'use GET to see the page or POST to unsubscribe', headers: { allow: 'GET, POST' } });
    }
    // RFC 8058: the POST carries "List-Unsubscribe=One-Click"; a form post from the page carries nothing.
    const out = await unsubscribe.unsubscribe(claim);
    if (out.status === 'unsubscribed') return page(200, 'You are unsubscribed', `You will no longer receive our ${out.channel} offers.`);
    return page(200, 'You are unsubscribed', out.held === 'no-data' ? 'We hold no data to send you offers.' : 'We hold no address to send you offers.');
  });

  const unrouted = route(async (event) => {
    const method = event.requestContext.http.method;
    const path = pathOf(event);
    // The path is not echoed: a mistyped one can carry an email or an id.
    if (path !== DECISIONS_PATH) throw new ProblemError({ status: 404, code: 'not-found', reason: `no such route; expected POST ${DECISIONS_PATH}` });
    throw new ProblemError({ status: 405, code: 'method-not-allowed', reason: `${method} is not allowed on ${DECISIONS_PATH}; expected POST`, headers: { allow: 'POST' } });
  });

  return (event, context) => {
    const path = pathOf(event);
    if (path === UNSUBSCRIBE_PATH) return unsubscribing(event, context);
    if (path === DECISIONS_PATH && event.requestContext.http.method === 'POST') return decisions(event, context);
    return unrouted(event, context);
  };
}

const pathOf = (event: Event): string => event.rawPath.replace(/\/+$/, '') || '/';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(status: number, title: string, text: string, extra = ''): Result {
  return {
    statusCode: status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' },
    body: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${extra}</body></html>`,
  };
}
