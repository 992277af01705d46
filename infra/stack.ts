// BatonStack: everything `cdk deploy` puts in an AWS account, composed from the named constructs
// in infra/constructs/. Settings come as typed props; infra/app.ts reads them from CDK context.
import { Destinations, type DestinationTarget } from './constructs/destinations.ts';
import { CfnOutput, Duration, Stack, Token, Validations, type StackProps } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { AwsSolutionsChecks, ServerlessChecks, type NagPackProps } from 'cdk-nag';
import type { Construct, IConstruct } from 'constructs';
import type { SourceSystem } from '../events/catalog.ts';
import { ENV } from '../lib/contract/config.ts';
import { BUS_NAME } from '../lib/contract/routes.ts';
import { Access } from './constructs/access.ts';
import { DecisionApi } from './constructs/api.ts';
import { Journeys } from './constructs/journeys.ts';
import { Bus, type CrossAccountPublisher } from './constructs/bus.ts';
import { Console } from './constructs/console.ts';
import { Channels } from './constructs/channels.ts';
import { Reports } from './constructs/reports.ts';
import { AnalyticalExport } from './constructs/export.ts';
import { Observability } from './constructs/observability.ts';
import { Pipeline } from './constructs/pipeline.ts';
import { Runs } from './constructs/runs.ts';
import { Loyalty } from './constructs/loyalty.ts';
import { Tables } from './constructs/tables.ts';

export interface BatonStackProps extends StackProps {
  /** Stage name: part of table, configuration set and dashboard names. @default 'dev' */
  readonly stage?: string;
  /** From address of every e-mail; its domain must be verified in SES. */
  readonly senderEmail: string;
  /** Create the SES domain identity of the sender (Easy DKIM). @default false */
  readonly createSenderIdentity?: boolean;
  /** E-mail address that receives alarms. @default - none (subscribe to the topic yourself) */
  readonly alarmEmail?: string;
  /** ARN of an existing SNS topic for alarms. @default - a new encrypted topic */
  readonly alarmTopicArn?: string;
  /**
   * Keep tables, their key and the data when the stack is deleted; deletion protection on.
   * @default true for stage `prod`, false otherwise
   */
  readonly retainData?: boolean;
  /** @default BUS_NAME (`baton`) */
  readonly busName?: string;
  /** Days the bus archive keeps events for replay; 0 keeps them forever. @default 365 */
  readonly archiveRetentionDays?: number;
  /**
   * Who may assume the publisher roles (context `publisherPrincipal`: a role/user ARN or an account id).
   * @default - per system, IAM roles and users of this account tagged `baton:publisher=<system>`
   * that are allowed `sts:AssumeRole` on the role by their own policy (never the whole account)
   */
  readonly publisherPrincipal?: iam.IPrincipal;
  /** Per-system override of `publisherPrincipal` (context `publisherPrincipal.<system>`). */
  readonly publisherPrincipals?: Partial<Record<SourceSystem, iam.IPrincipal>>;
  /** Publishers in other accounts, through a bus resource policy. @default none */
  readonly crossAccountPublishers?: readonly CrossAccountPublisher[];
  /** Base URL of the unsubscribe page. @default - none */
  readonly unsubscribeUrl?: string;
  /** Account-specific IoT Core data endpoint for device messages. @default - SDK default */
  readonly iotEndpoint?: string;
  /** Allow SMS through SNS. @default true */
  readonly smsEnabled?: boolean;
  /** Reserved concurrency of dispatch (0: unreserved). @default 5 */
  readonly dispatchConcurrency?: number;
  /** Baton's hard monthly SMS budget in US dollars. @default 1 */
  readonly smsMonthlyBudgetUsd?: number;
  /** Loyalty partners that publish their sales (one role each: infra/constructs/loyalty.ts). @default none */
  readonly loyaltyPartners?: readonly string[];
  /** Who may assume a partner's role, per partner id (context `loyaltyPartners=<id>=<account or ARN>`). @default principals of this account tagged `baton:publisher=partner:<id>` */
  readonly loyaltyPartnerPrincipals?: Readonly<Record<string, iam.IPrincipal>>;
  /** Other systems' HTTP APIs that bus actions name (docs/destinations.md). @default none */
  readonly destinations?: readonly DestinationTarget[];
}

