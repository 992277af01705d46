// The ingest path for one event: validate, resolve identity, apply to state, decide, commit
// atomically (lib/app/decide-and-commit.ts). Runs the same on Lambda, in the local stack, in tests
// and in benchmarks.
import { randomUUID } from 'node:crypto';
import { parseEventText } from '../../events/validate.ts';
import { ID_KINDS, SOURCES, type BatonEvent, type IdKind } from '../../events/catalog.ts';
import { idKey, idsOf, lookupIdsOf, payloadHash, withJsonEscapesDecoded, type IdRef } from '../core/customer/identity.ts';
import { applyEvent, anonymousCounters, eventTime, type CustomerEvent, type CustomerState } from '../core/customer/index.ts';
import { BatonError } from '../contract/errors.ts';
import { contextFactOf } from '../core/context/index.ts';
import { AGAIN, createDecisionStep, readProfile, taggedCustomerId, type Again } from './decide-and-commit.ts';
import { publishMembership, withOwnId } from './segments.ts';
import type { JourneyStep } from './journeys.ts';
import type { CampaignSource, CommitResult, ContextSource, ContextStore, CustomerRepository, Metrics, OfferStatsSource, QuarantineStore, QuarantinedEvent, RuleSource, SegmentEventPublisher, SegmentSource } from './ports.ts';

export interface IngestDeps {
  readonly customers: CustomerRepository<CustomerState>;
  readonly quarantine: QuarantineStore;
  readonly rules: RuleSource;
  /** Campaigns and contact policies (cached like rules); without it every campaign has the defaults. */
  readonly campaigns?: CampaignSource;
  /** Segments kept current per event, and where their SegmentEntered/SegmentLeft go (docs/segments.md). */
  readonly segments?: SegmentSource;
  readonly segmentEvents?: SegmentEventPublisher;
  readonly metrics: Metrics;
  readonly clock?: () => Date;
  readonly newCustomerId?: () => string;
  /** Waits between retries after a conflict; injectable so tests run without sleeping. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly maxAttempts?: number;
  /**
   * Runs after an event was applied, and again when a duplicate arrives, so it must be idempotent:
   * a failure here fails the record, which is retried and then seen as a duplicate.
   * Feedback uses it to update decision status (lib/app/feedback.ts).
   */
  readonly afterApply?: (event: BatonEvent, applied?: { readonly customerId: string }) => Promise<void>;
  /** Journeys (lib/app/journeys.ts); without it no journey runs. */
  readonly journeys?: JourneyStep;
  /** Where business-context events are kept, and the cached context rules read (docs/context.md). */
  readonly contextStore?: ContextStore;
  readonly context?: ContextSource;
  /** What rules with a set of offers have learned (docs/offers.md), cached like rules. */
  readonly offers?: OfferStatsSource;
}

type QuarantineCode = QuarantinedEvent['code'];

export type IngestOutcome =
  | { readonly status: 'applied'; readonly customerId: string; readonly decisionId?: string; readonly messages: number }
  | { readonly status: 'duplicate' }
  | { readonly status: 'quarantined'; readonly code: QuarantineCode; readonly reason: string }
  | { readonly status: 'erased'; readonly customerId?: string }
  | { readonly status: 'unknown-customer' }
  /** A business-context fact, kept (`applied`) or older than the one kept. */
  | { readonly status: 'context'; readonly applied: boolean };

/** A fault (not bad input): the event stays on the queue and is retried, then dead-lettered. */
export class IngestError extends BatonError<'commit-contention'> {}

/** Runs fn after every earlier call with the same key has finished (a keyed mutex). */
function keyedMutex(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return async (key, fn) => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = previous.then(() => new Promise<void>((r) => (release = r)));
    tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

const EMAIL_LOCAL = /[^\s"'<>(),;:\\[\]@]/;
const EMAIL_DOMAIN = /[A-Za-z0-9.-]/;
const EMAIL_DOMAIN_SHAPE = /^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/** Email-shaped texts, found from each `@` outwards: linear in the text, however long and odd it is. */
function emailsIn(text: string, found: (email: string) => void): void {
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > at - 64 && start > 0 && EMAIL_LOCAL.test(text[start - 1]!)) start--;
    let end = at + 1;
    while (end < at + 254 && end < text.length && EMAIL_DOMAIN.test(text[end]!)) end++;
    const domain = text.slice(at + 1, end).replace(/[.-]+$/, '');
    if (start < at && EMAIL_DOMAIN_SHAPE.test(domain)) found(`${text.slice(start, at)}@${domain}`);
  }
}
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
/** Enough to cover any real event's ids, few enough for one BatchGet. */
const MAX_NAMED_IDS = 40;
const NAMED_ID = new RegExp(`"(${ID_KINDS.join('|')})"\\s*:\\s*"([^"\\\\]{1,254})"`, 'g');

