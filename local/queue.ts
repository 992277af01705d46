// A local stand-in for SQS + Lambda's event source mapping: batches, partial batch failures,
// retries with backoff, and a dead-letter list after maxReceiveCount, as the cloud pipeline does.
import { randomUUID, createHash } from 'node:crypto';
import type { SQSEvent, SQSBatchResponse, SQSRecord, Context } from 'aws-lambda';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './constants.ts';
import { localContext } from './lambda-context.ts';

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse | void>;

export interface LocalQueueOptions {
  readonly name: string;
  readonly handler: SqsHandler;
  readonly batchSize?: number;
  /** Batches in flight at once, like the event source mapping's maximum concurrency. */
  readonly concurrency?: number;
  readonly maxReceiveCount?: number;
  /** Delay before a failed message is visible again; grows with each receive. */
  readonly retryDelayMs?: (receiveCount: number) => number;
}

interface Message {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  visibleAt: number;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  readonly receiveCount: number;
  readonly reason: string;
}

/**
 * What a dead-letter reason may say of an error: its class name (and a code such as
 * `commit-contention` when it has one), never its message, which can hold personal data.
 */
export function errorClass(err: unknown): string {
  const safe = (v: unknown) => (typeof v === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(v) ? v : undefined);
  const e = err as { name?: unknown; code?: unknown } | null;
  const name = safe(e?.name) ?? 'Error';
  const code = safe(e?.code);
  return code && code !== name ? `${name} (${code})` : name;
}

export class LocalQueue {
  readonly deadLetters: DeadLetter[] = [];
  readonly stats = { sent: 0, delivered: 0, retried: 0, deadLettered: 0 };
  private readonly waiting: Message[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];
  private readonly opts: Required<LocalQueueOptions>;

  constructor(options: LocalQueueOptions) {
    this.opts = {
      batchSize: 10,
      concurrency: 2,
      maxReceiveCount: 5,
      retryDelayMs: (n) => Math.min(2000, 50 * 2 ** n) * (0.5 + Math.random() / 2),
      ...options,
    };
  }

  get arn(): string {
    return `arn:aws:sqs:${LOCAL_REGION}:${LOCAL_ACCOUNT}:${this.opts.name}`;
  }

  get depth(): number {
    return this.waiting.length + this.inFlight;
  }

  send(body: string): string {
    if (this.stopped) throw new Error(`queue ${this.opts.name} is stopped`);
    const messageId = randomUUID();
    this.waiting.push({ messageId, body, sentAt: Date.now(), receiveCount: 0, visibleAt: 0 });
    this.stats.sent++;
    this.schedule(0);
    return messageId;
  }

  /** Resolves once every message sent so far was handled or dead-lettered. */
  async drained(): Promise<void> {
    if (this.depth === 0) return;
    await new Promise<void>((ok) => this.idleWaiters.push(ok));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 20));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.pump(), delayMs);
  }

  private pump(): void {
    const now = Date.now();
    while (this.inFlight < this.opts.concurrency) {
      const batch: Message[] = [];
      for (let i = 0; i < this.waiting.length && batch.length < this.opts.batchSize; ) {
        const message = this.waiting[i]!;
        if (message.visibleAt <= now) {
          batch.push(message);
          this.waiting.splice(i, 1);
        } else i++;
      }
      if (batch.length === 0) break;
      this.inFlight++;
      void this.deliver(batch).finally(() => {
        this.inFlight--;
        this.afterDelivery();
      });
    }
    // With every slot busy, the next delivery's completion schedules the next pump.
    if (this.inFlight >= this.opts.concurrency) return;
    const next = Math.min(...this.waiting.map((m) => m.visibleAt));
    if (Number.isFinite(next)) this.schedule(Math.max(0, next - Date.now()));
  }

  private afterDelivery(): void {
    if (this.depth === 0) {
      const waiters = this.idleWaiters.splice(0);
      for (const ok of waiters) ok();
    }
    this.schedule(0);
  }

  private async deliver(batch: Message[]): Promise<void> {
    const now = Date.now();
    for (const m of batch) {
      m.receiveCount++;
      m.firstReceivedAt ??= now;
    }
    let failed: Set<string>;
    let reason = 'reported as a batch item failure';
    try {
      const response = await this.opts.handler({ Records: batch.map((m) => this.record(m)) }, localContext(this.opts.name));
      const ids = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
      // As Lambda does: an empty or unknown item identifier fails the whole batch.
      if (ids.some((id) => !id || !batch.some((m) => m.messageId === id))) {
        failed = new Set(batch.map((m) => m.messageId));
        reason = 'batchItemFailures named an unknown item';
      } else failed = new Set(ids);
    } catch (err) {
      // As on Lambda: a thrown error fails the whole batch.
      failed = new Set(batch.map((m) => m.messageId));
      reason = `handler threw ${errorClass(err)}`;
    }
    for (const m of batch) {
      if (!failed.has(m.messageId)) {
        this.stats.delivered++;
      } else if (m.receiveCount >= this.opts.maxReceiveCount) {
        this.stats.deadLettered++;
        this.deadLetters.push({ messageId: m.messageId, body: m.body, receiveCount: m.receiveCount, reason });
      } else {
        this.stats.retried++;
        m.visibleAt = Date.now() + this.opts.retryDelayMs(m.receiveCount);
        this.waiting.push(m);
      }
    }
  }

  private record(m: Message): SQSRecord {
    return {
      messageId: m.messageId,
      receiptHandle: `${m.messageId}#${m.receiveCount}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: String(m.receiveCount),
        SentTimestamp: String(m.sentAt),
        SenderId: 'local-bus',
        ApproximateFirstReceiveTimestamp: String(m.firstReceivedAt ?? Date.now()),
      },
      messageAttributes: {},
      md5OfBody: createHash('md5').update(m.body).digest('hex'),
      eventSource: 'aws:sqs',
      eventSourceARN: this.arn,
      awsRegion: LOCAL_REGION,
    };
  }
}
