// The outbound channels: the dispatch function reading the decisions outbox (DynamoDB stream),
// the SES configuration set whose events land on the default bus, the rule that forwards them to
// the Baton bus, and the permissions to send e-mail (SES), SMS and mobile push (SNS) and device
// messages (IoT Core).
import { CfnOutput, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq, SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SOURCES } from '../../events/catalog.ts';
import { ENV } from '../../lib/contract/config.ts';
import { METRICS_NAMESPACE } from '../../lib/contract/metrics.ts';
import { DEVICE_TOPIC_PREFIX, SES_FORWARDING_PATTERN } from '../../lib/contract/routes.ts';
import { putEventsStatement } from './access.ts';
import { BatonFunction } from './function.ts';
import { deadLetterQueue, queueDefaults } from './pipeline.ts';
import type { Tables } from './tables.ts';

/** MQTT topics device messages are published to: `baton/devices/<deviceId>/...` (lib/adapters/aws/iot.ts). */
export { DEVICE_TOPIC_PREFIX };

/** Messages per second each channel takes, for the whole account. */
export type ChannelCapacityPerSecond = Partial<Record<'email' | 'sms' | 'push' | 'device' | 'bus', number>>;

/**
 * SES's default production sending rate (14/s), one SNS toll-free number (3/s), and generous
 * rates for SNS mobile push, IoT Core and EventBridge, whose quotas are far higher.
 */
export const DEFAULT_CHANNEL_CAPACITY: Required<ChannelCapacityPerSecond> = { email: 14, sms: 3, push: 100, device: 100, bus: 250 };

export interface ChannelsProps {
  readonly stage: string;
  /** The Baton bus: dispatch publishes `baton` events to it; SES feedback is forwarded to it. */
  readonly bus: events.IEventBus;
  readonly tables: Tables;
  /** Environment every function gets (stage, bus name...), besides the table names. */
  readonly environment: Record<string, string>;
  /** Where EventBridge writes SES feedback it could not forward to the Baton bus. */
  readonly targetDeadLetterQueue: sqs.IQueue;
  /**
   * The From address of every e-mail. Its domain (or the address) must be a verified SES identity;
   * Baton does not create it unless `createSenderIdentity` is set.
   */
  readonly senderEmail: string;
  /**
   * Create the SES domain identity for the sender's domain (Easy DKIM); ops then add the three
   * DKIM CNAME records from the stack outputs to their DNS.
   * @default false - ops verify the domain in SES themselves
   */
  readonly createSenderIdentity?: boolean;
  /** @default `baton-<stage>` */
  readonly configurationSetName?: string;
  /**
   * Base URL of the unsubscribe page put into e-mails; links are signed with a generated secret.
   * @default - no unsubscribe links
   */
  readonly unsubscribeUrl?: string;
  /**
   * Account-specific IoT Core data endpoint (`aws iot describe-endpoint --endpoint-type iot:Data-ATS`).
   * @default - the SDK's default endpoint for the Region
   */
  readonly iotEndpoint?: string;
  /** Allow direct-to-phone SMS through SNS (needs `Resource: "*"`, see below). @default true */
  readonly smsEnabled?: boolean;
  /**
   * Reserved concurrency of dispatch: bounds parallel sends so the SES sending rate (14/s on a
   * new production account, 1/s in the sandbox) and SMS throughput are not overrun. 0 leaves
   * it unreserved (needed on accounts whose concurrency quota is still 10).
   * @default 5
   */
  readonly dispatchConcurrency?: number;
  /** @default Duration.seconds(30) */
  readonly dispatchTimeout?: Duration;
  /** Stream retries of a failing batch before it goes to the dispatch DLQ. @default 10 */
  readonly streamRetryAttempts?: number;
  /** Oldest outbox record dispatch still sends; older ones go to the DLQ. @default Duration.hours(6) */
  readonly maxRecordAge?: Duration;
  /**
   * Messages per second per channel for the whole account; each dispatch instance takes its share
   * (rate ÷ reserved concurrency) with a token bucket. @default DEFAULT_CHANNEL_CAPACITY
   */
  readonly channelCapacity?: ChannelCapacityPerSecond;
  /** Baton's hard monthly SMS budget in US dollars, enforced before each send. @default 1 */
  readonly smsMonthlyBudgetUsd?: number;
  /** Price of one SMS part (AWS + carrier) in US dollars, counted against the budget. @default 0.01 */
  readonly smsCostPerPartUsd?: number;
}

