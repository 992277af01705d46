// The ports the domain needs from the outside world. Adapters implement them for DynamoDB
// (lib/adapters/dynamo), in memory (tests, benchmarks) and the local stack.
import type { Channel, IdKind } from '../../events/catalog.ts';
import type { IdRef } from '../core/customer/identity.ts';

export type { IdRef };
import type { Decision, OutboxMessage } from '../core/decide.ts';
import type { OutgoingMessage } from '../core/channels/senders.ts';
import type { Failure, FailureCode } from '../core/channels/failures.ts';
import type { MessageFeedback } from '../core/channels/feedback.ts';
import type { Destination } from '../core/channels/destinations.ts';
import type { Reservation } from '../core/campaigns/reservations.ts';
import type { RuleSet } from '../core/rules/engine.ts';
import type { CampaignBook } from '../core/campaigns/campaign.ts';
import type { RejectionCode } from '../../events/validate.ts';
import type { ExportBatch, ExportSource } from '../core/reports/export.ts';
import type { MetricName } from '../contract/metrics.ts';
import type { SegmentBook } from '../core/segments/book.ts';
import type { SegmentEvent } from '../core/segments/events.ts';
import type { InstanceStatus, JourneyInstance, TimerDetail, TimerRequest } from '../core/journeys/instance.ts';
import type { Journey } from '../core/journeys/journey.ts';
import type { JourneyBook } from '../core/journeys/evaluate.ts';
import type { BusinessContext, ContextFact } from '../core/context/index.ts';
import type { BucketCheckpoint, Run, RunCounts, RunPass, RunState, Tally } from '../core/runs/run.ts';
import type { Counts, DimensionKind, Exposure, Increment } from '../core/reports/aggregates.ts';
import type { OfferCounts, OfferStats } from '../core/offers/offers.ts';

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
  /** An outbound run's count of this member's decision, committed with it (exactly once). */
  readonly runTally?: RunTallyWrite;
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
  /** Removes an entry just put (its customer was erased meanwhile). */
  withdraw(entry: QuarantinedEvent): Promise<void>;
}

/** The latest business-context facts (docs/context.md), one per subject. */
export interface ContextStore {
  /** Keeps the fact unless one that occurred later (or at the same time) is kept: arrival order does not matter. */
  record(fact: ContextFact): Promise<'applied' | 'stale'>;
}

/** The business context in force, cached and refreshed in the background like rules. */
export interface ContextSource {
  current(): Promise<BusinessContext>;
}

export interface RuleSource {
  /** The current compiled rules; implementations cache and refresh in the background. */
  current(): Promise<RuleSet>;
}

// Offers that learn (docs/offers.md): counts per rule, context and offer.

/** The learning state decide reads; implementations cache it like the rules (stated staleness). */
export interface OfferStatsSource {
  current(): Promise<OfferStats>;
}

/** What one piece of feedback adds to one offer's counts in one context. */
export interface OfferCountWrite extends Partial<OfferCounts> {
  readonly ruleId: string;
  readonly context: string;
  readonly offer: string;
}

export interface OfferLearningStore {
  /** Adds the counts once per `once` key (a replayed event adds nothing); false when added before. */
  add(once: string, write: OfferCountWrite): Promise<boolean>;
}

/** An outbox message a learning rule sent: the offer and the context feedback credits. */
export interface LearningMessage {
  readonly ruleId: string;
  readonly channel: Channel | 'bus';
  readonly offer?: string;
  readonly offerContext?: string;
}

export interface OfferMessages {
  /** The messages of a decision (none when it is unknown or erased). */
  messagesOf(decisionId: string): Promise<readonly LearningMessage[]>;
}

/** Counters the domain reports; Powertools metrics on Lambda, an in-memory tally in tests. */
export interface Metrics {
  /** With dimensions (e.g. journeyId and stepId) the figure is kept per their values as well. */
  count(name: MetricName, value?: number, dimensions?: MetricDimensions): void;
}

/** A metric's dimensions: names and values from the domain (ids, never customer data). */
export type MetricDimensions = Readonly<Record<string, string>>;

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
  /**
   * Frees a claim after a transient failure; `clearMark` when the provider surely did not send.
   * `notBefore` holds it to a later time (a call whose team is still busy): the outbox stream then
   * wakes dispatch for it at that time, as for any pending message with a `notBefore`.
   */
  release(pk: string, sk: string, opts?: { clearMark?: boolean; notBefore?: string }): Promise<void>;
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

