// The inbound pipeline: one EventBridge rule per route (lib/contract/routes.ts) → the inbound SQS queue
// (+ DLQ) → the evaluate function, which reports partial batch failures. Every queue is encrypted
// with Baton's customer-managed key (the one of the tables): they hold events and messages.
import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ROUTES, type Route } from '../../lib/contract/routes.ts';
import type { Tables } from './tables.ts';
import { BatonFunction } from './function.ts';
import { putEventsStatement } from './access.ts';
import { SOURCES } from '../../events/catalog.ts';

/** How EventBridge retries a target before it gives up and writes the event to the target DLQ. */
export interface TargetRetry {
  /** @default Duration.hours(24) (the most EventBridge allows) */
  readonly maxEventAge?: Duration;
  /** @default 185 (the most EventBridge allows) */
  readonly retryAttempts?: number;
}

export interface PipelineProps {
  readonly bus: events.IEventBus;
  readonly tables: Tables;
  /** Environment every function gets (stage, bus name...), besides the table names. */
  readonly environment: Record<string, string>;
  /** @default ROUTES from lib/contract/routes.ts */
  readonly routes?: readonly Route[];
  /** @default { maxEventAge: 24 h, retryAttempts: 185 } */
  readonly targetRetry?: TargetRetry;
  /** @default Duration.seconds(30) */
  readonly evaluateTimeout?: Duration;
  /** @default 512 */
  readonly evaluateMemorySize?: number;
  /** Messages per evaluate invocation. @default 25 */
  readonly batchSize?: number;
  /** How long Lambda waits to fill a batch. @default Duration.seconds(1) */
  readonly maxBatchingWindow?: Duration;
  /** Most concurrent evaluate invocations the queue drives (2–1000). @default 20 */
  readonly maxConcurrency?: number;
  /** Receives before a message moves to the inbound DLQ. @default 5 */
  readonly maxReceiveCount?: number;
}

/**
 * Standard settings of every Baton queue: encrypted with `key` (Baton's customer-managed key),
 * TLS only. Senders need kms:GenerateDataKey and kms:Decrypt on it, receivers kms:Decrypt (the
 * queue grants and event sources add them to the roles); EventBridge gets them from the key policy
 * (allowEventBridgeDeliveries). Redrive to a DLQ under the same key needs nothing more.
 */
export function queueDefaults(key: kms.IKey): Pick<sqs.QueueProps, 'encryption' | 'encryptionMasterKey' | 'enforceSSL'> {
  return { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: key, enforceSSL: true };
}

/**
 * Lets EventBridge put messages on queues encrypted with `key`: kms:GenerateDataKey and
 * kms:Decrypt (what SQS asks of a sender), for rules of this account only. The condition cannot
 * name the rules: the key would then depend on the rules, which depend on the queues, which
 * depend on the key (aws-cdk#11158); each queue policy names its rules instead.
 * A key imported from elsewhere has no policy here: give EventBridge the same statement there.
 */
export function allowEventBridgeDeliveries(key: kms.IKey): void {
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'Allow EventBridge to deliver to Baton queues',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(key).account } },
    }),
  );
}

/**
 * An EventBridge rule target that is an SQS queue encrypted with Baton's key, with a DLQ and a
 * retry policy. Not aws-events-targets' SqsQueue: for an encrypted queue that one widens the queue
 * policy to every rule of the account and puts kms:Encrypt and kms:ReEncrypt* for EventBridge into
 * the key policy. Here each queue policy allows sqs:SendMessage from this rule only.
 */
export class EncryptedQueueTarget implements events.IRuleTarget {
  constructor(
    private readonly queue: sqs.IQueue,
    private readonly options: { readonly deadLetterQueue: sqs.IQueue; readonly maxEventAge: Duration; readonly retryAttempts: number },
  ) {}

  bind(rule: events.IRule): events.RuleTargetConfig {
    for (const queue of [this.queue, this.options.deadLetterQueue]) {
      queue.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('events.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [queue.queueArn],
          conditions: { ArnEquals: { 'aws:SourceArn': rule.ruleArn } },
        }),
      );
    }
    return {
      arn: this.queue.queueArn,
      targetResource: this.queue,
      deadLetterConfig: { arn: this.options.deadLetterQueue.queueArn },
      retryPolicy: {
        maximumEventAgeInSeconds: this.options.maxEventAge.toSeconds({ integral: true }),
        maximumRetryAttempts: this.options.retryAttempts,
      },
    };
  }
}

/**
 * A terminal dead-letter queue: keeps messages 14 days; an alarm watches its depth.
 * @param redriveTarget true when another queue's redrive policy points at it (cdk-nag sees that
 *   as a DLQ); false for DLQs of EventBridge targets and stream event sources, which it does not.
 */
export function deadLetterQueue(scope: Construct, id: string, redriveTarget: boolean, key: kms.IKey): sqs.Queue {
  const queue = new sqs.Queue(scope, id, { ...queueDefaults(key), retentionPeriod: Duration.days(14) });
  if (!redriveTarget) {
    Validations.of(queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself a dead-letter queue, of an EventBridge target or a stream event source; an alarm watches it.',
    });
  }
  Validations.of(queue).acknowledge({
    id: 'Serverless-SQSRedrivePolicy',
    reason: 'This queue is itself a dead-letter queue: the end of a redrive chain; an alarm fires on its first message.',
  });
  return queue;
}

