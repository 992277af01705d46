// The one decision step, for every caller: read the customer (resolve the ids, load and merge the
// profiles), decide (lib/core/decide.ts on the customer view), record the decision in the state and
// commit both in one version-checked transaction with the shared limits it claims; on a conflict,
// read and decide again. Ingest runs it for every event, the decision API for every request, and
// `dryRunDecision` runs the same read and decision without committing anything (`baton rules test`).
import { SOURCES, type BatonEvent, type IdKind } from '../../events/catalog.ts';
import { idKey, idsOf, type IdRef } from '../core/customer/identity.ts';
import { applyEvent, customerView, mergeCustomers, newCustomer, type CustomerState } from '../core/customer/index.ts';
import { decide, type Decision } from '../core/decide.ts';
import { EMPTY_CAMPAIGN_BOOK, type CampaignBook } from '../core/campaigns/campaign.ts';
import { contactHistory } from '../core/campaigns/history.ts';
import { recordDecision, SpentLimits } from '../core/campaigns/decision-state.ts';
import type { RuleSet } from '../core/rules/engine.ts';
import type { SegmentBook } from '../core/segments/book.ts';
import type { BusinessContext } from '../core/context/index.ts';
import type { OfferStats } from '../core/offers/offers.ts';
import { membershipAfter } from '../core/segments/membership.ts';
import type { JourneyStep } from './journeys.ts';
import type { MembershipCommit, SegmentSource, CampaignSource, CommitResult, ContextSource, CustomerRepository, Metrics, OfferStatsSource, ProfileChange, Resolution, RuleSource, RunTallyWrite, StoredProfile } from './ports.ts';

/** What rules match: an event on the bus, or the decision API's `baton.api/OfferRequested`. */
export interface DecisionEvent {
  readonly id: string;
  readonly source: string;
  readonly 'detail-type': string;
}

/** The rules and campaigns in force for one attempt. */
export interface DecisionBook {
  readonly rules: RuleSet;
  readonly campaigns: CampaignBook;
  /** The segments whose membership the commit keeps current; without them members stay as they are. */
  readonly segments?: SegmentBook;
  /** The business right now (docs/context.md); rules read it as `context`. */
  readonly context?: BusinessContext;
  /** What rules with a set of offers have learned (docs/offers.md); without it the set is a priority list. */
  readonly offers?: OfferStats;
}

/** What one attempt would commit, before the decision: the profile read, others merged into it. */
export interface ProfileDraft {
  readonly customerId: string;
  /** The version read; 0 for a profile that does not exist yet. */
  readonly expectedVersion: number;
  readonly state: CustomerState;
  /** Every id of the profile after the commit, as `kind#value`, sorted. */
  readonly identities: readonly string[];
  readonly formerIds: readonly string[];
  /** Ids this commit links to the customer. */
  readonly newLinks: readonly string[];
  readonly mergedAway: ProfileChange<CustomerState>['mergedAway'];
  /** The segments the profile read belongs to. */
  readonly segments: readonly string[];
}

export type ProfileRead =
  | { readonly status: 'found'; readonly draft: ProfileDraft; readonly known: boolean }
  | { readonly status: 'erased' }
  /** No profile holds the ids and none may be created, or the tagged customer's profile is gone. */
  | { readonly status: 'unknown' }
  /** A merge moved a profile between resolve and load: read again. */
  | { readonly status: 'moved' };

export interface ProfileReadOptions {
  /** A customerId the event names itself (SES feedback carries the one Baton tagged the send with). */
  readonly tagged?: string;
  /** Ids that link to no profile start a new one with this id; without it they are `unknown`. */
  readonly newCustomerId?: () => string;
  /** Ids linked to the profile only when free (lookupIdsOf): never merged on, never a reason to drop. */
  readonly lookupIds?: readonly IdRef[];
}

/** Resolves the ids and reads the profile they belong to (several are merged into one). */
export async function readProfile(
  customers: Pick<CustomerRepository<CustomerState>, 'resolve' | 'load'>,
  ids: readonly IdRef[],
  options: ProfileReadOptions = {},
): Promise<ProfileRead> {
  // Each lookup id alone: a tombstone on one must not read as the erasure of the customer.
  const [resolution, ...lookups] = await Promise.all([customers.resolve(ids), ...(options.lookupIds ?? []).map((ref) => customers.resolve([ref]))]);
  const free = (options.lookupIds ?? []).filter((ref, i) => !lookups[i]!.erased && !lookups[i]!.links.has(idKey(ref)));
  return assembleProfile(customers, [...ids, ...free], resolution, options);
}

