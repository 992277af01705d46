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
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