/** Dispatch, the SES configuration set and the feedback forwarding rule. */
export class Channels extends Construct {
  readonly dispatch: BatonFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly configurationSet: ses.ConfigurationSet;
  readonly sesForwardingRule: events.Rule;
  /** Where messages held by quiet hours wait (SQS delay), read by dispatch. */
  readonly heldQueue: sqs.Queue;
  /** Deliverability guard closed (marketing e-mail paused) and SMS budget spent; actions added by the stack. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** Signs unsubscribe links; only when `unsubscribeUrl` is set. */
  readonly unsubscribeSecret?: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: ChannelsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const senderDomain = domainOf(props.senderEmail);

    // SES can only publish events to the default bus; a rule there forwards them to the Baton bus.
    const defaultBus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    this.configurationSet = new ses.ConfigurationSet(this, 'ConfigurationSet', {
      configurationSetName: props.configurationSetName ?? `baton-${props.stage}`,
      reputationMetrics: true,
      sendingEnabled: true,
      suppressionReasons: ses.SuppressionReasons.BOUNCES_AND_COMPLAINTS,
      tlsPolicy: ses.ConfigurationSetTlsPolicy.REQUIRE,
    });
    this.configurationSet.addEventDestination('ToDefaultBus', {
      destination: ses.EventDestination.eventBus(defaultBus),
      // Every event type: sent, delivered, bounced, complaint, rejected, opened, clicked, ...
    });

    const forwardingRole = new iam.Role(this, 'SesForwardingRole', {
      assumedBy: new iam.ServicePrincipal('events.amazonaws.com').withConditions({
        StringEquals: { 'aws:SourceAccount': stack.account },
      }),
      description: 'Baton: lets EventBridge forward SES events from the default bus to the Baton bus',
    });
    this.sesForwardingRule = new events.Rule(this, 'SesForwarding', {
      eventBus: defaultBus,
      description: 'Forwards SES feedback (aws.ses) from the default bus to the Baton bus',
      eventPattern: SES_FORWARDING_PATTERN as events.EventPattern,
      // EventBridge accepts no RetryPolicy on event-bus targets (aws-events-targets EventBusProps):
      // the default (24 h, 185 attempts) applies, then the DLQ.
      targets: [new targets.EventBus(props.bus, { role: forwardingRole, deadLetterQueue: props.targetDeadLetterQueue })],
    });

    if (props.createSenderIdentity) {
      const identity = new ses.EmailIdentity(this, 'SenderIdentity', {
        identity: ses.Identity.domain(senderDomain),
        configurationSet: this.configurationSet,
      });
      for (const n of [1, 2, 3] as const) {
        new CfnOutput(stack, `SenderDkimRecord${n}`, {
          value: `${identity[`dkimDnsTokenName${n}`]} CNAME ${identity[`dkimDnsTokenValue${n}`]}`,
          description: `DNS record ${n} of 3 that verifies ${senderDomain} for SES (Easy DKIM)`,
        });
      }
    }