/** `readProfile` after the resolve: for callers that resolve alongside other reads. */
export async function assembleProfile(
  customers: Pick<CustomerRepository<CustomerState>, 'load'>,
  ids: readonly IdRef[],
  resolution: Resolution,
  { tagged, newCustomerId }: Omit<ProfileReadOptions, 'lookupIds'> = {},
): Promise<ProfileRead> {
  if (resolution.erased) return { status: 'erased' };
  const customerIds = [...new Set([...resolution.links.values(), ...(tagged ? [tagged] : [])])].sort();
  const loaded = (await Promise.all(customerIds.map((id) => customers.load(id)))).filter((p): p is StoredProfile<CustomerState> => p !== undefined);
  if (loaded.length < customerIds.length && resolution.links.size > 0) return { status: 'moved' };
  if (tagged && loaded.length === 0) return { status: 'unknown' };
  const [primary, ...others] = choosePrimary(loaded);
  const customerId = primary?.customerId ?? newCustomerId?.();
  if (customerId === undefined) return { status: 'unknown' };
  let state = primary?.state ?? newCustomer(customerId);
  for (const other of others) state = mergeCustomers(state, other.state, { customerId });
  const formerIds = [...new Set([...(primary?.formerIds ?? []), ...others.flatMap((o) => [o.customerId, ...(o.formerIds ?? [])])])].sort();
  const newLinks = ids.map(idKey).filter((k) => resolution.links.get(k) !== customerId);
  const identities =
    others.length === 0 && primary && isSortedSet(primary.identities)
      ? withKeys(primary.identities, newLinks)
      : [...new Set([...(primary?.identities ?? []), ...others.flatMap((o) => o.identities), ...newLinks])].sort();
  return {
    status: 'found',
    known: primary !== undefined,
    draft: {
      customerId,
      expectedVersion: primary?.version ?? 0,
      state,
      identities,
      formerIds,
      newLinks,
      mergedAway: others.map((o) => ({ customerId: o.customerId, version: o.version, identities: o.identities, ...(o.segments ? { segments: o.segments } : {}) })),
      segments: primary?.segments ?? [],
    },
  };
}

/** Ascending without repeats, as every commit stores a profile's ids. */
function isSortedSet(keys: readonly string[]): boolean {
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1]! < keys[i]!)) return false;
  return true;
}

/**
 * The sorted ids plus the keys not among them yet, sorted: what a Set of both, sorted, gives, but
 * without hashing every id of a profile that has thousands (each event read would pay for them).
 */
function withKeys(sorted: readonly string[], keys: readonly string[]): string[] {
  const has = (key: string) => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return sorted[lo] === key;
  };
  const extra = [...new Set(keys)].filter((key) => !has(key));
  return extra.length === 0 ? [...sorted] : [...sorted, ...extra].sort();
}

/** The profile that survives a merge: the one the CRM knows, else the oldest id (deterministic). */
function choosePrimary(profiles: StoredProfile<CustomerState>[]): StoredProfile<CustomerState>[] {
  return [...profiles].sort((a, b) => {
    const crmA = a.identities.some((i) => i.startsWith('crmId#')) ? 0 : 1;
    const crmB = b.identities.some((i) => i.startsWith('crmId#')) ? 0 : 1;
    return crmA - crmB || (a.customerId < b.customerId ? -1 : 1);
  });
}

/** The decision on the customer as the state stands; undefined when no rule matches the event. */
export function decideOn(event: DecisionEvent, state: CustomerState, book: DecisionBook, now: Date, exhausted?: ReadonlySet<string>): Decision | undefined {
  // Most events trigger no rule: then neither the view nor the contact history is built.
  if (book.rules.matching(event).length === 0) return undefined;
  return decide({
    event,
    customer: customerView(state, now),
    rules: book.rules,
    campaigns: book.campaigns,
    // Caps, cooldown and rule limits read the history in the state the commit version-checks.
    contacts: contactHistory(state.contacts),
    now,
    ...(exhausted ? { exhausted } : {}),
    ...(book.context ? { context: book.context } : {}),
    // Thompson sampling: a fresh draw per decision (tests inject seeded counts, decide takes the random source).
    ...(book.offers ? { learning: { stats: book.offers, random: Math.random } } : {}),
  });
}

/** Returned by an attempt that must read and decide again (a conflict, a profile moved). */
export const AGAIN: unique symbol = Symbol('again');
export type Again = typeof AGAIN;

