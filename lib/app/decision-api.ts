// The decision API, for inbound channels (call centre, website, app, POS till): "what do we offer
// this customer now?". `POST /v1/decisions` resolves the customer from any external id, evaluates
// the rules whose `when` matches the request (source `baton.api`, detail-type `OfferRequested`,
// detail `{ channel, context }`), arbitrates them under the same contact policy as outbound
// messages (lib/core/decide.ts), records the decision and the offers presented (as contacts, in one
// version-checked commit, so caps and rule limits count them), and answers with the offers and
// every candidate's reason. Bad requests get a 4xx with a reason; faults a 503, never a 500.
//
// The same module serves the one-click unsubscribe (RFC 8058) of the links in e-mails:
// `GET /unsubscribe?t=` shows a confirmation page, `POST /unsubscribe?t=` withdraws consent by
// publishing a `ConsentChanged` (via `unsubscribe-link`) through the bus.
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ID_KINDS, SOURCES, type Channel } from '../../events/catalog.ts';
import { customerView, recordContact, applyRuleState, type CustomerState } from '../core/customer/index.ts';
import { decide, decisionIdFor, type Candidate, type Decision } from '../core/decide.ts';
import { EMPTY_CAMPAIGN_BOOK } from '../core/campaigns/campaign.ts';
import { type CampaignSource } from './ports.ts';
import { contactHistory, contactKey } from '../core/campaigns/history.ts';
import { idKey } from '../core/customer/identity.ts';
import { verifyUnsubscribe } from '../core/channels/unsubscribe.ts';
import type { CustomerRepository, Metrics, MetricName, RuleSource } from './ports.ts';

/** The source and detail-type rules match for inbound requests. */
export const API_SOURCE = 'baton.api';
export const API_DETAIL_TYPE = 'OfferRequested';
/** Inbound touchpoints a request comes from (the rules' `when` can match on `detail.channel`). */
export const INBOUND_CHANNELS = ['web', 'app', 'call-centre', 'pos', 'kiosk'] as const;
export const MAX_BODY_BYTES = 8 * 1024;

const contextKey = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const decisionRequestSchema = z
  .object({
    customer: z.object({ kind: z.enum(ID_KINDS), value: z.string().min(1).max(254) }).strict(),
    channel: z.enum(INBOUND_CHANNELS),
    /** What the touchpoint knows about the moment (page, store, basket total...); rules match on it. */
    context: z
      .record(z.string().regex(contextKey, 'keys: a letter, then letters, digits, _ . -, at most 64'), z.union([z.string().max(256), z.number().finite(), z.boolean()]))
      .refine((c) => Object.keys(c).length <= 20, 'at most 20 context fields')
      .default({}),
    /** Makes a retried request safe: the same requestId answers with the decision already made. */
    requestId: z.string().regex(/^[A-Za-z0-9_.:-]{1,128}$/, 'letters, digits, _ . : -, at most 128').optional(),
  })
  .strict();
export type DecisionRequest = z.infer<typeof decisionRequestSchema>;

export interface Offer {
  readonly ruleId: string;
  readonly campaignId: string;
  /** The channel whose consent and caps govern the offer (the rule's `then.channel`). */
  readonly channel: Channel | 'bus';
  readonly offer?: string;
  readonly template?: string;
  readonly action?: string;
  readonly reason: string;
}

export interface DecisionAnswer {
  readonly decisionId: string | null;
  readonly customerId: string;
  readonly offers: Offer[];
  readonly candidates: Pick<Candidate, 'ruleId' | 'campaignId' | 'channel' | 'outcome' | 'reason'>[];
}

export interface DecisionApiDeps {
  readonly customers: CustomerRepository<CustomerState>;
  readonly rules: RuleSource;
  readonly campaigns?: CampaignSource;
  readonly metrics: Metrics;
  /** The stored decision, to answer a repeated requestId. */
  readonly decisions?: { decision(decisionId: string): Promise<{ decision: Record<string, unknown> } | undefined> };
  readonly clock?: () => Date;
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** One-click unsubscribe: the link secret and how to publish the ConsentChanged. */
  readonly unsubscribe?: { secret: string; publish(event: { source: string; 'detail-type': string; detail: unknown }): Promise<void> };
}

export interface HttpRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string | undefined>>;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body: string;
}
export interface HttpResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/** An answer that is not 200: a string code and a reason a caller can act on. Never personal data. */
export interface ApiProblem {
  readonly status: number;
  readonly code: string;
  readonly reason: string;
}

const json = (status: number, value: unknown): HttpResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify(value),
});
const problem = (p: ApiProblem, extra: Record<string, string> = {}): HttpResponse => {
  const r = json(p.status, { code: p.code, reason: p.reason });
  return { ...r, headers: { ...r.headers, ...extra } };
};