    // Unsubscribe links are signed (HMAC) with a generated secret. Functions get its ARN and read
    // the value from Secrets Manager at run time: the value is in no template, assembly or function
    // configuration (anyone with lambda:GetFunctionConfiguration would see an environment variable).
    let unsubscribe: Record<string, string> = {};
    if (props.unsubscribeUrl) {
      this.unsubscribeSecret = new secretsmanager.Secret(this, 'UnsubscribeSecret', {
        description: `Baton ${props.stage}: signs unsubscribe links in e-mails`,
        generateSecretString: { passwordLength: 48, excludePunctuation: true },
      });
      Validations.of(this.unsubscribeSecret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'HMAC key of the unsubscribe links already delivered in e-mails: rotating it would break every link ' +
          'sent before. Rotate by hand (new value + deploy) if it leaks.',
      });
      unsubscribe = {
        [ENV.unsubscribeBaseUrl]: props.unsubscribeUrl,
        [ENV.unsubscribeSecretArn]: this.unsubscribeSecret.secretArn,
      };
    }

    // The dispatch function and its outbox stream.
    const dispatchConcurrency = props.dispatchConcurrency ?? 5;
    const dispatchTimeout = props.dispatchTimeout ?? Duration.seconds(30);
    // Permanent send failures and stream batches that kept failing end here; an alarm watches it.
    this.deadLetterQueue = deadLetterQueue(this, 'Dlq', true, props.tables.encryptionKey);
    this.heldQueue = new sqs.Queue(this, 'Held', {
      ...queueDefaults(props.tables.encryptionKey),
      visibilityTimeout: Duration.seconds(6 * dispatchTimeout.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    const capacity = { ...DEFAULT_CHANNEL_CAPACITY, ...props.channelCapacity };
    const share = Math.max(1, dispatchConcurrency);
    const rates = Object.fromEntries(Object.entries(capacity).map(([c, r]) => [c, Math.round((r / share) * 1000) / 1000]));
    this.dispatch = new BatonFunction(this, 'Dispatch', {
      entry: 'functions/dispatch.ts',
      serviceName: 'dispatch',
      description: 'Baton: sends the messages decisions ask for (e-mail, SMS, push, device, bus action)',
      timeout: dispatchTimeout,
      reservedConcurrentExecutions: dispatchConcurrency > 0 ? dispatchConcurrency : undefined,
      environment: {
        ...props.environment,
        ...props.tables.environment(),
        [ENV.sender]: props.senderEmail,
        [ENV.sesConfigurationSet]: this.configurationSet.configurationSetName,
        ...unsubscribe,
        ...(props.iotEndpoint ? { [ENV.iotEndpoint]: httpsUrl(props.iotEndpoint) } : {}),
        [ENV.heldQueueUrl]: this.heldQueue.queueUrl,
        [ENV.dispatchDeadLetterQueueUrl]: this.deadLetterQueue.queueUrl,
        [ENV.channelRates]: JSON.stringify(rates),
        [ENV.smsMonthlyBudgetUsd]: String(props.smsMonthlyBudgetUsd ?? 1),
        [ENV.smsCostPerPartUsd]: String(props.smsCostPerPartUsd ?? 0.01),
      },
    });
    const role = this.dispatch.role;
    this.unsubscribeSecret?.grantRead(role);
    // Load the customer and the template (Get); claim, mark, complete or release the outbox message
    // (Update); reserve and refund the SMS budget (Update); the deliverability guard's counts (Query).
    props.tables.grantData(role, {
      customers: ['GetItem'],
      templates: ['GetItem'],
      decisions: ['UpdateItem'],
      counters: ['UpdateItem', 'Query'],
      // A template that names `loyalty` shows the member's balance and next expiry: the account (Get),
      // its lots, the memberships and the programme's items (Query) (docs/loyalty.md).
      ledger: ['GetItem', 'Query'],
      // A deferred call is checked again at delivery: the team's load (context) and its policy's quiet hours (campaigns), both cached Scans.
      context: ['Scan'],
      campaigns: ['Scan'],
    });
    const decisions = props.tables.tables.decisions;

    this.heldQueue.grantSendMessages(role);
    this.deadLetterQueue.grantSendMessages(role);
    this.dispatch.function.addEventSource(new SqsEventSource(this.heldQueue, { batchSize: 10, reportBatchItemFailures: true }));
    Validations.of(this.dispatch.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'The held-messages queue has no on-failure destination (SQS event sources cannot have one): a held message that ' +
        'keeps failing moves to the dispatch DLQ after 5 receives through the redrive policy, and an alarm watches that DLQ.',
    });
    this.dispatch.function.addEventSource(
      new DynamoEventSource(decisions, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 10,
        bisectBatchOnError: true,
        retryAttempts: props.streamRetryAttempts ?? 10,
        maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
        parallelizationFactor: 1,
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(this.deadLetterQueue),
      }),
    );

    // E-mail: only from the configured sender, through Baton's configuration set. The identity
    // resource is any identity because SES also authorizes the recipient's identity while the
    // account is in the sandbox; the ses:FromAddress condition pins the sender.
    const identities = stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' });
    const configurationSetArn = stack.formatArn({
      service: 'ses',
      resource: 'configuration-set',
      resourceName: this.configurationSet.configurationSetName,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ses:SendEmail'],
        resources: [identities, configurationSetArn],
        conditions: { StringEquals: { 'ses:FromAddress': props.senderEmail } },
      }),
    );
    // Mobile push: SNS platform endpoints of this account and Region.
    const endpoints = stack.formatArn({ service: 'sns', resource: 'endpoint', resourceName: '*' });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sns:Publish'], resources: [endpoints] }));
    // Device messages: one MQTT topic per device under baton/devices/.
    const deviceTopics = stack.formatArn({ service: 'iot', resource: 'topic', resourceName: `${DEVICE_TOPIC_PREFIX}/*` });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['iot:Publish'], resources: [deviceTopics] }));
    // Bus actions: only Baton's own source.
    role.addToPrincipalPolicy(putEventsStatement(props.bus.eventBusArn, SOURCES.baton));

    for (const [resource, reason] of [
      [nagArn(stack, 'ses', 'identity/*'), 'SES authorizes ses:SendEmail on the sender identity and, in the sandbox, on each recipient identity; the statement is pinned to the configured sender with the ses:FromAddress condition.'],
      [nagArn(stack, 'sns', 'endpoint/*'), 'One SNS platform endpoint per customer device is created at run time; the statement allows only sns:Publish to endpoints of this account and Region, no topics.'],
      [nagArn(stack, 'iot', `topic/${DEVICE_TOPIC_PREFIX}/*`), 'One MQTT topic per device (baton/devices/<deviceId>/...); the statement allows only iot:Publish under that prefix.'],
    ] as const) {
      Validations.of(role).acknowledge({ id: `AwsSolutions-IAM5[Resource::${resource}]`, reason });
    }

    if (props.smsEnabled ?? true) {
      // Publishing an SMS to a phone number has no resource ARN: IAM only accepts Resource "*".
      // Kept in its own policy so this acknowledgement covers nothing else.
      const sms = new iam.Policy(this, 'SmsPolicy', {
        statements: [new iam.PolicyStatement({ actions: ['sns:Publish'], resources: ['*'] })],
      });
      sms.attachToRole(role);
      Validations.of(sms).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'SNS direct-to-phone SMS (Publish with PhoneNumber) supports no resource-level permission, so AWS ' +
          'requires Resource "*"; the policy holds this single action. Turn SMS off with -c smsEnabled=false.',
      });
    }

    // The deliverability guard paused marketing e-mail; the SMS budget is spent.
    const dispatchMetric = (metricName: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: 'dispatch' }, statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5) });
    for (const [id, metricName, what] of [
      ['DeliverabilityAlarm', 'DeliverabilityPaused', 'marketing e-mail is paused: the rolling hard-bounce rate passed 2 % or the complaint rate 0.08 % (SES reviews at 5 % and 0.1 %)'],
      ['SmsBudgetAlarm', 'SmsBudgetExhausted', `the monthly SMS budget ($${props.smsMonthlyBudgetUsd ?? 1}) is spent; SMS are suppressed until next month`],
    ] as const) {
      this.alarms.push(
        new cloudwatch.Alarm(this, id, {
          alarmDescription: `Baton ${props.stage}: ${what}. See docs/channels.md.`,
          metric: dispatchMetric(metricName),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    new CfnOutput(stack, 'SesConfigurationSetName', {
      value: this.configurationSet.configurationSetName,
      description: 'SES configuration set every Baton e-mail is sent with',
    });
  }
}

/** The domain of an e-mail address; an error names the value when it is not one. */
export function domainOf(email: string): string {
  const match = /^[^@\s]+@([^@\s]+\.[^@\s]+)$/.exec(email);
  if (!match?.[1]) throw new Error(`senderEmail is "${email}"; expected an e-mail address such as offers@example.com`);
  return match[1];
}

function httpsUrl(endpoint: string): string {
  return /^https?:\/\//.test(endpoint) ? endpoint : `https://${endpoint}`;
}

/** An ARN of this stack as cdk-nag prints it in finding ids, e.g. `arn:<AWS::Partition>:sns:<AWS::Region>:...`. */
function nagArn(stack: Stack, service: string, resource: string): string {
  const show = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
  return `arn:${show(stack.partition, 'AWS::Partition')}:${service}:${show(stack.region, 'AWS::Region')}:${show(stack.account, 'AWS::AccountId')}:${resource}`;
}
