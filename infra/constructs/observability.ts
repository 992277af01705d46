// What ops watch: an alarm on every dead-letter queue, on quarantined events, on function errors
// and on a growing backlog, all notifying one encrypted SNS topic; and the Baton dashboard.
import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CHANNELS } from '../../events/catalog.ts';
import { OUTCOME_METRICS, type MetricName } from '../../lib/contract/metrics.ts';
import type { BatonFunction } from './function.ts';

/** The Powertools metrics the handlers emit (namespace Baton, dimension `service`). */
export const METRICS = {
  evaluate: {
    applied: 'EventsApplied',
    quarantined: 'EventsQuarantined',
    duplicate: 'EventsDuplicate',
    decisions: 'Decisions',
    queued: 'MessagesQueued',
    conflicts: 'CommitConflicts',
    rulesRejected: 'RulesRejected',
  },
  dispatch: { sent: 'MessagesSent', failed: 'MessagesFailed' },
  /** Message outcomes per channel (dimension channel) and per campaign (channel, campaignId), from the aggregates consumer. */
  outcomes: OUTCOME_METRICS,
  journeys: {
    entries: 'JourneyEntries',
    steps: 'JourneySteps',
    conversions: 'JourneyConversions',
    timersCreated: 'JourneyTimersCreated',
    timersFired: 'JourneyTimersFired',
    timersStale: 'JourneyTimersStale',
    timerLateSeconds: 'JourneyTimerLateSeconds',
    customersInStep: 'JourneyCustomersInStep',
  },
} as const satisfies Record<string, Record<string, MetricName>>;

/** A dead-letter queue to alarm on, with what ended up in it. */
export interface WatchedDeadLetterQueue {
  /** Stable id for the alarm construct, e.g. `InboundDlq`. */
  readonly id: string;
  readonly queue: sqs.IQueue;
  /** What a message in it means, for the alarm description. */
  readonly holds: string;
}

export interface ObservabilityProps {
  readonly stage: string;
  readonly bus: events.IEventBus;
  readonly rules: readonly events.Rule[];
  readonly inboundQueue: sqs.IQueue;
  /** Every dead-letter queue of the stack: each gets an alarm at its first message. */
  readonly deadLetterQueues: readonly WatchedDeadLetterQueue[];
  readonly evaluate: BatonFunction;
  readonly dispatch: BatonFunction;
  /** The report aggregates' consumer: with it, the message outcome rates per channel and campaign. @default - no outcome widgets */
  readonly aggregates?: BatonFunction;
  /**
   * Topic alarms notify.
   * @default - a new topic, KMS-encrypted, HTTPS only
   */
  readonly alarmTopic?: sns.ITopic;
  /** E-mail address subscribed to the alarm topic. @default - no subscription */
  readonly alarmEmail?: string;
  /** Quarantined events per 5 minutes that raise the alarm. @default 1 */
  readonly quarantineThreshold?: number;
  /** Age of the oldest inbound message that raises the backlog alarm. @default Duration.minutes(15) */
  readonly backlogAge?: Duration;
  /** Age of the oldest unsent outbox record that raises the dispatch lag alarm. @default Duration.hours(1) */
  readonly dispatchLag?: Duration;
  /** Journey timers' schedule group, for the journeys widgets. @default - no journeys widgets */
  readonly journeys?: { readonly scheduleGroup: scheduler.IScheduleGroup };
}

