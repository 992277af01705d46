// Journey waits as EventBridge Scheduler one-time schedules (the local stack's stand-in answers the
// same API). Each schedule delivers the JourneyTimerDue envelope to the evaluate queue at the wait's
// end, in the customer's time zone, then deletes itself; a name already taken means the schedule is
// there (creation is idempotent), a schedule already gone means there is nothing to delete.
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, type SchedulerClient } from '@aws-sdk/client-scheduler';
import type { JourneyTimers, TimerEnvelope } from '../../app/ports.ts';

export interface SchedulerTarget {
  /** The schedule group journeys' schedules live in. */
  readonly group: string;
  /** The role Scheduler assumes to send to the target (sqs:SendMessage on it only). */
  readonly roleArn: string;
  /** The evaluate queue's ARN. */
  readonly targetArn: string;
  /** Where Scheduler puts an event it could not deliver after its retries (alarmed). */
  readonly deadLetterArn?: string;
}

/** Scheduler retries a failed delivery for up to a day, then dead-letters it. */
export const TIMER_RETRY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 } as const;

export class SchedulerJourneyTimers implements JourneyTimers {
  constructor(
    private readonly client: SchedulerClient,
    private readonly target: SchedulerTarget,
  ) {}

  async create(name: string, at: string, timeZone: string, event: TimerEnvelope): Promise<'created' | 'exists'> {
    try {
      await this.client.send(
        new CreateScheduleCommand({
          Name: name,
          GroupName: this.target.group,
          ScheduleExpression: `at(${at})`,
          ScheduleExpressionTimezone: timeZone,
          FlexibleTimeWindow: { Mode: 'OFF' },
          ActionAfterCompletion: 'DELETE',
          Target: {
            Arn: this.target.targetArn,
            RoleArn: this.target.roleArn,
            Input: JSON.stringify(event),
            RetryPolicy: TIMER_RETRY,
            ...(this.target.deadLetterArn ? { DeadLetterConfig: { Arn: this.target.deadLetterArn } } : {}),
          },
        }),
      );
      return 'created';
    } catch (err) {
      if (err instanceof ConflictException || (err as { name?: string }).name === 'ConflictException') return 'exists';
      throw err;
    }
  }

  async delete(name: string): Promise<void> {
    try {
      await this.client.send(new DeleteScheduleCommand({ Name: name, GroupName: this.target.group }));
    } catch (err) {
      if (err instanceof ResourceNotFoundException || (err as { name?: string }).name === 'ResourceNotFoundException') return;
      throw err;
    }
  }
}
