// Destinations (docs/destinations.md): the HTTP API of another system (a CRM, a warehouse loader, a
// webhook) that a bus action names. A destination item says where (URL), how to authenticate (the
// NAME of a Secrets Manager secret, never the secret), how fast (rate limit), how often to retry
// and for how long, and what to send: a Liquid template over the decision and the customer view that
// renders a JSON object. Only what the template names leaves Baton: the template is the data
// minimisation, checked at write (`baton destinations put`) and again at load.
import { Liquid, type Template as LiquidTemplate } from 'liquidjs';
import { z } from 'zod';
import { customerView, newCustomer } from '../customer/index.ts';
import { issues, itemDescription, itemIdSchema, itemId, itemVersion } from '../rules/item.ts';

/** EventBridge API destinations' limits (a connection's invocation rate, a target's retry policy). */
export const DESTINATION_LIMITS = { maxRatePerSecond: 300, maxAttempts: 185, minEventAgeSeconds: 60, maxEventAgeSeconds: 86_400 } as const;
/** What a payload template may read. */
export const PAYLOAD_ROOTS = ['decision', 'customer'] as const;

// A Secrets Manager secret name: letters, digits and /_+=.@- (its ARN is not a name, nor a value).
const secretName = z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'a Secrets Manager secret name (letters, digits, /_+=.@-), not the secret itself');
const header = z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'an HTTP header name such as x-api-key');

const localHost = (u: URL) => u.hostname === '127.0.0.1' || u.hostname === 'localhost';

const engine = new Liquid({ strictFilters: true, ownPropertyOnly: true });
// `json` of a field the customer does not have is `null`, so the payload stays valid JSON.
engine.registerFilter('json', (value: unknown) => JSON.stringify(value ?? null));

/** Problems of a payload template: parse errors, roots other than decision and customer, output that is no JSON object. */
export function payloadIssues(source: string): string[] {
  let tpl: LiquidTemplate[];
  try {
    tpl = engine.parse(source);
  } catch (err) {
    return [`payload: ${(err as Error).message.split('\n')[0]}`];
  }
  const roots = Object.keys(engine.analyzeSync(tpl, { partials: false }).globals);
  const unknown = roots.filter((r) => !(PAYLOAD_ROOTS as readonly string[]).includes(r));
  if (unknown.length) return [`payload: reads ${unknown.join(', ')}; expected only ${PAYLOAD_ROOTS.join(' and ')}`];
  try {
    const out = JSON.parse(engine.renderSync(tpl, sampleContext()));
    if (out === null || typeof out !== 'object' || Array.isArray(out)) return ['payload: renders JSON that is not an object; expected a JSON object'];
  } catch {
    return ['payload: does not render valid JSON; write values as {{ customer.tier | json }}'];
  }
  return [];
}

export const destinationSchema = z
  .object({
    destinationId: itemIdSchema,
    description: itemDescription,
    /** HTTPS; plain HTTP only to this machine (the local stack's webhook stand-in). */
    url: z.url().refine((u) => {
      const url = new URL(u);
      return url.protocol === 'https:' || (url.protocol === 'http:' && localHost(url));
    }, 'an https:// URL (http:// only for localhost)'),
    method: z.enum(['POST', 'PUT', 'PATCH']).default('POST'),
    auth: z.discriminatedUnion('kind', [
      z.object({ kind: z.literal('api-key'), header, secretName }),
      z.object({ kind: z.literal('basic'), secretName }),
    ]),
    rateLimitPerSecond: z.number().int().min(1).max(DESTINATION_LIMITS.maxRatePerSecond),
    retry: z
      .object({
        /** Attempts after the first. */
        maximumAttempts: z.number().int().min(0).max(DESTINATION_LIMITS.maxAttempts).default(3),
        maximumEventAgeSeconds: z.number().int().min(DESTINATION_LIMITS.minEventAgeSeconds).max(DESTINATION_LIMITS.maxEventAgeSeconds).default(3600),
      })
      .prefault({}),
    /** Liquid over `decision` and `customer` rendering a JSON object: the only fields sent. */
    payload: z.string().min(2).max(20_000),
    version: itemVersion,
  })
  .superRefine((d, ctx) => {
    for (const message of payloadIssues(d.payload)) ctx.addIssue({ code: 'custom', path: ['payload'], message: message.replace(/^payload: /, '') });
  });
export type Destination = z.infer<typeof destinationSchema>;
export type DestinationInput = z.input<typeof destinationSchema>;

export type DestinationCheck = { ok: true; destination: Destination } | { ok: false; destinationId: string; reason: string };

/** Validate one destination item; the reason names the field and what was expected, never a value. */
export function checkDestination(item: unknown): DestinationCheck {
  const result = destinationSchema.safeParse(item);
  if (result.success) return { ok: true, destination: result.data };
  return { ok: false, destinationId: itemId(item, 'destinationId'), reason: issues(result.error) };
}

/** What a payload template reads of the decision. */
export interface PayloadDecision {
  readonly decisionId: string;
  readonly ruleId: string;
  readonly campaignId: string;
  readonly action: string;
  /** The rule's own `payload` parameters. */
  readonly payload: Record<string, unknown>;
}

/** The payload one action sends: the template rendered and parsed (a JSON object). */
export async function renderPayload(destination: Destination, context: { decision: PayloadDecision; customer: Record<string, unknown> }): Promise<Record<string, unknown>> {
  const out: unknown = JSON.parse(await engine.parseAndRender(destination.payload, context));
  if (out === null || typeof out !== 'object' || Array.isArray(out)) throw new TypeError(`destination ${destination.destinationId}: the payload is not a JSON object`);
  return out as Record<string, unknown>;
}

function sampleContext(): { decision: PayloadDecision; customer: Record<string, unknown> } {
  return {
    decision: { decisionId: 'dec-sample', ruleId: 'rule-sample', campaignId: 'campaign-sample', action: 'sample', payload: {} },
    customer: customerView(newCustomer('cus-sample'), new Date('2026-06-01T00:00:00.000Z')) as unknown as Record<string, unknown>,
  };
}

/**
 * How a destination answers one delivery: 2xx delivered; 429 and 5xx are retried by the retry
 * policy (as EventBridge API destinations do); any other status will not change and is not retried.
 */
export function deliveryVerdict(status: number): 'delivered' | 'retry' | 'refused' {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 429 || status >= 500) return 'retry';
  return 'refused';
}
