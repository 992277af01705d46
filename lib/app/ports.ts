// The ports the domain needs from the outside world. Adapters implement them for DynamoDB
// (lib/adapters/dynamo), in memory (tests, benchmarks) and the local stack.
import type { Channel } from '../../events/catalog.ts';
import type { IdRef } from '../core/customer/identity.ts';

export type { IdRef };
import type { Decision, OutboxMessage } from '../core/decide.ts';
import type { OutgoingMessage } from '../core/channels/senders.ts';
import type { Failure, FailureCode } from '../core/channels/failures.ts';
import type { MessageFeedback } from '../core/channels/feedback.ts';
import type { Reservation } from '../core/campaigns/reservations.ts';
import type { RuleSet } from '../core/rules/engine.ts';
import type { CampaignBook } from '../core/campaigns/campaign.ts';
import type { RejectionCode } from '../../events/validate.ts';
import type { MetricName } from '../contract/metrics.ts';
import type { SegmentBook } from '../core/segments/book.ts';
import type { SegmentEvent } from '../core/segments/events.ts';
import type { JourneyInstance, TimerDetail, TimerRequest } from '../core/journeys/instance.ts';
import type { JourneyBook } from '../core/journeys/evaluate.ts';
import type { Counts, DimensionKind, Exposure, Increment } from '../core/reports/aggregates.ts';

export type { MetricName };

export interface StoredProfile<S> {
  readonly customerId: string;
  readonly version: number;
  readonly state: S;
  /** Every external id linked to this profile, as `kind#value`. */
  readonly identities: readonly string[];
  /** customerIds of profiles merged into this one (their decisions still carry those ids). */
  readonly formerIds?: readonly string[];
  /** The segments the customer belongs to (docs/segments.md), sorted. */
  readonly segments?: readonly string[];
}

/** A change of segment membership, committed with the profile (lib/core/segments/membership.ts). */
export interface MembershipCommit {
  readonly members: readonly string[];
  readonly entered: readonly string[];
  readonly left: readonly string[];
  /** The event (or refresh) that made the change, and when: what the segment events carry. */
  readonly cause: string;
  readonly at: string;
}

export interface Resolution {
  /** customerId per linked id (`kind#value`); ids not linked yet are absent. */
  readonly links: ReadonlyMap<string, string>;
  /** True when any of the ids belongs to an erased customer. */
  readonly erased: boolean;
}

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
  readonly mergedAway: readonly { customerId: string; version: number; identities: readonly string[]; segments?: readonly string[] }[];
  readonly decision?: Decision;
  readonly reservations?: readonly Reservation[];
  /** The segments after the change; without it the profile keeps none (callers carry them over). */
  readonly membership?: MembershipCommit;
  /** Journey positions moved by this event and the timers to arm or cancel, committed with it. */
  readonly journeys?: JourneyWrites;
}

export type CommitResult =
  | { readonly status: 'committed' }
  | { readonly status: 'conflict'; readonly on: 'version' | 'identity' }
  /** A reservation would pass its limit: decide again without it. */
  | { readonly status: 'conflict'; readonly on: 'reservation'; readonly key: string }
  /** `membership`: the segment change the first commit of this event made, to publish again. */
  | { readonly status: 'duplicate'; readonly samePayload: boolean; readonly membership?: CommittedMembership };

/** What the event marker keeps of a membership change, so its events can be published again. */
export interface CommittedMembership {
  readonly customerId: string;
  readonly entered: readonly string[];
  readonly left: readonly string[];
  readonly cause: string;
  readonly at: string;
}

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

// Segments (docs/segments.md): definitions, membership events, counts and the daily refresh.

/** Where ingest gets the segments in force; implementations cache and refresh in the background. */
export interface SegmentSource {
  current(): Promise<SegmentBook>;
}

/** Puts SegmentEntered / SegmentLeft on the bus; throws when the bus did not take them all. */
export interface SegmentEventPublisher {
  publish(events: readonly SegmentEvent[]): Promise<void>;
}