/** Fault while answering: the caller may retry. */
export class DecisionApiError extends Error {
  override readonly name = 'DecisionApiError';
}

export function createDecisionApi(deps: DecisionApiDeps): (req: HttpRequest) => Promise<HttpResponse> {
  const clock = deps.clock ?? (() => new Date());
  const maxAttempts = deps.maxAttempts ?? 6;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const count = (name: MetricName, n = 1) => deps.metrics.count(name, n);

  async function decideFor(request: DecisionRequest, requestHash: string): Promise<DecisionAnswer | ApiProblem> {
    const ref = { kind: request.customer.kind, value: request.customer.value };
    const key = idKey(ref);
    const requestId = request.requestId ?? randomUUID();
    const exhausted = new Set<string>();
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      if (attempt > 1) await sleep(Math.random() * Math.min(500, 10 * 2 ** attempt));
      const resolution = await deps.customers.resolve([ref]);
      const customerId = resolution.links.get(key);
      if (resolution.erased || !customerId) {
        return { status: 404, code: 'unknown-customer', reason: `no customer is known by this ${ref.kind}` };
      }
      const profile = await deps.customers.load(customerId);
      if (!profile) continue; // merged into another profile meanwhile: resolve again
      const now = clock();
      const event = {
        version: '0',
        id: `api-${requestId}`,
        source: API_SOURCE,
        'detail-type': API_DETAIL_TYPE,
        time: now.toISOString(),
        detail: { channel: request.channel, context: request.context },
      };
      const [rules, campaigns] = await Promise.all([deps.rules.current(), deps.campaigns?.current()]);
      const decision = decide({
        event,
        customer: customerView(profile.state, now) as never,
        rules,
        campaigns: campaigns ?? EMPTY_CAMPAIGN_BOOK,
        contacts: contactHistory(profile.state.contacts),
        now,
        exhausted,
      });
      if (!decision) return { decisionId: null, customerId, offers: [], candidates: [] };
      const presented = decision.candidates.filter((c) => c.outcome === 'chosen' || c.outcome === 'deferred');
      // The inbound channel presents the offers itself: nothing goes to the outbox.
      const recorded: Decision = { ...decision, messages: [] };
      let state = profile.state;
      if (Object.keys(decision.setState).length) state = applyRuleState(state, decision.setState, decision.at, event.id);
      for (const c of presented) {
        if (c.channel === 'bus') continue;
        state = recordContact(state, { channel: c.channel, decisionId: contactKey(decision.decisionId, c.channel, c.ruleId), at: decision.at, campaignId: c.campaignId });
      }
      const result = await deps.customers.commit({
        eventId: event.id,
        payloadHash: requestHash,
        customerId,
        expectedVersion: profile.version,
        state,
        identities: profile.identities,
        newLinks: [],
        mergedAway: [],
        decision: recorded,
        ...(decision.reservations?.length ? { reservations: decision.reservations } : {}),
      });
      if (result.status === 'committed') {
        count('OffersPresented', presented.length);
        return answer(decision, customerId, presented);
      }
      if (result.status === 'duplicate') {
        if (!result.samePayload) {
          return { status: 409, code: 'request-id-reused', reason: 'this requestId was already used for a different request; use a new requestId' };
        }
        const stored = await deps.decisions?.decision(decisionIdFor(customerId, event.id));
        const candidates = (stored?.decision.candidates ?? []) as Candidate[];
        return answerFrom(String(stored?.decision.decisionId ?? decisionIdFor(customerId, event.id)), customerId, candidates, decision);
      }
      if (result.on === 'reservation') exhausted.add(result.key);
    }
    throw new DecisionApiError(`decision for one customer could not be committed after ${maxAttempts} attempts (concurrent updates)`);
  }

  async function unsubscribe(req: HttpRequest): Promise<HttpResponse> {
    const token = req.query.t ?? '';
    const claim = deps.unsubscribe ? verifyUnsubscribe(token, deps.unsubscribe.secret) : undefined;
    if (!deps.unsubscribe || !claim) {
      return page(400, 'This unsubscribe link is not valid', 'The link may be incomplete. Copy the whole link from the e-mail, or reply to it and ask us to unsubscribe you.');
    }
    if (req.method === 'GET' || req.method === 'HEAD') {
      return page(
        200,
        'Unsubscribe?',
        `You will no longer receive our ${claim.channel} offers.`,
        `<form method="post" action="?t=${encodeURIComponent(token)}"><button type="submit">Unsubscribe</button></form>`,
      );
    }
    if (req.method !== 'POST') return problem({ status: 405, code: 'method-not-allowed', reason: 'use GET to see the page or POST to unsubscribe' }, { allow: 'GET, POST' });
    // RFC 8058: the POST carries "List-Unsubscribe=One-Click"; a form post from the page carries nothing.
    const profile = await deps.customers.load(claim.customerId);
    if (!profile || profile.state.erased) return page(200, 'You are unsubscribed', 'We hold no data to send you offers.');
    const ids = idsForEvent(profile.identities);
    if (!ids) return page(200, 'You are unsubscribed', 'We hold no address to send you offers.');
    await deps.unsubscribe.publish({
      source: SOURCES.crm,
      'detail-type': 'ConsentChanged',
      detail: { ids, occurredAt: clock().toISOString(), channel: claim.channel, granted: false, via: 'unsubscribe-link', decisionId: claim.decisionId },
    });
    count('Unsubscribes');
    return page(200, 'You are unsubscribed', `You will no longer receive our ${claim.channel} offers.`);
  }

  return async function handle(req) {
    try {
      const path = req.path.replace(/\/+$/, '') || '/';
      if (path === '/unsubscribe') return await unsubscribe(req);
      if (path !== '/v1/decisions') return problem({ status: 404, code: 'not-found', reason: `no route ${req.method} ${path}; expected POST /v1/decisions` });
      if (req.method !== 'POST') return problem({ status: 405, code: 'method-not-allowed', reason: `${req.method} is not allowed on /v1/decisions; expected POST` }, { allow: 'POST' });
      const type = req.headers['content-type'] ?? '';
      if (type && !/^application\/json\b/i.test(type)) {
        return problem({ status: 415, code: 'unsupported-media-type', reason: `content-type is "${type.slice(0, 64)}"; expected application/json` });
      }
      if (Buffer.byteLength(req.body) > MAX_BODY_BYTES) {
        return problem({ status: 413, code: 'too-large', reason: `request body is over ${MAX_BODY_BYTES} bytes` });
      }
      let raw: unknown;
      try {
        raw = JSON.parse(req.body);
      } catch {
        return problem({ status: 400, code: 'invalid-json', reason: 'request body is not JSON; expected {"customer": {"kind": "crmId", "value": "..."}, "channel": "web"}' });
      }
      const parsed = decisionRequestSchema.safeParse(raw);
      if (!parsed.success) {
        // Names the field and what was expected; never echoes the value (it may be personal data).
        const reason = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
        return problem({ status: 400, code: 'invalid-request', reason });
      }
      count('DecisionRequests');
      const hash = createHash('sha256').update(JSON.stringify(parsed.data)).digest('base64url');
      const out = await decideFor(parsed.data, hash);
      return 'status' in out ? problem(out) : json(200, out);
    } catch (err) {
      // A fault (DynamoDB unavailable, throttled, concurrent updates): the caller may retry.
      return problem({ status: 503, code: 'unavailable', reason: `could not answer now (${(err as Error).name}); retry with the same requestId` }, { 'retry-after': '1' });
    }
  };
}