/** One attempt of a job. */
export interface Attempt {
  readonly now: Date;
  /** Shared limits refused at commit in this job's earlier attempts, or lately in this process. */
  readonly exhausted: ReadonlySet<string>;
  /** Notes a limit the commit refused, for the next attempts (and, briefly, the process). */
  readonly refuse: (key: string) => void;
}

export interface DecisionCommit {
  readonly event: DecisionEvent;
  /** Hash of the request or event: the same id with another payload is refused, not repeated. */
  readonly payloadHash: string;
  /** The profile to commit, with the event applied. */
  readonly draft: ProfileDraft;
  readonly book: DecisionBook;
  /** When the rules' `setState` is stamped: the event's time, so arrival order does not matter. */
  readonly stateAt: Date;
  /** False when the caller presents the offers itself (the decision API): nothing goes to the outbox. */
  readonly outbox: boolean;
  /** An outbound run's count of the decision, committed with it (lib/app/runs.ts). */
  readonly runTally?: (decision: Decision | undefined) => RunTallyWrite;
}

export interface DecisionStepDeps {
  readonly customers: CustomerRepository<CustomerState>;
  readonly rules: RuleSource;
  /** Without it every campaign has the defaults. */
  readonly campaigns?: CampaignSource;
  /** Without it segment memberships are carried over unchanged. */
  readonly segments?: SegmentSource;
  readonly metrics: Metrics;
  readonly clock: () => Date;
  readonly sleep: (ms: number) => Promise<void>;
  readonly maxAttempts: number;
  /** The longest random pause between attempts; pauses grow from 40 ms up to it. */
  readonly maxPauseMs: number;
  /** Journeys (lib/app/journeys.ts): their sends join the arbitration, their positions the commit. */
  readonly journeys?: JourneyStep;
  /** The business context rules read; without it a rule's `context` fields are absent. */
  readonly context?: ContextSource;
  /** The learning state of offers (cached like rules); without it a set of offers is a priority list. */
  readonly offers?: OfferStatsSource;
}

export interface DecisionStep {
  /** The rules and campaigns in force (their sources cache them). */
  book(): Promise<DecisionBook>;
  /** Decides on the draft and commits the profile with the decision; a refused limit counts for the next attempt. */
  commit(attempt: Attempt, job: DecisionCommit): Promise<{ readonly result: CommitResult; readonly decision: Decision | undefined; readonly membership: MembershipCommit }>;
  /** Runs attempts until one answers (not AGAIN), pausing a random, growing time between them. */
  run<T>(attempt: (a: Attempt) => Promise<T | Again>, gaveUp: (attempts: number) => Error): Promise<T>;
}

export function createDecisionStep(deps: DecisionStepDeps): DecisionStep {
  // Shared limits seen spent, kept briefly so later jobs skip a claim the commit would refuse.
  const spent = new SpentLimits(deps.clock);

  return {
    async book() {
      const [rules, campaigns, segments, context, offers] = await Promise.all([deps.rules.current(), deps.campaigns?.current(), deps.segments?.current(), deps.context?.current(), deps.offers?.current()]);
      return { rules, campaigns: campaigns ?? EMPTY_CAMPAIGN_BOOK, ...(segments ? { segments } : {}), ...(context ? { context } : {}), ...(offers ? { offers } : {}) };
    },

    async commit(attempt, job) {
      const { draft, event } = job;
      const plan = deps.journeys && job.outbox ? await deps.journeys.prepare(event, draft.state, draft.expectedVersion > 0, job.book.rules, attempt.now, draft.mergedAway.map((m) => m.customerId)) : undefined;
      const decision = decideOn(event, draft.state, plan ? { ...job.book, rules: plan.rules } : job.book, attempt.now, attempt.exhausted);
      const decided = decision ? recordDecision(draft.state, decision, job.stateAt, event.id) : draft.state;
      const journeys = plan?.settle(decision, decided, job.stateAt, event.id);
      const state = journeys?.state ?? decided;
      // The inbound channel presents the offers itself: the decision is kept, no message queued.
      const recorded = decision && !job.outbox ? { ...decision, messages: [] } : decision;
      // Segments entered and left are committed with the profile (docs/segments.md).
      const membership = { ...membershipAfter(job.book.segments, draft.segments, state, attempt.now), cause: event.id, at: attempt.now.toISOString() };
      const result = await deps.customers.commit({
        eventId: event.id,
        payloadHash: job.payloadHash,
        customerId: draft.customerId,
        expectedVersion: draft.expectedVersion,
        state,
        identities: draft.identities,
        ...(draft.formerIds.length ? { formerIds: draft.formerIds } : {}),
        newLinks: draft.newLinks,
        mergedAway: draft.mergedAway,
        ...(recorded ? { decision: recorded } : {}),
        ...(decision?.reservations?.length ? { reservations: decision.reservations } : {}),
        membership,
        ...(journeys ? { journeys: journeys.writes } : {}),
        ...(job.runTally ? { runTally: job.runTally(decision) } : {}),
      });
      if (result.status === 'committed') await plan?.committed();
      if (result.status === 'conflict') {
        deps.metrics.count('CommitConflicts');
        if (result.on === 'reservation') attempt.refuse(result.key);
      }
      return { result, decision, membership };
    },

    async run(attempt, gaveUp) {
      const refused = new Set<string>();
      for (let n = 1; n <= deps.maxAttempts; n++) {
        if (n > 1) await deps.sleep(Math.random() * Math.min(deps.maxPauseMs, 10 * 2 ** n));
        const out = await attempt({
          now: deps.clock(),
          exhausted: spent.with(refused),
          refuse: (key) => {
            refused.add(key);
            spent.add(key);
          },
        });
        if (out !== AGAIN) return out;
      }
      throw gaveUp(deps.maxAttempts);
    },
  };
}