/** Baton in one stack: bus, tables, pipeline, channels, observability and access. */
export class BatonStack extends Stack {
  readonly stage: string;
  readonly bus: Bus;
  readonly tables: Tables;
  readonly pipeline: Pipeline;
  readonly channels: Channels;
  readonly reports: Reports;
  readonly analyticalExport: AnalyticalExport;
  readonly observability: Observability;
  readonly access: Access;
  readonly decisionApi: DecisionApi;
  readonly journeys: Journeys;
  readonly runs: Runs;
  readonly loyalty: Loyalty;
  readonly destinations: Destinations;
  readonly console: Console;

  constructor(scope: Construct, id: string, props: BatonStackProps) {
    super(scope, id, {
      description: 'Baton: serverless real-time customer engagement',
      ...props,
    });
    const stage = props.stage ?? 'dev';
    if (!/^[a-z][a-z0-9-]{0,19}$/.test(stage)) {
      throw new Error(`stage is "${stage}"; expected 1-20 lower-case letters, digits or dashes, starting with a letter`);
    }
    this.stage = stage;
    if (Token.isUnresolved(this.region)) {
      // TableV2 with a customer-managed key renders its replica's key per Region.
      throw new Error(
        'BatonStack has no Region; expected env.region (the CDK CLI sets CDK_DEFAULT_REGION from your profile or AWS_REGION)',
      );
    }
    const retainData = props.retainData ?? stage === 'prod';

    this.tables = new Tables(this, 'Tables', { stage, retainData });
    this.bus = new Bus(this, 'Bus', {
      busName: props.busName ?? BUS_NAME,
      archiveRetention: Duration.days(props.archiveRetentionDays ?? 365),
      archiveKey: this.tables.encryptionKey,
      crossAccountPublishers: props.crossAccountPublishers,
    });
    const environment = { [ENV.stage]: stage, [ENV.busName]: this.bus.bus.eventBusName };

    this.pipeline = new Pipeline(this, 'Pipeline', { bus: this.bus.bus, tables: this.tables, environment });
    this.journeys = new Journeys(this, 'Journeys', {
      stage,
      key: this.tables.encryptionKey,
      evaluateQueue: this.pipeline.inboundQueue,
      timerWriters: [this.pipeline.evaluate],
    });
    // Outbound runs and the daily segment refresh (infra/constructs/runs.ts).
    this.runs = new Runs(this, 'Runs', { stage, bus: this.bus.bus, tables: this.tables, environment });
    // Partner roles and the daily expiry run (infra/constructs/loyalty.ts).
    this.loyalty = new Loyalty(this, 'Loyalty', {
      stage, bus: this.bus.bus, tables: this.tables, environment,
      scheduleDeadLetterQueue: this.runs.scheduleDeadLetterQueue,
      partners: props.loyaltyPartners,
      ...(props.loyaltyPartnerPrincipals ? { partnerPrincipals: props.loyaltyPartnerPrincipals } : {}),
    });
    this.channels = new Channels(this, 'Channels', {
      stage,
      bus: this.bus.bus,
      tables: this.tables,
      environment,
      targetDeadLetterQueue: this.pipeline.targetDeadLetterQueue,
      senderEmail: props.senderEmail,
      createSenderIdentity: props.createSenderIdentity,
      unsubscribeUrl: props.unsubscribeUrl,
      iotEndpoint: props.iotEndpoint,
      smsEnabled: props.smsEnabled,
      dispatchConcurrency: props.dispatchConcurrency,
      smsMonthlyBudgetUsd: props.smsMonthlyBudgetUsd,
    });
    this.reports = new Reports(this, 'Reports', { tables: this.tables, environment, deadLetterQueue: this.channels.deadLetterQueue });
    this.analyticalExport = new AnalyticalExport(this, 'Export', { stage, tables: this.tables, environment, deadLetterQueue: this.channels.deadLetterQueue });
    // Ingest converts exposures when a goal event (a completed sale) is applied.
    this.tables.grantData(this.pipeline.evaluate.role, { aggregates: ['Query', 'UpdateItem'] });
    this.decisionApi = new DecisionApi(this, 'DecisionApi', {
      stage,
      bus: this.bus.bus,
      tables: this.tables,
      environment,
      unsubscribeSecret: this.channels.unsubscribeSecret,
    });
    // The marketer's console: site, user pool and API (infra/constructs/console.ts).
    this.console = new Console(this, 'Console', { stage, tables: this.tables, environment, bus: this.bus.bus, retainUsers: retainData });
    this.observability = new Observability(this, 'Observability', {
      stage,
      bus: this.bus.bus,
      rules: this.pipeline.rules,
      inboundQueue: this.pipeline.inboundQueue,
      deadLetterQueues: [
        { id: 'InboundDlq', queue: this.pipeline.inboundDeadLetterQueue, holds: 'events evaluate failed 5 times' },
        { id: 'TargetDlq', queue: this.pipeline.targetDeadLetterQueue, holds: 'events EventBridge could not deliver' },
        { id: 'DispatchDlq', queue: this.channels.deadLetterQueue, holds: 'decisions stream batches dispatch could not send or the report aggregates could not count' },
        { id: 'TimerDlq', queue: this.journeys.deadLetterQueue, holds: 'journey timers EventBridge Scheduler could not deliver to the inbound queue' },
        { id: 'RunDlq', queue: this.runs.deadLetterQueue, holds: 'outbound runs a run worker failed on 5 times' },
        { id: 'ScheduleDlq', queue: this.runs.scheduleDeadLetterQueue, holds: 'run starter, segment refresh and loyalty expiry invocations EventBridge Scheduler could not make' },
      ],
      journeys: { scheduleGroup: this.journeys.scheduleGroup },
      evaluate: this.pipeline.evaluate,
      dispatch: this.channels.dispatch,
      aggregates: this.reports.aggregates,
      alarmTopic: props.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : undefined,
      alarmEmail: props.alarmEmail,
    });
    this.destinations = new Destinations(this, 'Destinations', { bus: this.bus.bus, destinations: props.destinations ?? [], encryptionKey: this.tables.encryptionKey });
    const alarmAction = new SnsAction(this.observability.alarmTopic);
    for (const alarm of [...this.channels.alarms, ...this.decisionApi.alarms, ...this.destinations.alarms]) alarm.addAlarmAction(alarmAction);
    this.access = new Access(this, 'Access', {
      bus: this.bus.bus,
      publisherPrincipal: props.publisherPrincipal,
      publisherPrincipals: props.publisherPrincipals,
    });

    new CfnOutput(this, 'BusName', { value: this.bus.bus.eventBusName, description: 'Event bus source systems publish to' });
    new CfnOutput(this, 'BusArn', { value: this.bus.bus.eventBusArn });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.observability.alarmTopic.topicArn });
    new CfnOutput(this, 'DashboardName', { value: this.observability.dashboard.dashboardName });
    new CfnOutput(this, 'ExportBucketName', { value: this.analyticalExport.bucket.bucketName, description: 'S3 bucket of the analytical export (Parquet, kind=<kind>/day=<day>/)' });
    new CfnOutput(this, 'ExportDatabase', { value: this.analyticalExport.database.ref, description: 'Glue database Athena queries the export through' });
    new CfnOutput(this, 'ExportSecretArn', { value: this.analyticalExport.secret.secretArn, description: 'Secret the export pseudonyms are keyed with (baton export --secret-arn)' });
    new CfnOutput(this, 'JourneyTimerGroup', { value: this.journeys.scheduleGroup.scheduleGroupName, description: 'EventBridge Scheduler group of journey timers' });
    for (const [key, table] of Object.entries(this.tables.tables)) {
      new CfnOutput(this, `${key.charAt(0).toUpperCase()}${key.slice(1)}TableName`, { value: table.tableName });
    }
  }
}

/**
 * The cdk-nag 3 packs Baton is checked against: AwsSolutions and Serverless. Any finding that is
 * not acknowledged (with a reason, next to the construct it concerns) fails `cdk synth`.
 */
export function nagPacks(scope: IConstruct, props: NagPackProps = {}) {
  return [new AwsSolutionsChecks(scope, props), new ServerlessChecks(scope, props)];
}

/** Apply Baton's cdk-nag packs to an app (or any scope). */
export function addNagChecks(scope: IConstruct, props: NagPackProps = {}): void {
  Validations.of(scope).addPlugins(...nagPacks(scope, props));
}