/** Alarms, their topic and the dashboard. */
export class Observability extends Construct {
  readonly alarmTopic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityProps) {
    super(scope, id);
    this.alarmTopic = props.alarmTopic ?? this.createTopic(props.stage);
    if (props.alarmEmail) {
      const subscription = new sns.Subscription(this, 'AlarmEmail', {
        topic: this.alarmTopic,
        protocol: sns.SubscriptionProtocol.EMAIL,
        endpoint: props.alarmEmail,
      });
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'Alarm e-mails: a DLQ for this subscription would have to alarm through this same topic. SNS retries ' +
          'e-mail delivery itself, and every alarm stays visible in the CloudWatch console.',
      });
    }
    const action = new actions.SnsAction(this.alarmTopic);
    const alarm = (alarmId: string, alarmProps: cloudwatch.AlarmProps) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        ...alarmProps,
      });
      created.addAlarmAction(action);
      this.alarms.push(created);
      return created;
    };

    for (const dlq of props.deadLetterQueues) {
      alarm(`${dlq.id}Alarm`, {
        alarmDescription: `Baton ${props.stage}: a message is in the ${dlq.id} dead-letter queue (${dlq.holds}). See docs/deploy.md, "When an alarm fires".`,
        metric: dlq.queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: cloudwatch.Stats.MAXIMUM,
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }

    alarm('QuarantineAlarm', {
      alarmDescription: `Baton ${props.stage}: events were quarantined (invalid or unknown). Inspect the quarantine table.`,
      metric: props.evaluate.metric(METRICS.evaluate.quarantined),
      threshold: props.quarantineThreshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    });
    for (const fn of [props.evaluate, props.dispatch]) {
      alarm(`${pascal(fn.serviceName)}ErrorsAlarm`, {
        alarmDescription: `Baton ${props.stage}: the ${fn.serviceName} function failed (errors or timeouts).`,
        metric: fn.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      });
    }
    const backlogAge = props.backlogAge ?? Duration.minutes(15);
    alarm('InboundBacklogAlarm', {
      alarmDescription: `Baton ${props.stage}: the oldest inbound event waits longer than ${backlogAge.toMinutes()} minutes.`,
      metric: props.inboundQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(5),
        statistic: cloudwatch.Stats.MAXIMUM,
      }),
      threshold: backlogAge.toSeconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });
    const dispatchLag = props.dispatchLag ?? Duration.hours(1);
    const iteratorAge = props.dispatch.function.metric('IteratorAge', {
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
    });
    alarm('DispatchLagAlarm', {
      alarmDescription: `Baton ${props.stage}: dispatch is more than ${dispatchLag.toMinutes()} minutes behind the outbox; stream records expire after 24 hours.`,
      metric: iteratorAge,
      threshold: dispatchLag.toMilliseconds(),
      evaluationPeriods: 3,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    });

    this.dashboard = this.createDashboard(props, iteratorAge);
  }

  private createTopic(stage: string): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', {
      description: `Baton ${stage}: encrypts the alarm topic`,
      enableKeyRotation: true,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic (AWS's documented key policy).
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToUseTheKey',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    return new sns.Topic(this, 'AlarmTopic', {
      displayName: `Baton ${stage} alarms`,
      masterKey: key,
      enforceSSL: true,
    });
  }

  private createDashboard(props: ObservabilityProps, iteratorAge: cloudwatch.IMetric): cloudwatch.Dashboard {
    const { evaluate, dispatch } = props;
    const fiveMinutes = Duration.minutes(5);
    const eventsIn = props.rules.map(
      (rule) =>
        new cloudwatch.Metric({
          namespace: 'AWS/Events',
          metricName: 'MatchedEvents',
          dimensionsMap: { EventBusName: props.bus.eventBusName, RuleName: rule.ruleName },
          statistic: cloudwatch.Stats.SUM,
          period: fiveMinutes,
          label: rule.node.id,
        }),
    );
    const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
      new cloudwatch.GraphWidget({ title, left, right, width: 12, height: 6 });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `Baton-${props.stage}`,
      defaultInterval: Duration.hours(3),
    });
    dashboard.addWidgets(
      graph('Events in (matched per route)', eventsIn),
      graph('Events applied, quarantined, duplicate', [
        evaluate.metric(METRICS.evaluate.applied, { label: 'applied' }),
        evaluate.metric(METRICS.evaluate.quarantined, { label: 'quarantined' }),
        evaluate.metric(METRICS.evaluate.duplicate, { label: 'duplicate (already applied)' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Decisions and messages queued',
        [
          evaluate.metric(METRICS.evaluate.decisions, { label: 'decisions' }),
          evaluate.metric(METRICS.evaluate.queued, { label: 'messages queued' }),
        ],
        [
          evaluate.metric(METRICS.evaluate.conflicts, { label: 'commit conflicts (retried)' }),
          evaluate.metric(METRICS.evaluate.rulesRejected, { label: 'rules rejected' }),
        ],
      ),
      graph('Messages sent and failed', [
        dispatch.metric(METRICS.dispatch.sent, { label: 'sent' }),
        dispatch.metric(METRICS.dispatch.failed, { label: 'failed' }),
      ]),
    );
    dashboard.addWidgets(
      graph(
        'Dead-letter queue depths',
        props.deadLetterQueues.map((dlq) =>
          dlq.queue.metricApproximateNumberOfMessagesVisible({
            label: dlq.id,
            statistic: cloudwatch.Stats.MAXIMUM,
            period: fiveMinutes,
          }),
        ),
      ),
      graph(
        'Backlog',
        [props.inboundQueue.metricApproximateNumberOfMessagesVisible({ label: 'inbound visible', period: fiveMinutes })],
        [
          props.inboundQueue.metricApproximateAgeOfOldestMessage({ label: 'inbound oldest (s)', period: fiveMinutes }),
          iteratorAge,
        ],
      ),
    );
    dashboard.addWidgets(
      graph(
        'Function errors and throttles',
        [evaluate, dispatch].flatMap((fn) => [
          fn.function.metricErrors({ label: `${fn.serviceName} errors`, period: fiveMinutes }),
          fn.function.metricThrottles({ label: `${fn.serviceName} throttles`, period: fiveMinutes }),
        ]),
      ),
      graph(
        'Function duration (p50, p99)',
        [evaluate, dispatch].flatMap((fn) => [
          fn.function.metricDuration({ label: `${fn.serviceName} p50`, statistic: 'p50', period: fiveMinutes }),
          fn.function.metricDuration({ label: `${fn.serviceName} p99`, statistic: 'p99', period: fiveMinutes }),
        ]),
      ),
    );
    if (props.journeys) this.addJourneyWidgets(dashboard, evaluate, props.journeys.scheduleGroup, graph);
    if (props.aggregates) this.addOutcomeWidgets(dashboard, props.aggregates, graph);
    return dashboard;
  }

  /**
   * Sends, deliveries, opens, clicks, bounces and complaints as rates: per channel one line each
   * (metric math over the channel's counts), per campaign (SEARCH finds the campaigns; metric math
   * cannot divide one search by another, so per campaign the figures are counts, 1 h periods, and
   * `baton report campaign` gives the campaign's rates).
   */
  private addOutcomeWidgets(
    dashboard: cloudwatch.Dashboard,
    aggregates: BatonFunction,
    graph: (title: string, left: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) => cloudwatch.GraphWidget,
  ): void {
    const m = METRICS.outcomes;
    const hour = Duration.hours(1);
    const perChannel = (channel: string) => {
      // Metric ids are unique per graph: each channel's ids carry its name.
      const id = (figure: string) => `${channel}${pascal(figure)}`;
      const using = Object.fromEntries(
        Object.entries(m).map(([figure, name]) => [id(figure), aggregates.metric(name, { dimensionsMap: { service: aggregates.serviceName, channel }, period: hour })]),
      );
      const rate = (label: string, part: string, whole: string) =>
        new cloudwatch.MathExpression({ expression: `100 * ${id(part)} / ${id(whole)}`, usingMetrics: using, label: `${channel} ${label} %`, period: hour });
      return {
        rates: [rate('delivery', 'delivered', 'sent'), rate('open', 'opened', 'delivered'), rate('click', 'clicked', 'delivered')],
        problems: [rate('bounce', 'bounced', 'sent'), rate('complaint', 'complained', 'delivered')],
      };
    };
    const channels = CHANNELS.map(perChannel);
    dashboard.addWidgets(
      graph('Channels: delivery, open and click rates (%)', channels.flatMap((c) => c.rates)),
      graph('Channels: bounce and complaint rates (%)', channels.flatMap((c) => c.problems)),
    );
    const search = (name: string) =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{Baton,service,channel,campaignId} MetricName="${name}"', 'Sum', 3600)`,
        label: '',
        period: hour,
      });
    dashboard.addWidgets(
      graph('Campaigns: sent and delivered per channel and campaign', [search(m.sent), search(m.delivered)]),
      graph('Campaigns: opens, clicks, bounces and complaints per channel and campaign', [search(m.opened), search(m.clicked)], [search(m.bounced), search(m.complained)]),
    );
  }

  /** Customers moving through journeys, timers due and late (evaluate's metrics, Scheduler's own). */
  private addJourneyWidgets(
    dashboard: cloudwatch.Dashboard,
    evaluate: BatonFunction,
    group: scheduler.IScheduleGroup,
    graph: (title: string, left: cloudwatch.IMetric[], right?: cloudwatch.IMetric[]) => cloudwatch.GraphWidget,
  ): void {
    const m = METRICS.journeys;
    const fiveMinutes = Duration.minutes(5);
    const perStep = new cloudwatch.MathExpression({
      // One line per journey and step: the engine counts +1 in, -1 out, dimensions journeyId and stepId.
      expression: `SEARCH('{Baton,service,journeyId,stepId} MetricName="${m.customersInStep}"', 'Sum', 300)`,
      label: '',
      period: fiveMinutes,
    });
    dashboard.addWidgets(
      graph('Journeys: customers into (+) and out of (-) each step, net per 5 minutes', [perStep]),
      graph(
        'Journeys: entries, steps, conversions',
        [
          evaluate.metric(m.entries, { label: 'entries' }),
          evaluate.metric(m.steps, { label: 'steps decided' }),
          evaluate.metric(m.conversions, { label: 'conversions (goal reached)' }),
        ],
      ),
    );
    dashboard.addWidgets(
      graph(
        'Journey timers: created and due (fired)',
        [
          evaluate.metric(m.timersCreated, { label: 'created' }),
          evaluate.metric(m.timersFired, { label: 'due (fired into evaluate)' }),
          evaluate.metric(m.timersStale, { label: 'stale (position had moved on)' }),
        ],
        [
          group.metricTargetErrors({ label: 'Scheduler: target errors', period: fiveMinutes }),
          group.metricSentToDLQ({ label: 'Scheduler: sent to the timer DLQ', period: fiveMinutes }),
          group.metricDropped({ label: 'Scheduler: dropped', period: fiveMinutes }),
        ],
      ),
      graph('Journey timers: late (seconds after due, max and p90)', [
        evaluate.metric(m.timerLateSeconds, { label: 'late max (s)', statistic: cloudwatch.Stats.MAXIMUM }),
        evaluate.metric(m.timerLateSeconds, { label: 'late p90 (s)', statistic: 'p90' }),
      ]),
    );
  }
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
