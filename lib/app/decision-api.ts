// The decision API's use case, for inbound channels (call centre, website, app, POS till): "what do
// we offer this customer now?". The customer is resolved from any external id; the rules whose
// `when` matches the request (source `baton.api`, detail-type `OfferRequested`, detail `{ channel,
// context }`) are arbitrated under the same contact policy as outbound messages, and the decision
// and the offers presented (as contacts) are committed in one version-checked transaction, so caps
// and rule limits count them (lib/app/decide-and-commit.ts). A typed request in; an answer with the
// offers and every candidate's reason, or a typed problem, out. HTTP is lib/wiring/http.ts.
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ID_KINDS, type Channel, type IdKind } from '../../events/catalog.ts';
import { payloadHash, idKey, type IdRef } from '../core/customer/identity.ts';
import { decisionIdFor, type Candidate, type Decision } from '../core/decide.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { BatonError } from '../contract/errors.ts';
import { AGAIN, assembleProfile, createDecisionStep, type Attempt } from './decide-and-commit.ts';
import type { CampaignSource, ContextSource, CustomerRepository, Metrics, RuleSource } from './ports.ts';
import type { Loyalty } from './loyalty.ts';
import { statementLine } from '../core/loyalty/ledger.ts';
import { itemIdSchema } from '../core/rules/item.ts';

/** The source and detail-type rules match for inbound requests. */
export const API_SOURCE = 'baton.api';
export const API_DETAIL_TYPE = 'OfferRequested';
/** Inbound touchpoints a request comes from (the rules' `when` can match on `detail.channel`). */
export const INBOUND_CHANNELS = ['web', 'app', 'call-centre', 'pos', 'kiosk'] as const;

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
    /**
     * The member's statement in the answer (docs/loyalty.md): `true` for every programme the
     * customer is in, or the programme ids. Asked for, since most touchpoints do not show it and it
     * costs a read per programme (made alongside the decision's own reads).
     */
    loyalty: z.union([z.literal(true), z.array(itemIdSchema).min(1).max(10)]).optional(),
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
  /** Asked for with `loyalty`: one line per programme the customer is a member of. */
  readonly loyalty?: LoyaltyStatement[];
}

/** A programme's statement in the decision API's answer: "you have 1,240 points, 300 expire on 31 March". */
export interface LoyaltyStatement {
  readonly programmeId: string;
  readonly balance: number;
  readonly currencyName: string;
  readonly tier: string | null;
  /** yyyy-mm-dd (UTC) and points. */
  readonly nextExpiry: { readonly points: number; readonly on: string } | null;
  readonly statement: string;
}

/** Why a request gets no answer: a string code and a reason a caller can act on. Never personal data. */
export interface DecisionProblem {
  readonly code: 'invalid-request' | 'unknown-customer' | 'request-id-reused';
  readonly reason: string;
}

export type DecisionOutcome = { readonly status: 'answered'; readonly answer: DecisionAnswer } | { readonly status: 'refused'; readonly problem: DecisionProblem };

export interface DecisionApiDeps {
  /**
   * Profiles and the identity index. May be a per-process cache (lib/adapters/caching.ts): every
   * answer that reads the profile is backed by a version-checked commit, which a stale entry fails.
   */
  readonly customers: CustomerRepository<CustomerState>;
  /**
   * The identity index read directly, when `customers` is a cache: answers no commit checks (no rule
   * matches, a repeated requestId) resolve the customer through it, so an erased or merged customer
   * is never answered from a stale link.
   */
  readonly identities?: Pick<CustomerRepository<CustomerState>, 'resolve'>;
  readonly rules: RuleSource;
  /** The business context rules read as `context` (docs/context.md). */
  readonly context?: ContextSource;
  readonly campaigns?: CampaignSource;
  readonly metrics: Metrics;
  /** The stored decision, to answer a repeated requestId. */
  readonly decisions?: { decision(decisionId: string): Promise<{ decision: Record<string, unknown> } | undefined> };
  readonly clock?: () => Date;
  readonly maxAttempts?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** One-click unsubscribe (lib/app/unsubscribe.ts): the link secret and how to publish the ConsentChanged. */
  readonly unsubscribe?: { secret: string; publish(event: { source: string; 'detail-type': string; detail: unknown }): Promise<void> };
  /** Balances and next expiries, for a request that asks for `loyalty`. */
  readonly loyalty?: Pick<Loyalty, 'summaries'>;
}