/** Events on the bus, routed to the inbound queue and evaluated. */
export class Pipeline extends Construct {
  readonly rules: events.Rule[];
  readonly inboundQueue: sqs.Queue;
  readonly inboundDeadLetterQueue: sqs.Queue;
  /** Where EventBridge writes events it could not deliver to a target (shared by every rule). */
  readonly targetDeadLetterQueue: sqs.Queue;
  readonly evaluate: BatonFunction;
  readonly targetRetry: Required<TargetRetry>;

  constructor(scope: Construct, id: string, props: PipelineProps) {
    super(scope, id);
    this.targetRetry = {
      maxEventAge: props.targetRetry?.maxEventAge ?? Duration.hours(24),
      retryAttempts: props.targetRetry?.retryAttempts ?? 185,
    };
    const evaluateTimeout = props.evaluateTimeout ?? Duration.seconds(30);
    const maxBatchingWindow = props.maxBatchingWindow ?? Duration.seconds(1);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    if (maxReceiveCount < 5) {
      throw new Error(`maxReceiveCount is ${maxReceiveCount}; expected 5 or more so a throttled batch is not dead-lettered`);
    }

    this.evaluate = new BatonFunction(this, 'Evaluate', {
      entry: 'functions/evaluate.ts',
      serviceName: 'evaluate',
      description: 'Baton: validates events, updates customer state, evaluates rules, commits decisions',
      timeout: evaluateTimeout,
      memorySize: props.evaluateMemorySize ?? 512,
      environment: { ...props.environment, ...props.tables.environment() },
    });
    // What ingest's repositories call: resolve (BatchGet), load (Get), commit and markSeen
    // (transactions of Put, and Delete for merged profiles), erasure (BatchWrite of tombstones and
    // links, the decisions of the customer found through byCustomer, quarantined events found by
    // Scan); feedback (Update on the outbox, deliverability counts: Put marker + Update); the cached
    // rules (Scan, Query for versions) and campaigns (Scan); a customer's journey positions and the
    // timer outbox (Query on their partitions). No templates. An invalid event stored while its
    // customer was being erased is withdrawn again (quarantine DeleteItem).
    props.tables.grantData(this.evaluate.role, {
      customers: ['BatchGetItem', 'GetItem', 'PutItem', 'DeleteItem', 'BatchWriteItem', 'Query'],
      // Offers that learn (docs/offers.md): a sale attributed to a decision reads its messages (Query);
      // the counts are read on a cache (Query per shard) and added with a marker (Put + Update).
      decisions: ['PutItem', 'UpdateItem', 'BatchWriteItem', 'Query', 'Query:byCustomer'],
      quarantine: ['PutItem', 'DeleteItem', 'Scan', 'BatchWriteItem'],
      counters: ['PutItem', 'UpdateItem', 'Query'],
      rules: ['Scan', 'Query'],
      campaigns: ['Scan'],
      // Business context: the latest fact per SKU, team or promotion (conditional Put), read on a cache (Scan).
      context: ['PutItem', 'Scan'],
      // The loyalty ledger on the ingest path (docs/loyalty.md): accounts, lots, items; postings are transactions of Put/Update/Delete.
      ledger: ['GetItem', 'BatchGetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'],
    });

    // Segment entries and exits go on the bus for rules and journeys: that source only.
    this.evaluate.role.addToPrincipalPolicy(putEventsStatement(props.bus.eventBusArn, SOURCES.segments, ['SegmentEntered', 'SegmentLeft']));

    const key = props.tables.encryptionKey;
    allowEventBridgeDeliveries(key);
    this.inboundDeadLetterQueue = deadLetterQueue(this, 'InboundDlq', true, key);
    this.inboundQueue = new sqs.Queue(this, 'Inbound', {
      ...queueDefaults(key),
      // Lambda's rule: at least 6 × the function timeout, plus the batching window.
      visibilityTimeout: Duration.seconds(6 * evaluateTimeout.toSeconds() + maxBatchingWindow.toSeconds()),
      retentionPeriod: Duration.days(4),
      deadLetterQueue: { queue: this.inboundDeadLetterQueue, maxReceiveCount },
    });
    this.targetDeadLetterQueue = deadLetterQueue(this, 'TargetDlq', false, key);

    this.rules = (props.routes ?? ROUTES).map((route) => {
      const rule = new events.Rule(this, route.id, {
        eventBus: props.bus,
        description: route.description,
        // The same pattern object the local bus matches with (lib/contract/routes.ts).
        eventPattern: route.pattern as events.EventPattern,
      });
      rule.addTarget(this.sqsTarget(route.target));
      return rule;
    });

    this.evaluate.function.addEventSource(
      new SqsEventSource(this.inboundQueue, {
        batchSize: props.batchSize ?? 25,
        maxBatchingWindow,
        maxConcurrency: props.maxConcurrency ?? 20,
        reportBatchItemFailures: true,
      }),
    );
    Validations.of(this.evaluate.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'SQS event source mappings have no on-failure destination: a message that keeps failing moves to ' +
        `the inbound queue's redrive DLQ after ${maxReceiveCount} receives, and an alarm watches that DLQ.`,
    });
  }

  private sqsTarget(target: Route['target']): EncryptedQueueTarget {
    if (target !== 'evaluate') throw new Error(`route target "${target}" has no queue; expected "evaluate"`);
    return new EncryptedQueueTarget(this.inboundQueue, {
      deadLetterQueue: this.targetDeadLetterQueue,
      maxEventAge: this.targetRetry.maxEventAge,
      retryAttempts: this.targetRetry.retryAttempts,
    });
  }
}
