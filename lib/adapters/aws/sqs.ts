// Dispatch's two queues: messages held by quiet hours wait on one (SQS delay), permanent send
// failures go to the other (the dispatch dead-letter queue, which an alarm watches).
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetterEntry, DeadLetters, HeldMessages } from '../../app/ports.ts';

/** SQS delays a message at most 15 minutes: a longer hold comes back early and is held again. */
const MAX_DELAY_SECONDS = 900;

export class SqsHeldMessages implements HeldMessages {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly clock: () => number = Date.now,
  ) {}

  async hold(key: { pk: string; sk: string; notBefore: string }): Promise<void> {
    const seconds = Math.ceil((Date.parse(key.notBefore) - this.clock()) / 1000);
    await this.sqs.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(key), DelaySeconds: Math.max(0, Math.min(MAX_DELAY_SECONDS, seconds)) }),
    );
  }
}

/** Ids and codes only, never the address or the content. */
export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async put(entry: DeadLetterEntry): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify({ kind: 'permanent-send-failure', ...entry }),
        MessageAttributes: { code: { DataType: 'String', StringValue: entry.code } },
      }),
    );
  }
}
