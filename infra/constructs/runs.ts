// Outbound runs and the daily segment refresh in the cloud (docs/campaigns.md, docs/segments.md).
//   RunStarter  every minute, an EventBridge Scheduler schedule invokes it: it reads the runs in
//               the counters table and puts each due run's id on the run queue
//   RunQueue    SQS, KMS-encrypted, redriven to RunDlq after 5 receives (alarmed by Observability)
//   RunWorker   reads the run queue: takes the run's lease, pages the membership and decides each
//               member through the same decision step as evaluate (one transaction per member:
//               marker + profile + decision + outbox + the run's count), checkpoints per page, and
//               stops before its 15 minutes are up; the next minute's copy resumes at the checkpoint
//   SegmentsRefresh  once a day (03:00 UTC), a schedule invokes the segment refresh
// Each schedule retries and dead-letters into ScheduleDlq (alarmed by Observability).
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as events from 'aws-cdk-lib/aws-events';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Construct } from 'constructs';
import { SOURCES } from '../../events/catalog.ts';
import { BatonFunction } from './function.ts';
import { deadLetterQueue, queueDefaults } from './pipeline.ts';
import { putEventsStatement } from './access.ts';
import type { Tables } from './tables.ts';

/** The run queue's URL on the starter (functions/runs.ts reads it). Spelled out: infra reads lib/contract only. */
const RUN_QUEUE_ENV = 'BATON_RUN_QUEUE_URL';
const WORKER_TIMEOUT = Duration.minutes(15);

export interface RunsProps {
  readonly stage: string;
  readonly bus: events.IEventBus;
  readonly tables: Tables;
  readonly environment: Record<string, string>;
  /** Run workers at once (each works on one run, 16 membership buckets in parallel). @default 10 */
  readonly workerConcurrency?: number;
}

export class Runs extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Invocations Scheduler could not make after its retries (starter, refresh). */
  readonly scheduleDeadLetterQueue: sqs.Queue;
  readonly starter: BatonFunction;
  readonly worker: BatonFunction;
  readonly segmentsRefresh: BatonFunction;

  constructor(scope: Construct, id: string, props: RunsProps) {
    super(scope, id);
    const key = props.tables.encryptionKey;
    const environment = { ...props.environment, ...props.tables.environment() };

    this.deadLetterQueue = deadLetterQueue(this, 'RunDlq', true, key);
    this.queue = new sqs.Queue(this, 'RunQueue', {
      ...queueDefaults(key),
      // Lambda's rule for an event source: at least 6 × the function timeout.
      visibilityTimeout: Duration.seconds(6 * WORKER_TIMEOUT.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: 5 },
    });
    this.scheduleDeadLetterQueue = deadLetterQueue(this, 'ScheduleDlq', false, key);

    this.starter = new BatonFunction(this, 'RunStarter', {
      entry: 'functions/runs.ts',
      handler: 'starter',
      serviceName: 'run-starter',
      description: 'Baton: every minute, hands the outbound runs that are due to the run workers',
      timeout: Duration.seconds(60),
      environment: { ...environment, [RUN_QUEUE_ENV]: this.queue.queueUrl },
    });
    props.tables.grantData(this.starter.role, { counters: ['Query'] });
    // Spelled out rather than grantSendMessages: SendMessage and what SQS asks of a sender under the key, no wildcards.
    this.starter.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'HandDueRunsOver', actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
    this.starter.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EncryptForTheRunQueue', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }));

    this.worker = new BatonFunction(this, 'RunWorker', {
      entry: 'functions/runs.ts',
      handler: 'worker',
      serviceName: 'run-worker',
      description: 'Baton: works on an outbound run, deciding each segment member through the arbitration',
      timeout: WORKER_TIMEOUT,
      memorySize: 1024,
      environment,
    });
    // The decision step's calls (as evaluate's), the membership pages (Query), the run item,
    // its checkpoints, lease and counts (counters: Get, Update, BatchGet, Query, Put).
    props.tables.grantData(this.worker.role, {
      customers: ['BatchGetItem', 'GetItem', 'PutItem', 'DeleteItem', 'UpdateItem', 'Query'],
      decisions: ['PutItem'],
      counters: ['GetItem', 'PutItem', 'UpdateItem', 'BatchGetItem', 'Query'],
      rules: ['Scan', 'Query'],
      campaigns: ['Scan'],
    });
    this.worker.role.addToPrincipalPolicy(putEventsStatement(props.bus.eventBusArn, SOURCES.segments, ['SegmentEntered', 'SegmentLeft']));
    this.worker.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 1, maxConcurrency: props.workerConcurrency ?? 10, reportBatchItemFailures: true }));
    Validations.of(this.worker.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason: 'SQS event source mappings have no on-failure destination: a run message that keeps failing moves to the run queue\'s redrive DLQ after 5 receives, and an alarm watches that DLQ.',
    });

    this.segmentsRefresh = new BatonFunction(this, 'SegmentsRefresh', {
      entry: 'functions/segments-refresh.ts',
      serviceName: 'segments-refresh',
      description: 'Baton: the daily segment refresh, for fields that change with time alone',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environment,
    });
    props.tables.grantData(this.segmentsRefresh.role, {
      customers: ['Scan', 'GetItem', 'PutItem', 'DeleteItem', 'UpdateItem'],
      counters: ['UpdateItem', 'BatchGetItem'],
      rules: ['Scan'],
    });
    this.segmentsRefresh.role.addToPrincipalPolicy(putEventsStatement(props.bus.eventBusArn, SOURCES.segments, ['SegmentEntered', 'SegmentLeft']));

    // One role for both schedules: invoke the two functions, dead-letter into the schedule DLQ (under the key).
    const stack = Stack.of(this);
    const role = new iam.Role(this, 'ScheduleRole', {
      description: `Baton ${props.stage}: EventBridge Scheduler starts the run starter and the daily segment refresh`,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DeadLetterMissedInvocations', actions: ['sqs:SendMessage'], resources: [this.scheduleDeadLetterQueue.queueArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EncryptForTheScheduleDlq', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [key.keyArn] }));
    const invoke = (fn: BatonFunction) => {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(fn.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
        reason: 'The Scheduler target grants lambda:InvokeFunction on the function and its versions (ARN:*): one function, no other action.',
      });
      return new targets.LambdaInvoke(fn.function, { role, deadLetterQueue: this.scheduleDeadLetterQueue, retryAttempts: 5, maxEventAge: Duration.minutes(30) });
    };
    new scheduler.Schedule(this, 'EveryMinute', {
      description: `Baton ${props.stage}: start and carry on the outbound runs that are due`,
      schedule: scheduler.ScheduleExpression.rate(Duration.minutes(1)),
      target: invoke(this.starter),
    });
    new scheduler.Schedule(this, 'Daily', {
      description: `Baton ${props.stage}: the daily segment refresh`,
      schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '3' }),
      target: invoke(this.segmentsRefresh),
    });
  }
}