/** Fault while answering (concurrent updates kept winning): the caller may retry. */
export class DecisionApiError extends BatonError<'commit-contention'> {}

/** The request body as a typed request, or why not: names the field and what was expected, never the value. */
export function parseDecisionRequest(body: unknown): { readonly ok: true; readonly request: DecisionRequest } | { readonly ok: false; readonly problem: DecisionProblem } {
  const parsed = decisionRequestSchema.safeParse(body);
  if (parsed.success) return { ok: true, request: parsed.data };
  const reason = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
  return { ok: false, problem: { code: 'invalid-request', reason } };
}

const answered = (answer: DecisionAnswer): DecisionOutcome => ({ status: 'answered', answer });
const refused = (problem: DecisionProblem): DecisionOutcome => ({ status: 'refused', problem });
const unknownCustomer = (kind: IdKind) => refused({ code: 'unknown-customer', reason: `no customer is known by this ${kind}` });
const REUSED = refused({ code: 'request-id-reused', reason: 'this requestId was already used for a different request; use a new requestId' });
const nothingOffered = (customerId: string): DecisionOutcome => answered({ decisionId: null, customerId, offers: [], candidates: [] });

export function createDecisionApi(deps: DecisionApiDeps): (request: DecisionRequest) => Promise<DecisionOutcome> {
  const step = createDecisionStep({
    customers: deps.customers,
    rules: deps.rules,
    ...(deps.campaigns ? { campaigns: deps.campaigns } : {}),
    ...(deps.context ? { context: deps.context } : {}),
    metrics: deps.metrics,
    clock: deps.clock ?? (() => new Date()),
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    maxAttempts: deps.maxAttempts ?? 6,
    maxPauseMs: 500,
  });

  /** The customer the identity index holds now (past any cache), or the problem. */
  async function confirmed(ref: IdRef, customerId: string): Promise<string | DecisionOutcome> {
    if (!deps.identities) return customerId;
    const fresh = await deps.identities.resolve([ref]);
    const now = fresh.links.get(idKey(ref));
    return fresh.erased || !now ? unknownCustomer(ref.kind) : now;
  }

  /** The answer to a repeated requestId: the decision already made. */
  async function repeated(ref: IdRef, customerId: string, eventId: string, fresh: Decision | undefined): Promise<DecisionOutcome> {
    const id = await confirmed(ref, customerId);
    if (typeof id !== 'string') return id;
    const stored = await deps.decisions?.decision(decisionIdFor(id, eventId));
    if (!stored) return fresh ? answerFrom(decisionIdFor(id, eventId), id, [], fresh) : nothingOffered(id);
    const candidates = (stored.decision.candidates ?? []) as Candidate[];
    return answerFrom(String(stored.decision.decisionId), id, candidates, fresh);
  }

  /** The statements, read once per customer while the decision is made (started as soon as the customer is known). */
  function statementsFor(request: DecisionRequest) {
    let started: { customerId: string; read: Promise<LoyaltyStatement[]> } | undefined;
    return {
      start(customerId: string) {
        if (!request.loyalty || !deps.loyalty || started?.customerId === customerId) return;
        const read = deps.loyalty
          .summaries(customerId, { ...(request.loyalty === true ? {} : { programmes: request.loyalty }), now: deps.clock?.() ?? new Date() })
          .then((list) => list.map((s) => ({ programmeId: s.programmeId, balance: s.balance, currencyName: s.currencyName, tier: s.tier ?? null, nextExpiry: s.nextExpiry ?? null, statement: statementLine(s) })));
        read.catch(() => undefined); // awaited below; a read left behind by a retried attempt must not go unhandled
        started = { customerId, read };
      },
      async attach(outcome: DecisionOutcome): Promise<DecisionOutcome> {
        if (outcome.status !== 'answered' || !request.loyalty || !deps.loyalty) return outcome;
        this.start(outcome.answer.customerId); // a merge moved the customer meanwhile: read for the one answered
        return answered({ ...outcome.answer, loyalty: await started!.read });
      },
    };
  }

  return async function decideFor(request) {
    deps.metrics.count('DecisionRequests');
    const statements = statementsFor(request);
    const ref: IdRef = request.customer;
    const key = idKey(ref);
    const requestId = request.requestId ?? randomUUID();
    const hash = payloadHash(JSON.stringify(request));
    const outcome = await step.run(async (attempt: Attempt) => {
      const event = {
        version: '0',
        id: `api-${requestId}`,
        source: API_SOURCE,
        'detail-type': API_DETAIL_TYPE,
        time: attempt.now.toISOString(),
        detail: { channel: request.channel, context: request.context },
      };
      // The identity index and the rules are read at once: neither needs the other.
      const [resolution, book] = await Promise.all([deps.customers.resolve([ref]), step.book()]);
      const linked = resolution.links.get(key);
      if (resolution.erased || !linked) return unknownCustomer(ref.kind);
      // In parallel with the profile read and the commit: the answer waits for the slower of them.
      statements.start(linked);

      if (book.rules.matching(event).length === 0) {
        // Nothing to decide, so no profile to read and nothing to commit, but the requestId is held:
        // its reuse for another request is refused like any other.
        const customerId = await confirmed(ref, linked);
        if (typeof customerId !== 'string') return customerId;
        if (!request.requestId) return nothingOffered(customerId);
        const seen = await deps.customers.markSeen(event.id, hash, 'no-rule-matched');
        if (seen.status === 'conflict') return AGAIN;
        if (seen.status === 'duplicate') return seen.samePayload ? repeated(ref, customerId, event.id, undefined) : REUSED;
        return nothingOffered(customerId);
      }

      const read = await assembleProfile(deps.customers, [ref], resolution);
      if (read.status === 'moved') return AGAIN; // merged into another profile meanwhile: resolve again
      if (read.status !== 'found') return unknownCustomer(ref.kind);
      const { result, decision } = await step.commit(attempt, { event, payloadHash: hash, draft: read.draft, book, stateAt: attempt.now, outbox: false });
      if (result.status === 'committed' && decision) {
        const presented = decision.candidates.filter(isPresented);
        deps.metrics.count('OffersPresented', presented.length);
        return answerFrom(decision.decisionId, decision.customerId, decision.candidates, decision);
      }
      if (result.status === 'duplicate') return result.samePayload ? repeated(ref, read.draft.customerId, event.id, decision) : REUSED;
      return AGAIN;
    }, (attempts) => new DecisionApiError('commit-contention', `decision for one customer could not be committed after ${attempts} attempts (concurrent updates)`));
    return statements.attach(outcome);
  };
}

