// The ports the domain needs from the outside world. Adapters implement them for DynamoDB
// (lib/adapters/dynamo), in memory (tests, benchmarks) and the local stack.
import type { IdKind } from '../events/catalog.ts';
import type { Decision } from './decide.ts';
import type { RuleSet } from './rules/engine.ts';
import type { RejectionCode } from '../events/validate.ts';

export interface IdRef {
  readonly kind: IdKind;
  readonly value: string;
}

export interface StoredProfile<S> {
  readonly customerId: string;
  readonly version: number;
  readonly state: S;
  /** Every external id linked to this profile, as `kind#value`. */
  readonly identities: readonly string[];
  /** customerIds of profiles merged into this one (their decisions still carry those ids). */
  readonly formerIds?: readonly string[];
}

export interface Resolution {
  /** customerId per linked id (`kind#value`); ids not linked yet are absent. */
  readonly links: ReadonlyMap<string, string>;
  /** True when any of the ids belongs to an erased customer. */
  readonly erased: boolean;
}

/**
 * A claim on a shared limit (a campaign budget, a channel's hourly capacity), taken in the same
 * transaction as the state change so limits hold under concurrency. Stored in the counters table.
 */
export interface Reservation {
  /** Counter item key, e.g. `BUDGET#renewals-2026` / `TOTAL`. Also how a refused claim is reported. */
  readonly pk: string;
  readonly sk: string;
  readonly amount: number;
  /** The claim fails if the counter would pass this. */
  readonly limit: number;
  /** Epoch seconds after which the counter item may be deleted (windows). */
  readonly expiresAt?: number;
}

export const reservationKey = (r: Pick<Reservation, 'pk' | 'sk'>): string => `${r.pk}/${r.sk}`;

export interface ProfileChange<S> {
  readonly eventId: string;
  /** Hash of the event payload: the same id with another payload is not a duplicate but a fault. */
  readonly payloadHash: string;
  readonly customerId: string;
  /** 0 for a profile that does not exist yet. */
  readonly expectedVersion: number;
  readonly state: S;
  readonly identities: readonly string[];
  readonly formerIds?: readonly string[];
  /** Ids this change links to the customer (new identity items). */
  readonly newLinks: readonly string[];
  /** Profiles merged into this one: deleted, their ids re-pointed. */
  readonly mergedAway: readonly { customerId: string; version: number; identities: readonly string[] }[];
  readonly decision?: Decision;
  readonly reservations?: readonly Reservation[];
}

export type CommitResult =
  | { readonly status: 'committed' }
  | { readonly status: 'conflict'; readonly on: 'version' | 'identity' }
  /** A reservation would pass its limit: decide again without it. */
  | { readonly status: 'conflict'; readonly on: 'reservation'; readonly key: string }
  | { readonly status: 'duplicate'; readonly samePayload: boolean };

export interface Erasure {
  readonly eventId: string;
  readonly payloadHash: string;
  readonly customerId: string;
  readonly identities: readonly string[];
  readonly formerIds?: readonly string[];
  readonly requestId: string;
  /** Anonymous aggregates kept after erasure. */
  readonly counters: Record<string, number>;
}

export interface CustomerRepository<S> {
  resolve(ids: readonly IdRef[]): Promise<Resolution>;
  load(customerId: string): Promise<StoredProfile<S> | undefined>;
  commit(change: ProfileChange<S>): Promise<CommitResult>;
  /** Records the event as seen without changing any profile (e.g. events for erased customers). */
  markSeen(eventId: string, payloadHash: string, outcome: string): Promise<CommitResult>;
  erase(erasure: Erasure): Promise<CommitResult>;
}

export interface QuarantinedEvent {
  readonly quarantineId: string;
  readonly receivedAt: string;
  readonly code: RejectionCode | 'event-id-reused';
  readonly reason: string;
  /** The original payload, exactly as received. */
  readonly body: string;
}

export interface QuarantineStore {
  put(entry: QuarantinedEvent): Promise<void>;
}

export interface RuleSource {
  /** The current compiled rules; implementations cache and refresh in the background. */
  current(): Promise<RuleSet>;
}

/** Counters the domain reports; Powertools metrics on Lambda, an in-memory tally in tests. */
export interface Metrics {
  count(name: MetricName, value?: number): void;
}
export type MetricName =
  | 'EventsApplied'
  | 'EventsDuplicate'
  | 'EventsQuarantined'
  | 'EventsForErasedCustomers'
  | 'CustomersErased'
  | 'CommitConflicts'
  | 'Decisions'
  | 'MessagesQueued'
  | 'MessagesSent'
  | 'MessagesFailed'
  | 'RulesRejected'
  | 'MessagesSuppressed'
  | 'MessagesHeld'
  | 'MessagesDeadLettered'
  | 'MessagesUnconfirmed'
  | 'DeliverabilityPaused'
  | 'SmsBudgetExhausted'
  | 'OffersPresented'
  | 'DecisionRequests'
  | 'Unsubscribes';