// ---- the dry run: `baton rules test` ----------------------------------------------------------

export interface DryRunDeps {
  readonly customers: Pick<CustomerRepository<CustomerState>, 'resolve' | 'load'>;
}

export interface DryRunInput {
  readonly event: BatonEvent;
  /** The rules under test (not necessarily those in force). */
  readonly rules: RuleSet;
  readonly campaigns?: CampaignBook;
  readonly now: Date;
  /** The learning state of offers, so the explanation shows each offer's estimate (docs/offers.md). */
  readonly offers?: OfferStats;
}

export interface DryRun {
  /** The profile the event applies to; undefined when ingest would create a new one. */
  readonly customerId: string | undefined;
  /** Whether that profile is in the table. */
  readonly known: boolean;
  /** True when one of the ids belongs to an erased customer: ingest drops the event, nothing is decided. */
  readonly erased: boolean;
  /** The kinds of the event's ids (never their values). */
  readonly idKinds: readonly IdKind[];
  /** What ingest would decide now; undefined when no rule matches (or the customer is erased). */
  readonly decision: Decision | undefined;
}

/** The customerId a dry run gives a customer ingest would create (it appears in no answer). */
const NEW_CUSTOMER = '(new customer)';

/**
 * What ingest would decide for the event now, on the customers in the table, without writing
 * anything: the same read (resolve, load, merge) and the same decision as ingest, no commit.
 */
export async function dryRunDecision(deps: DryRunDeps, input: DryRunInput): Promise<DryRun> {
  const ids = idsOf(input.event);
  const idKinds = ids.map((ref) => ref.kind);
  const tagged = taggedCustomerId(input.event);
  let read: ProfileRead = { status: 'moved' };
  // A merge moving a profile under the read is rare: read again a few times, then say unknown.
  for (let i = 0; i < 3 && read.status === 'moved'; i++) {
    read = await readProfile(deps.customers, ids, { ...(tagged ? { tagged } : {}), newCustomerId: () => NEW_CUSTOMER });
  }
  if (read.status !== 'found') {
    return { customerId: undefined, known: false, erased: read.status === 'erased', idKinds, decision: undefined };
  }
  const state = applyEvent(read.draft.state, input.event);
  const book = { rules: input.rules, campaigns: input.campaigns ?? EMPTY_CAMPAIGN_BOOK, ...(input.offers ? { offers: input.offers } : {}) };
  return {
    customerId: read.known ? read.draft.customerId : undefined,
    known: read.known,
    erased: false,
    idKinds,
    decision: decideOn(input.event, state, book, input.now),
  };
}

/** SES feedback carries the customerId Baton tagged the send with, not an external id; segment events and journey timers their customerId. */
export function taggedCustomerId(event: BatonEvent): string | undefined {
  // Segment events name the customer they are about (lib/app/segments.ts); a journey's timer the customer whose wait it ends.
  if (event.source === SOURCES.segments || event.source === SOURCES.journeys || event.source === SOURCES.loyalty) return event.detail.customerId;
  if (event.source !== SOURCES.ses) return undefined;
  return (event.detail as { mail: { tags?: Record<string, string[]> } }).mail.tags?.customerId?.[0];
}