/** Chosen, or chosen and held by quiet hours (which hold outbound messages only): shown to the customer. */
const isPresented = (c: Candidate): boolean => c.outcome === 'chosen' || c.outcome === 'deferred';

/** Offers from candidates; the rule's action (offer, template) comes from the decision just made. */
function answerFrom(decisionId: string, customerId: string, candidates: readonly Candidate[], fresh: Decision | undefined): DecisionOutcome {
  const actions = actionsOf(fresh);
  return answered({
    decisionId,
    customerId,
    offers: candidates.filter(isPresented).map((c) => ({
      ruleId: c.ruleId,
      campaignId: c.campaignId,
      channel: c.channel,
      ...actions.get(c.ruleId),
      reason: c.outcome === 'deferred' ? 'ranked highest for its channel; quiet hours hold outbound messages only, the customer asked now' : c.reason,
    })),
    candidates: candidates.map((c) => ({ ruleId: c.ruleId, campaignId: c.campaignId, channel: c.channel, outcome: c.outcome, reason: c.reason })),
  });
}

function actionsOf(decision: Decision | undefined): Map<string, { offer?: string; template?: string; action?: string }> {
  const out = new Map<string, { offer?: string; template?: string; action?: string }>();
  for (const m of decision?.messages ?? []) {
    out.set(m.ruleId, { ...(m.offer ? { offer: m.offer } : {}), ...(m.template ? { template: m.template } : {}), ...(m.action ? { action: m.action } : {}) });
  }
  return out;
}
