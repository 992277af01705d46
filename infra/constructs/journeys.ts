// Journey timers in the cloud: waits are EventBridge Scheduler one-time schedules that evaluate
// creates at run time (`at(...)` in the customer's time zone, ActionAfterCompletion DELETE) in one
// schedule group. Here: that group; the role Scheduler assumes to deliver a due timer, allowed
// only to send to the inbound (evaluate) queue and to the timer DLQ; the DLQ (alarmed by
// Observability); and evaluate's right to create and delete schedules in the group and to pass
// that one role. Scheduler delivers with the role's identity policy: the queues need no policy.
import { ArnFormat, Duration, Stack, Token, Validations, type CfnResource } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../lib/contract/config.ts';
import { deadLetterQueue } from './pipeline.ts';
import type { BatonFunction } from './function.ts';
import { SWEEP_EVENT, SWEEP_SCHEDULE } from '../../lib/contract/journeys.ts';

/** The settings evaluate reads to create timers (lib/contract/config.ts). */
export const SCHEDULER_ENV = {
  group: ENV.schedulerGroup,
  roleArn: ENV.schedulerRoleArn,
  targetArn: ENV.schedulerTargetArn,
  deadLetterArn: ENV.schedulerDeadLetterArn,
} as const;

export interface JourneysProps {
  readonly stage: string;
  /** Baton's customer-managed key: the queues' key, which Scheduler encrypts with as the role. */
  readonly key: kms.IKey;
  /** The inbound queue evaluate reads: the one target of every timer. */
  readonly evaluateQueue: sqs.IQueue;
  /** The functions that create and delete timers (evaluate). */
  readonly timerWriters: readonly BatonFunction[];
}

/** How often the sweep relays timers a crash or a throttle left in the timer outbox. */
export const SWEEP_EVERY = Duration.minutes(5);

/** The schedule group, Scheduler's role and the timer DLQ; env and permissions on the writers. */
export class Journeys extends Construct {
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedulerRole: iam.Role;
  /** Where Scheduler puts a timer it could not deliver after its retry policy. */
  readonly deadLetterQueue: sqs.Queue;
  /** What a timer-writing function is given (SCHEDULER_ENV). */
  readonly environment: Record<string, string>;
  /** The recurring schedule that has evaluate sweep the timer outbox (relayTimers) every SWEEP_EVERY. */
  readonly sweepSchedule: scheduler.CfnSchedule;

  constructor(scope: Construct, id: string, props: JourneysProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.scheduleGroup = new scheduler.ScheduleGroup(this, 'TimerGroup', { scheduleGroupName: `baton-${props.stage}-journeys` });
    this.deadLetterQueue = deadLetterQueue(this, 'TimerDlq', false, props.key);

    // Confused-deputy guard: only Scheduler acting for this account's timer group may assume it.
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: `Baton ${props.stage}: EventBridge Scheduler delivers due journey timers to the inbound queue`,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnEquals: { 'aws:SourceArn': this.scheduleGroup.scheduleGroupArn },
        },
      }),
    });
    this.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DeliverDueTimers',
        actions: ['sqs:SendMessage'],
        resources: [props.evaluateQueue.queueArn, this.deadLetterQueue.queueArn],
      }),
    );
    // What SQS asks of a sender to a queue under a customer-managed key.
    this.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid: 'EncryptForTheQueues', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.key.keyArn] }),
    );

    this.environment = {
      [SCHEDULER_ENV.group]: this.scheduleGroup.scheduleGroupName,
      [SCHEDULER_ENV.roleArn]: this.schedulerRole.roleArn,
      [SCHEDULER_ENV.targetArn]: props.evaluateQueue.queueArn,
      [SCHEDULER_ENV.deadLetterArn]: this.deadLetterQueue.queueArn,
    };

    // The sweep: what evaluate's relay left in the timer outbox (a crash after the commit, a throttled
    // CreateSchedule) is created or deleted within SWEEP_EVERY, so no wait is lost. A recurring
    // schedule of the timer group puts the sweep message on the inbound queue, with the role and DLQ
    // of the timers; evaluate, which alone may write schedules, relays (functions/evaluate.ts).
    this.sweepSchedule = new scheduler.CfnSchedule(this, 'SweepSchedule', {
      name: SWEEP_SCHEDULE,
      groupName: this.scheduleGroup.scheduleGroupName,
      description: `Baton ${props.stage}: relay journey timers left in the timer outbox`,
      scheduleExpression: `rate(${SWEEP_EVERY.toMinutes()} minutes)`,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: props.evaluateQueue.queueArn,
        roleArn: this.schedulerRole.roleArn,
        input: JSON.stringify(SWEEP_EVENT),
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: SWEEP_EVERY.toSeconds() },
        deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
      },
    });
    this.sweepSchedule.addDependency(this.scheduleGroup.node.defaultChild as CfnResource);

    // Timers are named <instanceId>-<stepId> at run time: the writers may touch schedules of this
    // group only, and hand Scheduler this role only.
    const schedules = stack.formatArn({
      service: 'scheduler',
      resource: 'schedule',
      resourceName: `${this.scheduleGroup.scheduleGroupName}/*`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    for (const writer of props.timerWriters) {
      writer.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ sid: 'WriteJourneyTimers', actions: ['scheduler:CreateSchedule', 'scheduler:DeleteSchedule'], resources: [schedules] }),
      );
      writer.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'PassTheSchedulerRole',
          actions: ['iam:PassRole'],
          resources: [this.schedulerRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } },
        }),
      );
      for (const [name, value] of Object.entries(this.environment)) writer.function.addEnvironment(name, value);
      Validations.of(writer.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagSchedules(stack, this.scheduleGroup.scheduleGroupName)}]`,
        reason:
          'One one-time schedule per journey wait, named <instanceId>-<stepId> at run time: the statement allows only ' +
          'scheduler:CreateSchedule and scheduler:DeleteSchedule, on schedules of the journeys group only.',
      });
    }
  }
}

/** The schedules ARN as cdk-nag prints it in a finding id. */
function nagSchedules(stack: Stack, group: string): string {
  const show = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<${pseudo}>` : value);
  return `arn:${show(stack.partition, 'AWS::Partition')}:scheduler:${show(stack.region, 'AWS::Region')}:${show(stack.account, 'AWS::AccountId')}:schedule/${group}/*`;
}