/**
 * The customer ids a body that failed validation names, as far as they can be read: the strings
 * in `detail.ids`, and every email-shaped text anywhere in it (raw, and with JSON escapes decoded),
 * which is how erasure finds quarantined events too. Values no id item could have are left out.
 */
export function idsNamedIn(body: string, document?: { readonly value: unknown }): IdRef[] {
  const refs = new Map<string, IdRef>();
  const add = (kind: IdKind, value: unknown) => {
    if (typeof value !== 'string' || value.length === 0 || value.length > 254 || LONE_SURROGATE.test(value)) return;
    const ref = { kind, value };
    refs.set(idKey(ref), ref);
  };
  // The document validation already parsed the body to, when it did (parsing it again costs as much).
  let parsed: unknown = document?.value;
  if (!document) {
    try {
      parsed = JSON.parse(body);
    } catch {
      // not JSON, or nested too deep for the parser's stack: only the text can be searched
    }
  }
  const ids = (parsed as { detail?: { ids?: unknown } } | null)?.detail?.ids;
  if (ids !== null && typeof ids === 'object') for (const kind of ID_KINDS) add(kind, (ids as Record<string, unknown>)[kind]);
  const decoded = withJsonEscapesDecoded(body);
  for (const text of decoded === body ? [body] : [body, decoded]) {
    emailsIn(text, (email) => add('email', email));
    // A body no parser reads (cut off, broken) still names its ids as `"crmId": "…"` pairs.
    if (parsed === undefined) for (const [, kind, value] of text.matchAll(NAMED_ID)) add(kind as IdKind, value);
  }
  return [...refs.values()].slice(0, MAX_NAMED_IDS);
}