/** Customer profiles page by page, for the daily refresh; `part`/`parts` split the table among workers. */
export interface CustomerPages<S> {
  page(opts: { cursor?: string; limit?: number; part?: number; parts?: number }): Promise<{ profiles: StoredProfile<S>[]; cursor?: string }>;
}

/** Members per segment, without a hot partition (sharded counters), and the members themselves. */
export interface SegmentCounts {
  counts(segmentIds: readonly string[]): Promise<Map<string, number>>;
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

/** Where ingest gets the campaign book; implementations cache and refresh in the background. */
export interface CampaignSource {
  current(): Promise<CampaignBook>;
}

// Dispatch: the outbox, held and dead-lettered messages, the SMS budget.

export type MessageStatus = 'pending' | 'sending' | 'sent' | 'failed' | 'suppressed';

/** An outbox message as stored (lib/adapters/dynamo/decisions.ts). */
export interface OutboxItem extends OutboxMessage {
  readonly pk: string;
  readonly sk: string;
  readonly status: MessageStatus;
  readonly createdAt: string;
  readonly attempts: number;
  readonly claimedUntil?: number;
  /** Set just before the provider is called: a claim that has it may already have been sent. */
  readonly sendStartedAt?: string;
  readonly providerMessageId?: string;
  readonly failure?: string;
  /** Feedback fields (lib/app/feedback.ts), e.g. sentAt, deliveredAt, displayedAt. */
  readonly [feedback: string]: unknown;
}

export type SendResult =
  | { readonly status: 'sent'; readonly providerMessageId: string; readonly unconfirmed?: boolean }
  | { readonly status: 'failed' | 'suppressed'; readonly failure: Failure };

export interface OutboxPort {
  claim(pk: string, sk: string, now: Date, claimMs: number): Promise<OutboxItem | undefined>;
  /** Marks the claim `sendStartedAt`; false when the claim is no longer this attempt's. */
  markSending(pk: string, sk: string, attempt: number, now: Date): Promise<boolean>;
  complete(pk: string, sk: string, result: SendResult, now: Date): Promise<void>;
  /** Frees a claim after a transient failure; `clearMark` when the provider surely did not send. */
  release(pk: string, sk: string, opts?: { clearMark?: boolean }): Promise<void>;
}

/** A message that may not be sent yet: wake dispatch for it at `notBefore`. */
export interface HeldMessages {
  hold(key: { pk: string; sk: string; notBefore: string }): Promise<void>;
}

/** Permanent failures, for the dead-letter queue an alarm watches. Ids and codes only, no content. */
export interface DeadLetterEntry {
  readonly pk: string;
  readonly sk: string;
  readonly decisionId: string;
  readonly customerId: string;
  readonly channel: Channel | 'bus';
  readonly code: FailureCode;
  readonly reason: string;
  readonly at: string;
}
export interface DeadLetters {
  put(entry: DeadLetterEntry): Promise<void>;
}

/** Baton's own monthly SMS spend budget, checked before each send (SNS's limit acts minutes late). */
export interface SmsBudget {
  /** Monthly budget and price per part, in micro-dollars. */
  readonly monthlyMicros: number;
  readonly costPerPartMicros: number;
  /** Adds `micros` to the month's spend unless it would pass `limit`; false when refused. */
  reserve(month: string, micros: number, limit: number): Promise<boolean>;
  refund(month: string, micros: number): Promise<void>;
}

/** The port each channel implements (SES, SNS, IoT, the bus). */
export interface ChannelSender {
  send(message: OutgoingMessage): Promise<{ providerMessageId: string }>;
}

// Feedback: what the channels answer, recorded on the outbox and counted for the deliverability guard.

export interface FeedbackRecorder {
  /** Sets `field` if not set yet; a message that does not exist (erased, or not Baton's) is ignored. */
  recordFeedback(feedback: MessageFeedback): Promise<void>;
}

export interface DeliverabilityCounter {
  /** Adds the counts once per event id (a replay adds nothing). */
  add(eventId: string, counts: { day: string; sent: number; bounces: number; complaints: number }): Promise<void>;
}

// Journeys: positions next to the customer's state, the journeys in force, the timers of waits.

/** An instance to write, conditional on the `seq` read (0: none stored yet). */
export interface JourneyInstanceWrite {
  readonly instance: JourneyInstance;
  readonly expectedSeq: number;
}

/** What one event changes in journeys, in the same transaction as the profile (the timer outbox included). */
export interface JourneyWrites {
  readonly instances: readonly JourneyInstanceWrite[];
  /** Schedules to create or delete: kept until the relay has done them, so a crash loses no wait. */
  readonly timers: readonly TimerRequest[];
}

/** Where ingest gets the journeys in force; implementations cache and refresh in the background. */
export interface JourneySource {
  current(): Promise<JourneyBook>;
}

/** The customer's journey positions (one per journey they entered). */
export interface JourneyInstances {
  load(customerId: string): Promise<JourneyInstance[]>;
  /** Every active instance of one journey version (migrations; a scan, rare). */
  active(journeyId: string, version: number): Promise<JourneyInstance[]>;
  /** Writes one instance conditional on its seq, with its timer requests (migrations); false on a conflict. */
  rewrite(write: JourneyInstanceWrite, timers: readonly TimerRequest[]): Promise<boolean>;
}

/** The timer outbox: schedule requests committed with their step, until the relay has done them. */
export interface TimerOutbox {
  /** Requests not relayed yet, oldest first. */
  pending(limit: number): Promise<TimerRequest[]>;
  /** Removes the request, unless a newer one for the same schedule replaced it meanwhile. */
  done(request: TimerRequest): Promise<void>;
}

/** The EventBridge-shaped event a timer delivers to the evaluate queue (events/catalog.ts, baton.journeys). */
export interface TimerEnvelope {
  readonly version: '0';
  readonly id: string;
  readonly source: 'baton.journeys';
  readonly 'detail-type': 'JourneyTimerDue';
  readonly time: string;
  readonly account: string;
  readonly region: string;
  readonly resources: readonly string[];
  readonly detail: TimerDetail;
}

/** One-time schedules (EventBridge Scheduler in the cloud, the stand-in locally, a list in tests). */
export interface JourneyTimers {
  /** Creates the schedule; one that already exists under the name is left as it is (idempotent). */
  create(name: string, at: string, timeZone: string, event: TimerEnvelope): Promise<'created' | 'exists'>;
  /** Deletes the schedule; one that is not there (fired, deleted) is fine. */
  delete(name: string): Promise<void>;
}

// ---- reports (lib/app/reports.ts, lib/adapters/dynamo/aggregates.ts) ----

/** One dimension's figures for one day, as stored (the shards summed). */
export interface AggregateCell {
  readonly day: string;
  readonly counts: Counts;
}

/** The report aggregates: sharded daily cells per dimension, kept exactly once per change. */
export interface AggregatesPort {
  /**
   * Adds the increments of one change exactly once: `changeId` (a stream record's id, a feedback
   * event's id) marks them counted, in the same transaction. Other features add their figures
   * (points, run counts) through it with their own change ids.
   */
  add(changeId: string, increments: readonly Increment[]): Promise<'added' | 'already'>;
  /** Records the exposure and adds its group size once per customer and campaign. */
  expose(exposure: Exposure): Promise<'added' | 'already'>;
  /** A goal the customer reached at `at`: converts each exposure still open in the window, once. */
  convert(customerId: string, at: string, revenue: number, windowDays: number): Promise<number>;
  /** The cells of one dimension from `from` to `to` (days, inclusive). */
  cells(kind: DimensionKind, id: string, from: string, to: string): Promise<AggregateCell[]>;
  /** The ids counted under a kind (channels, offers, segments, a journey's steps). */
  ids(kind: DimensionKind): Promise<string[]>;
}
