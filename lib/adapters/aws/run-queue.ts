// The cloud's run queue (infra/constructs/runs.ts): the run starter puts each due run's id on it,
// ten to a SendMessageBatch; the run workers read it. At least once: a worker takes the run's lease
// and decisions are keyed by run and customer, so a second copy does no second decision.
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { RunQueue } from '../../app/ports.ts';

export class SqsRunQueue implements RunQueue {
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(runIds: readonly string[]): Promise<void> {
    for (let i = 0; i < runIds.length; i += 10) {
      const batch = runIds.slice(i, i + 10);
      const out = await this.sqs.send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: batch.map((runId, n) => ({ Id: String(n), MessageBody: JSON.stringify({ runId }) })) }));
      if (out.Failed?.length) throw new Error(`the run queue refused ${out.Failed.length} of ${batch.length} runs (${out.Failed.map((f) => f.Code).join(', ')}); the starter tries again in a minute`);
    }
  }
}