export function createIngest(deps: IngestDeps): (body: string) => Promise<IngestOutcome> {
  const exclusive = keyedMutex();
  const clock = deps.clock ?? (() => new Date());
  const newCustomerId = deps.newCustomerId ?? (() => `cus-${randomUUID()}`);
  const step = createDecisionStep({
    customers: deps.customers,
    rules: deps.rules,
    ...(deps.campaigns ? { campaigns: deps.campaigns } : {}),
    ...(deps.segments ? { segments: deps.segments } : {}),
    metrics: deps.metrics,
    clock,
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))),
    maxAttempts: deps.maxAttempts ?? 12,
    maxPauseMs: 1000,
    ...(deps.journeys ? { journeys: deps.journeys } : {}),
    ...(deps.context ? { context: deps.context } : {}),
    ...(deps.offers ? { offers: deps.offers } : {}),
  });

  async function quarantine(body: string, code: QuarantineCode, reason: string, document?: { readonly value: unknown }): Promise<IngestOutcome> {
    // A replay (archive, redrive) of an invalid event must not put an erased customer's data back.
    const named = idsNamedIn(body, document);
    if (named.length > 0 && (await deps.customers.resolve(named)).erased) {
      deps.metrics.count('EventsForErasedCustomers');
      return { status: 'erased' };
    }
    const entry = { quarantineId: randomUUID(), receivedAt: clock().toISOString(), code, reason, body };
    await deps.quarantine.put(entry);
    // An erasure that ran between the check above and the put scanned the quarantine too early:
    // it wrote its tombstones before its scan, so reading them again after the put closes the gap.
    // If that read fails, the entry goes too: the redelivery stores it once, checked.
    const erasedMeanwhile = named.length > 0 && (await deps.customers.resolve(named).catch(async (error: unknown) => {
      await deps.quarantine.withdraw(entry);
      throw error;
    })).erased;
    if (erasedMeanwhile) {
      await deps.quarantine.withdraw(entry);
      deps.metrics.count('EventsForErasedCustomers');
      return { status: 'erased' };
    }
    deps.metrics.count('EventsQuarantined');
    return { status: 'quarantined', code, reason };
  }

  async function settle(result: CommitResult, body: string, ok: () => IngestOutcome): Promise<IngestOutcome | Again> {
    if (result.status === 'committed') return ok();
    if (result.status === 'duplicate') {
      if (result.samePayload) {
        deps.metrics.count('EventsDuplicate');
        return { status: 'duplicate' };
      }
      return quarantine(body, 'event-id-reused', 'an event with this id was already applied with a different payload');
    }
    return AGAIN;
  }

  return async function ingest(body: string): Promise<IngestOutcome> {
    const { result: parsed, document } = parseEventText(body);
    if (!parsed.ok) return quarantine(body, parsed.code, parsed.reason, document);
    const event = withOwnId(parsed.event);
    const fact = contextFactOf(event);
    if (fact) {
      // Not a customer's: no profile, no marker. The latest occurrence wins, so a replay is a no-op.
      if (!deps.contextStore) throw new Error('ingest has no context store (lib/wiring/ingest.ts wires one)');
      const applied = (await deps.contextStore.record(fact)) === 'applied';
      deps.metrics.count(applied ? 'ContextFactsApplied' : 'ContextFactsStale');
      return { status: 'context', applied };
    }
    const hash = payloadHash(JSON.stringify(event));
    const ids = idsOf(event);
    const tagged = taggedCustomerId(event);
    if (ids.length === 0 && !tagged) {
      return quarantine(body, 'invalid-detail', `${event.source} ${event['detail-type']}: no customer reference (ids or a customerId tag)`);
    }

    // Events of one customer in this process go one after another: parallel writers on one profile
    // only collide and retry. Across processes the version check keeps it correct.
    const lockKey = ids[0] ? idKey(ids[0]) : `customer#${tagged}`;
    return exclusive(lockKey, () =>
      step.run<IngestOutcome>(async (attempt) => {
        const read = await readProfile(deps.customers, ids, { ...(tagged ? { tagged } : {}), newCustomerId, lookupIds: lookupIdsOf(event) });
        if (read.status === 'moved') return AGAIN;
        if (read.status === 'erased') {
          const seen = await deps.customers.markSeen(event.id, hash, 'erased');
          deps.metrics.count('EventsForErasedCustomers');
          if (seen.status === 'conflict') return AGAIN;
          return { status: 'erased' };
        }
        if (read.status === 'unknown') {
          const seen = await deps.customers.markSeen(event.id, hash, 'unknown-customer');
          if (seen.status === 'conflict') return AGAIN;
          return { status: 'unknown-customer' };
        }
        const { draft } = read;
        const customerId = draft.customerId;

        if (event.source === SOURCES.crm && event['detail-type'] === 'CustomerErased') {
          const result = await deps.customers.erase({
            eventId: event.id,
            payloadHash: hash,
            customerId,
            identities: draft.identities,
            formerIds: draft.formerIds,
            requestId: event.detail.requestId,
            counters: { ...anonymousCounters(draft.state) },
          });
          if (result.status === 'conflict') deps.metrics.count('CommitConflicts');
          return settle(result, body, () => {
            deps.metrics.count('CustomersErased');
            return { status: 'erased', customerId };
          });
        }

        const { result, decision, membership } = await step.commit(attempt, {
          event,
          payloadHash: hash,
          draft: { ...draft, state: applyEvent(draft.state, event) },
          book: await step.book(),
          // Rule state is stamped with the event's time, like every other field, so arrival order does not matter.
          stateAt: new Date(event.source === SOURCES.journeys ? event.detail.dueAt : eventTime(event as CustomerEvent)),
          outbox: true,
        });
        const outcome = await settle(result, body, () => {
          deps.metrics.count('EventsApplied');
          if (decision) {
            deps.metrics.count('Decisions');
            deps.metrics.count('MessagesQueued', decision.messages.length);
          }
          return { status: 'applied', customerId, ...(decision ? { decisionId: decision.decisionId } : {}), messages: decision?.messages.length ?? 0 };
        });
        if (outcome === AGAIN) return AGAIN;
        await publishMembership(deps.segmentEvents, deps.metrics, customerId, result, membership);
        if (outcome.status === 'applied' || outcome.status === 'duplicate') await deps.afterApply?.(event, outcome.status === 'applied' ? { customerId: outcome.customerId } : undefined);
        return outcome;
      }, (attempts) => new IngestError('commit-contention', `event ${event.id} could not be committed after ${attempts} attempts (concurrent updates)`)),
    );
  };
}