function answer(decision: Decision, customerId: string, presented: Candidate[]): DecisionAnswer {
  return answerFrom(decision.decisionId, customerId, decision.candidates, decision, presented);
}

/** Offers from candidates; the rule's action (offer, template) comes from the decision's rules. */
function answerFrom(decisionId: string, customerId: string, candidates: readonly Candidate[], fresh: Decision, presented?: Candidate[]): DecisionAnswer {
  const shown = presented ?? candidates.filter((c) => c.outcome === 'chosen' || c.outcome === 'deferred');
  const actions = actionsOf(fresh);
  return {
    decisionId,
    customerId,
    offers: shown.map((c) => ({
      ruleId: c.ruleId,
      campaignId: c.campaignId,
      channel: c.channel,
      ...actions.get(c.ruleId),
      reason: c.outcome === 'deferred' ? 'ranked highest for its channel; quiet hours hold outbound messages only, the customer asked now' : c.reason,
    })),
    candidates: candidates.map((c) => ({ ruleId: c.ruleId, campaignId: c.campaignId, channel: c.channel, outcome: c.outcome, reason: c.reason })),
  };
}

function actionsOf(decision: Decision): Map<string, { offer?: string; template?: string; action?: string }> {
  const out = new Map<string, { offer?: string; template?: string; action?: string }>();
  for (const m of decision.messages) {
    out.set(m.ruleId, { ...(m.offer ? { offer: m.offer } : {}), ...(m.template ? { template: m.template } : {}), ...(m.action ? { action: m.action } : {}) });
  }
  return out;
}

/** One external id of the profile for the ConsentChanged event (the CRM's id first). */
function idsForEvent(identities: readonly string[]): Record<string, string> | undefined {
  for (const kind of ['crmId', 'email', 'loyaltyCard', 'licenseId', 'deviceId'] as const) {
    const found = identities.find((i) => i.startsWith(`${kind}#`));
    if (found) return { [kind]: found.slice(kind.length + 1) };
  }
  return undefined;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
function page(status: number, title: string, text: string, extra = ''): HttpResponse {
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'x-frame-options': 'DENY' },
    body: `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>${extra}</body></html>`,
  };
}
