// Metric names and their namespace: the domain counts them, CloudWatch alarms and the dashboard read them.
export const METRICS_NAMESPACE = 'Baton';

export const METRIC_NAMES = [
  'EventsApplied',
  'EventsDuplicate',
  'EventsQuarantined',
  'EventsForErasedCustomers',
  'CustomersErased',
  'CommitConflicts',
  'Decisions',
  'MessagesQueued',
  'MessagesSent',
  'MessagesFailed',
  'RulesRejected',
  'MessagesSuppressed',
  'MessagesHeld',
  'MessagesDeadLettered',
  'MessagesUnconfirmed',
  'DeliverabilityPaused',
  'SmsBudgetExhausted',
  'OffersPresented',
  'DecisionRequests',
  'Unsubscribes',
  'JourneyEntries',
  'JourneySteps',
  'JourneyConversions',
  'JourneyTimersCreated',
  'JourneyTimersStale',
  'JourneysRejected',
  /** A journey timer reached evaluate (the dashboard's "timers due"). */
  'JourneyTimersFired',
  /** Seconds a fired timer arrived after its due time (value = seconds; the dashboard's "timers late"). */
  'JourneyTimerLateSeconds',
  /** +1 when a customer enters a step, −1 when they leave it, with dimensions journeyId and stepId. */
  'JourneyCustomersInStep',
  'SegmentsRejected',
  'SegmentsEntered',
  'SegmentsLeft',
  /** A business-context fact (stock, team load, promotion) replaced the one kept (docs/context.md). */
  'ContextFactsApplied',
  /** A context fact older than the one kept: ignored, so order of arrival does not matter. */
  'ContextFactsStale',
  /** A context refresh failed: decisions go on with the last good context. */
  'ContextRefreshFailed',
  /** Destination items (docs/destinations.md) skipped at load for failing their schema (the reason is logged). */
  'DestinationsRejected',
  /** Destination deliveries: delivered, retried after a 429 or 5xx, and dead-lettered (retries spent, or refused). */
  'DestinationDeliveries',
  'DestinationRetries',
  'DestinationsDeadLettered',
  /** Outbound runs (docs/campaigns.md): runs started and finished, members decided by a run. */
  'RunsStarted',
  'RunsDone',
  'RunMembersDecided',
  /** Loyalty ledger postings committed, duplicates taken as no-ops, retries after a changed account (docs/loyalty.md). */
  'LoyaltyPostings',
  'LoyaltyDuplicates',
  'LoyaltyConflicts',
  'LoyaltyPartnerBudgetExhausted',
  /** Loyalty items skipped at load for failing their schema (the reason is logged). */
  'LoyaltyItemsRejected',
  /** POS sales attributed to an offer, once per sale (docs/loyalty.md). */
  'SalesAttributed',
  // Message outcomes per channel (dimension channel) and per campaign (channel, campaignId), from
  // the report aggregates' consumer: counted once, on the message's first change to each.
  'ChannelSent',
  'ChannelDelivered',
  'ChannelOpened',
  'ChannelClicked',
  'ChannelBounced',
  'ChannelComplained',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

/** The dashboard's metric for each message figure of the report aggregates (per channel, and per channel and campaign). */
export const OUTCOME_METRICS = {
  sent: 'ChannelSent',
  delivered: 'ChannelDelivered',
  opened: 'ChannelOpened',
  clicked: 'ChannelClicked',
  bounced: 'ChannelBounced',
  complained: 'ChannelComplained',
} as const satisfies Record<string, MetricName>;