/** Destination items (docs/destinations.md): a bus action's target system; undefined when missing or invalid. */
export interface DestinationSource {
  find(destinationId: string): Promise<Destination | undefined>;
}

/** The port each channel implements (SES, SNS, IoT, the bus). */
export interface ChannelSender {
  send(message: OutgoingMessage): Promise<{ providerMessageId: string }>;
}

// Feedback: what the channels answer, recorded on the outbox and counted for the deliverability guard.

export interface FeedbackRecorder {
  /** Sets `field` if not set yet; a message that does not exist (erased, or not Baton's) is ignored. */
  /** Returns the message as it now stands (the learner reads its offer and context), if it exists. */
  recordFeedback(feedback: MessageFeedback): Promise<LearningMessage | void>;
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
  /** Positions of profiles merged into this one, deleted (conditional on their seq read): the survivor holds them now. */
  readonly removed?: readonly { readonly customerId: string; readonly journeyId: string; readonly expectedSeq: number }[];
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

// Outbound runs (docs/campaigns.md): the run items with their checkpoints, their counts, the membership pages.

/** One member's decision counted for a run, in the decision's own transaction. */
export interface RunTallyWrite {
  readonly runId: string;
  readonly tally: Tally;
}

export interface RunRepository {
  /** Stores a new run; throws when the id is taken. */
  create(run: Run): Promise<void>;
  get(runId: string): Promise<Run | undefined>;
  /** Every run, newest first. */
  list(): Promise<Run[]>;
  /**
   * Moves the run to `to` when it is in one of `from` (a conditional write), with the fields given;
   * the run after the move, or undefined when it was in no such state (or does not exist).
   */
  transition(runId: string, from: readonly RunState[], to: RunState, fields?: { pass?: RunPass; buckets?: readonly BucketCheckpoint[]; finishedAt?: string }): Promise<Run | undefined>;
  /** Saves one bucket's checkpoint, unless the run moved on to another pass meanwhile (false then). */
  checkpoint(runId: string, passAt: number, bucket: number, checkpoint: BucketCheckpoint): Promise<boolean>;
  /** Sent, deferred and suppressed by reason: what the decisions committed (what `baton report` reads). */
  counts(runId: string): Promise<RunCounts>;
  /** Counts a member no decision was committed for (profile gone), once per run and customer. */
  tallyAlone(runId: string, customerId: string, tally: Tally): Promise<void>;
  /**
   * Takes or renews the run's lease for `holder` until `untilMs` (cloud workers: one works on a run
   * at a time); false when another holder's lease has not run out at `nowMs`.
   */
  lease(runId: string, holder: string, untilMs: number, nowMs: number): Promise<boolean>;
}

/** Where the cloud's run starter hands due runs to the run workers (an SQS queue). */
export interface RunQueue {
  enqueue(runIds: readonly string[]): Promise<void>;
}

/** A segment's members, page by page per bucket (lib/adapters/dynamo/segments.ts keeps them in buckets). */
export interface SegmentMemberPages {
  readonly buckets: number;
  page(segmentId: string, bucket: number, cursor: string | undefined, limit: number): Promise<{ customerIds: string[]; cursor?: string }>;
}

// Loyalty (docs/loyalty.md): programmes and their items, the points ledger, the loyalty events.

import type { ProgrammeBook } from '../core/loyalty/items.ts';
import type { LedgerEntry, Lot, LotTake, SaleRecord } from '../core/loyalty/ledger.ts';

/** Where the ledger gets a programme with its promotions, partners and rewards (cached). */
export interface ProgrammeSource {
  book(programmeId: string): Promise<ProgrammeBook | undefined>;
}

/** A member's account in one programme, read consistently with its lots. */
export interface LoyaltyAccount {
  readonly programmeId: string;
  readonly customerId: string;
  readonly balance: number;
  /** Lifetime points earned (what tiers are reached on). */
  readonly earned: number;
  readonly tier?: string | undefined;
  readonly lots: readonly Lot[];
}

/** An event the ledger publishes on the bus (source baton.loyalty); `eventId` makes a copy a duplicate. */
export interface LoyaltyEvent {
  readonly eventId: string;
  readonly detailType: 'PointsEarned' | 'PointsRedeemed' | 'PointsExpiring' | 'PointsExpired' | 'TierChanged' | 'RewardOrdered' | 'SaleAttributed';
  readonly detail: Record<string, unknown>;
}

/** One atomic change of an account: every part is written in one DynamoDB transaction, or none. */
export interface LedgerPosting {
  readonly programmeId: string;
  readonly customerId: string;
  /** Applies once: a posting with a transaction id already written is a duplicate (nothing changes). */
  readonly txId: string;
  readonly payloadHash: string;
  readonly at: string;
  readonly entries: readonly LedgerEntry[];
  /** Net change of the balance; a negative one is conditional on the balance covering it. */
  readonly delta: number;
  /** Added to the lifetime totals of the account. */
  readonly totals?: Partial<Record<'earned' | 'redeemed' | 'reversed' | 'expired' | 'adjusted', number>>;
  readonly tier?: string | undefined;
  readonly newLot?: Lot;
  /** Lots spent from, each conditional on still holding what was read. */
  readonly takes: readonly LotTake[];
  /** Capped rules' use in their period (`ruleId#period`), conditional on what was read. */
  readonly caps?: readonly { readonly key: string; readonly had: number; readonly add: number }[];
  /** Partner-funded points claimed against the partner's budget. */
  readonly partnerBudgets?: readonly { readonly partnerId: string; readonly points: number; readonly limit: number }[];
  /** One unit of a reward claimed against its stock. */
  readonly stock?: { readonly rewardId: string; readonly limit: number };
  /** A sale's record, for its refunds: `create` with the accrual, `update` conditional on what was read. */
  readonly sale?: { readonly saleTxId: string; readonly record: SaleRecord & { readonly lotId?: string }; readonly expectRefunded?: number };
  /** Points funded by / redeemed at partners in the posting's month, for settlement. */
  readonly settlement?: readonly { readonly partnerId: string; readonly funded: number; readonly redeemed: number }[];
  /** A lot's expiry pointer to remove (the expiry job's own postings). */
  readonly expiredLot?: { readonly lotId: string; readonly expiresAt: string };
  /** Published after the commit, and again when a duplicate of the posting arrives. */
  readonly events: readonly LoyaltyEvent[];
}

export type PostingResult =
  | { readonly status: 'committed' }
  | { readonly status: 'duplicate'; readonly events: readonly LoyaltyEvent[] }
  /** A condition failed: `on` says which (balance, lot, cap, sale, budget:<partnerId>, stock, account). */
  | { readonly status: 'refused'; readonly on: string };

export interface SaleOnLedger extends SaleRecord {
  readonly lotId?: string;
}

export interface LoyaltyLedger {
  account(programmeId: string, customerId: string): Promise<LoyaltyAccount | undefined>;
  /** Opens the account (balance 0); false when the customer was a member already. */
  enrol(programmeId: string, customerId: string, at: string): Promise<boolean>;
  /** The programmes the customer is a member of. */
  programmesOf(customerId: string): Promise<string[]>;
  sale(programmeId: string, customerId: string, saleTxId: string): Promise<SaleOnLedger | undefined>;
  capUsed(programmeId: string, customerId: string, keys: readonly string[]): Promise<Map<string, number>>;
  post(posting: LedgerPosting): Promise<PostingResult>;
  /** The member's entries, oldest first. */
  entries(programmeId: string, customerId: string): Promise<LedgerEntry[]>;
  /** Lots whose expiry falls in [from, to): `customerId` and lot, from the expiry pointers. */
  expiring(programmeId: string, from: string, to: string): Promise<{ customerId: string; lotId: string; expiresAt: string }[]>;
  /** Where the last expiry run got to (its pointers before it are all done), and moving it on. */
  expiryCursor(programmeId: string): Promise<string | undefined>;
  setExpiryCursor(programmeId: string, through: string): Promise<void>;
  /** A partner's funded and redeemed points in one month (`yyyy-mm`). */
  settlement(programmeId: string, partnerId: string, month: string): Promise<{ funded: number; redeemed: number }>;
}

export interface LoyaltyEventPublisher {
  publish(events: readonly LoyaltyEvent[]): Promise<void>;
}

/** The offers a customer was exposed to since a time: decisions and their feedback (sent, opened, clicked). */
export interface OfferExposures {
  since(customerId: string, since: string): Promise<import('../core/loyalty/attribution.ts').Exposure[]>;
}

/** Where an attribution is kept: on the sale and on the decision, so the campaign report counts its revenue. */
export interface AttributionStore {
  /** False when the sale was attributed already (a replay): nothing changes. */
  record(customerId: string, saleId: string, attribution: import('../core/loyalty/attribution.ts').Attribution, revenue: number, currency: string, saleAt?: string): Promise<boolean>;
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
  /** Erasure: removes the customer's exposures (of these campaigns, or all); the counts stay, anonymous. */
  forgetExposures(customerId: string, campaignIds?: readonly string[]): Promise<number>;
}

/**
 * The analytical export's pseudonyms (lib/app/export.ts): a keyed hash made with the export's
 * secret and a key kept per customer. Erasure destroys the customer's key, so no one, not even with
 * the secret, can link their exported rows to them again.
 */
export interface Pseudonyms {
  /** The customer's hash function (`label` → hex), the key made on first use; undefined once the customer was forgotten (erased). */
  of(customerId: string): Promise<((label: string) => string) | undefined>;
  /** Destroys the customer's key and marks them forgotten: their changes still in flight are not exported. */
  forget(customerId: string): Promise<void>;
}

/** One changed item, classified by the repository that owns its key (lib/adapters/dynamo/export-sources.ts). */
export type ExportInput =
  | {
      readonly type: 'row';
      /** The change's id (a stream record's, or the item's key for a one-off): hashed before it becomes `row_id`. */
      readonly id: string;
      readonly source: ExportSource;
      readonly customerId: string;
      readonly decisionId?: string;
      readonly newItem: Record<string, unknown>;
      readonly oldItem?: Record<string, unknown> | undefined;
    }
  /** An erasure began (its journal was written): forget these customers. */
  | { readonly type: 'erasure'; readonly id: string; readonly customerIds: readonly string[] };

/** Where export files go: a folder on the laptop, the export bucket in the cloud. */
export interface ExportSink {
  /** Writes the batch as one file under `kind=<kind>/day=<day>/` and says where (relative to the export root); the same rows again replace that file. */
  write(batch: ExportBatch): Promise<string>;
}

// ---- the console (lib/app/console.ts, lib/adapters/dynamo/console-*.ts) ----

/** A versioned item of the rules table as stored (lib/adapters/dynamo/versioned.ts): a rule, a segment. */
export interface StoredRule {
  readonly id: string;
  /** Undefined when the item was written without a whole-number `version` (outside Baton's tools). */
  readonly version: number | undefined;
  /** The item without its keys and version attributes. */
  readonly content: Record<string, unknown>;
  readonly updatedAt?: string;
  readonly updatedBy?: string;
  readonly rolledBackFrom?: number;
}

/** The rules table's versioned rules. */
export interface RuleStore {
  list(): Promise<StoredRule[]>;
  current(id: string): Promise<StoredRule | undefined>;
  versions(id: string, limit?: number): Promise<StoredRule[]>;
  put(content: Record<string, unknown>, by: string): Promise<{ id: string; version: number }>;
  update(id: string, change: Record<string, unknown>, by: string): Promise<{ id: string; version: number } | undefined>;
  rollback(id: string, by: string): Promise<{ status: string; version?: number; restored?: number }>;
}

export const CHANGE_KINDS = ['put', 'disable', 'enable', 'rollback'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** A change a marketer submitted: live only once an approver who is not its author accepts it. */
export interface RuleChange {
  readonly changeId: string;
  readonly ruleId: string;
  readonly kind: ChangeKind;
  /** The rule as it would be written (`put` only). */
  readonly rule?: Record<string, unknown>;
  /** The live version when submitted (null: a new rule); approval refuses a rule changed since. */
  readonly baseVersion: number | null;
  readonly author: string;
  readonly submittedAt: string;
  readonly status: 'pending' | 'approved' | 'rejected';
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly note?: string;
  /** The rule version the approval wrote. */
  readonly version?: number;
}

export type ChangeDecision = Pick<RuleChange, 'status' | 'decidedBy' | 'decidedAt' | 'note'>;

/** One audited step: of a rule change (ruleId, changeId, kind), or another console action (subject). */
export interface AuditEntry {
  readonly at: string;
  readonly who: string;
  readonly what: 'submitted' | 'approved' | 'rejected' | 'applied' | 'paused' | 'resumed' | 'erasure-requested' | 'replayed';
  readonly ruleId?: string;
  readonly changeId?: string;
  readonly kind?: ChangeKind;
  /** What a non-rule action was on, by internal id only: `journey renewal`, `customer cus-…`, `quarantined event …`. */
  readonly subject?: string;
  readonly version?: number;
  readonly note?: string;
}

/** Pending changes and the audit log (lib/adapters/dynamo/console-changes.ts). */
export interface ChangeStore {
  add(change: RuleChange): Promise<void>;
  get(changeId: string): Promise<RuleChange | undefined>;
  list(): Promise<RuleChange[]>;
  /** Sets the decision when the change is still pending; false when someone decided it first. */
  decide(changeId: string, decision: ChangeDecision): Promise<boolean>;
  /** Records the rule version an approved change wrote. */
  applied(changeId: string, version: number): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
  auditLog(limit: number): Promise<AuditEntry[]>;
}

/** A customer's profile as stored, and the decisions made for them. */
export interface CustomerRecord<S> {
  readonly customerId: string;
  readonly version: number;
  readonly identities: readonly string[];
  readonly updatedAt: string;
  readonly state: S;
  /** This profile's id and those merged into it: their decisions are the customer's. */
  readonly customerIds: readonly string[];
}

export interface DecisionWithMessages {
  readonly decision: Record<string, unknown>;
  readonly messages: readonly Record<string, unknown>[];
}

export interface CustomerDirectory<S> {
  /** Customers an external id (of any kind) or a customerId names, with the kind that matched. */
  search(ref: string): Promise<{ customerId: string; kind: IdKind | 'customerId' }[]>;
  load(customerId: string): Promise<CustomerRecord<S> | undefined>;
  decisions(customerIds: readonly string[], limit: number): Promise<{ total: number; decisions: DecisionWithMessages[] }>;
}

/** A journey as the campaigns table keeps it (lib/adapters/dynamo/journeys.ts, the CLI's repository). */
export interface StoredJourney {
  readonly journeyId: string;
  readonly campaignId: string;
  readonly version: number | undefined;
  readonly content: Record<string, unknown>;
  readonly updatedAt?: string;
  readonly updatedBy?: string;
}

export interface JourneyStore {
  list(): Promise<StoredJourney[]>;
  current(journeyId: string): Promise<StoredJourney | undefined>;
  versions(journeyId: string): Promise<StoredJourney[]>;
  /** Writes a validated journey as its next version (conditional on the live one read). */
  put(journey: Journey, by: string): Promise<{ journeyId: string; version: number }>;
}

/** Where a journey's customers are: waiting in a step (by version), or out of it (by how they left). */
export interface JourneyPositions {
  tally(journeyId: string): Promise<{ waiting: { version: number; stepId: string; customers: number }[]; ended: Partial<Record<InstanceStatus, number>>; endReasons: Record<string, number> }>;
}

/** A segment definition as the rules table keeps it (lib/adapters/dynamo/segments.ts): versioned like a rule. */
export type StoredSegment = StoredRule;

export interface SegmentDirectory {
  list(): Promise<StoredSegment[]>;
  current(segmentId: string): Promise<StoredSegment | undefined>;
  /** Members now, per segment (the sharded counters, summed). */
  counts(segmentIds: readonly string[]): Promise<Map<string, number>>;
  /** When each member now in the segment joined it. */
  memberSince(segmentId: string): Promise<string[]>;
}

/** A crm event the console puts on the bus (erasure), as a source system would. */
export interface ConsoleEventPublisher {
  /** The bus's id for the event; throws when the bus refused it. */
  publish(event: { source: string; 'detail-type': string; detail: Record<string, unknown> }): Promise<string>;
}

/** The quarantine as the console and `baton quarantine` read it: the entries of the last days, newest first. */
export interface QuarantineShelf {
  list(days: number): Promise<QuarantinedEvent[]>;
}
