// A local stand-in for Lambda's DynamoDB stream event source: polls DynamoDB Local's stream and
// hands batches to the same handler, honouring partial batch failures with bounded retries.
import {
  DynamoDBStreamsClient,
  DescribeStreamCommand,
  GetShardIteratorCommand,
  GetRecordsCommand,
  type _Record,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from './constants.ts';
import { localContext } from './lambda-context.ts';
import { errorClass } from './queue.ts';

export type StreamHandler = (event: DynamoDBStreamEvent, context: Context) => Promise<DynamoDBBatchResponse | void>;

export interface StreamFailure {
  readonly sequenceNumber: string;
  readonly reason: string;
}

/** How often a poller looks for new shards when none of its shards has closed. */
const DESCRIBE_EVERY_MS = 5_000;

export class LocalStreamPoller {
  readonly failures: StreamFailure[] = [];
  readonly stats = { records: 0, batches: 0, retries: 0 };
  private readonly client: DynamoDBStreamsClient;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private busy = false;
  private idle = true;
  /** Shards are looked for at the next poll (at the start, after a closed shard or a lost iterator, when asked). */
  private rediscover = true;
  /** Polls finished; `caughtUp` waits for one that began after it was called. */
  private polls = 0;
  private sleeping = false;
  private wake: (() => void) | undefined;
  private readonly waiters: { polls: number; resolve: () => void }[] = [];

  constructor(
    endpoint: string,
    private readonly arn: string,
    private readonly handler: StreamHandler,
    private readonly opts: { name: string; pollMs?: number; maxRetries?: number } = { name: 'dispatch' },
  ) {
    this.client = new DynamoDBStreamsClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  }

  start(): void {
    this.loop = this.run();
  }

  /** True when the last poll found nothing and no batch is being handled. */
  get isIdle(): boolean {
    return this.idle && !this.busy;
  }

  /**
   * Resolves once a whole poll that began after this call has finished, shards looked for anew: a
   * record committed before the call has then been read, and `isIdle` says whether any was found.
   * (Between two polls the poller would otherwise look idle while a new record, or the first shard
   * of a stream that had none, waits for it.)
   */
  caughtUp(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.rediscover = true;
    const polls = this.polls + (this.sleeping ? 1 : 2);
    const done = new Promise<void>((resolve) => this.waiters.push({ polls, resolve }));
    this.wake?.();
    return done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    for (const w of this.waiters.splice(0)) w.resolve();
    this.client.destroy();
  }

  private async run(): Promise<void> {
    const iterators = new Map<string, string | undefined>();
    // Where each shard was read up to, so a lost iterator resumes instead of re-reading.
    const lastSequence = new Map<string, string>();
    // Lambda reads each shard about four times a second while it is quiet.
    const pollMs = this.opts.pollMs ?? 250;
    let describedAt = -Infinity;
    while (!this.stopped) {
      let any = false;
      try {
        // New shards are looked for now and then, not before every read: on DynamoDB Local's single
        // JVM a DescribeStream costs as much as a read, and an idle stack would spend half its CPU on them.
        if (this.rediscover || Date.now() - describedAt > DESCRIBE_EVERY_MS) {
          const stream = await this.client.send(new DescribeStreamCommand({ StreamArn: this.arn }));
          describedAt = Date.now();
          this.rediscover = false;
          for (const shard of stream.StreamDescription?.Shards ?? []) {
            if (shard.ShardId && !iterators.has(shard.ShardId)) iterators.set(shard.ShardId, await this.iterator(shard.ShardId, lastSequence.get(shard.ShardId)));
          }
        }
        for (const [shardId, iterator] of iterators) {
          if (!iterator) continue;
          try {
            const out = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
            iterators.set(shardId, out.NextShardIterator);
            // A closed shard ends; its successor is a new shard, found at once.
            if (!out.NextShardIterator) this.rediscover = true;
            const records = out.Records ?? [];
            if (!records.length) continue;
            any = true;
            this.busy = true;
            try {
              await this.deliver(records);
            } finally {
              this.busy = false;
            }
            const last = records.at(-1)?.dynamodb?.SequenceNumber;
            if (last) lastSequence.set(shardId, last);
          } catch (err) {
            if (this.stopped) break;
            // Expired or trimmed iterator: take a fresh one from where this shard was read up to.
            iterators.delete(shardId);
            this.rediscover = true;
            if (!/past the oldest|expired/i.test((err as Error).message)) throw err;
          }
        }
      } catch (err) {
        if (this.stopped) break;
        console.error(`local stream poller ${this.opts.name}:`, (err as Error).message);
      }
      this.idle = !any;
      this.polls++;
      for (let i = this.waiters.length - 1; i >= 0; i--) {
        if (this.waiters[i]!.polls <= this.polls) this.waiters.splice(i, 1)[0]!.resolve();
      }
      // While a shard has records it is read again at once, as Lambda does; a quiet stream waits
      // (caughtUp cuts the wait short).
      if (!this.stopped && !any) {
        this.sleeping = true;
        await new Promise<void>((r) => {
          const timer = setTimeout(r, pollMs);
          this.wake = () => {
            clearTimeout(timer);
            r();
          };
        });
        this.sleeping = false;
        this.wake = undefined;
      }
    }
  }

  private async iterator(shardId: string, after: string | undefined): Promise<string | undefined> {
    const out = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.arn,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    return out.ShardIterator;
  }

  private async deliver(raw: _Record[]): Promise<void> {
    let records = raw.map((r) => this.toLambda(r));
    const maxRetries = this.opts.maxRetries ?? 5;
    for (let attempt = 0; records.length && !this.stopped; attempt++) {
      this.stats.batches++;
      let failedFrom: number | undefined;
      let reason = 'reported as a batch item failure';
      try {
        const response = await this.handler({ Records: records }, localContext(this.opts.name));
        const failed = response?.batchItemFailures?.[0]?.itemIdentifier;
        // As on Lambda: processing restarts from the first failed sequence number.
        if (failed) failedFrom = records.findIndex((r) => r.dynamodb?.SequenceNumber === failed);
      } catch (err) {
        failedFrom = 0;
        reason = `handler threw ${errorClass(err)}`;
      }
      if (failedFrom === undefined || failedFrom < 0) {
        this.stats.records += records.length;
        return;
      }
      this.stats.records += failedFrom;
      records = records.slice(failedFrom);
      if (attempt >= maxRetries) {
        // Lambda's on-failure destination: the cloud sends these to the dispatch DLQ.
        for (const r of records) this.failures.push({ sequenceNumber: r.dynamodb?.SequenceNumber ?? '?', reason });
        return;
      }
      this.stats.retries++;
      await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** attempt)));
    }
  }

  private toLambda(r: _Record): DynamoDBRecord {
    const d = r.dynamodb ?? {};
    return {
      eventID: r.eventID,
      eventName: r.eventName as DynamoDBRecord['eventName'],
      eventVersion: r.eventVersion,
      eventSource: 'aws:dynamodb',
      awsRegion: LOCAL_REGION,
      eventSourceARN: this.arn,
      dynamodb: {
        Keys: d.Keys as never,
        NewImage: d.NewImage as never,
        OldImage: d.OldImage as never,
        SequenceNumber: d.SequenceNumber,
        SizeBytes: d.SizeBytes,
        StreamViewType: d.StreamViewType as never,
        ApproximateCreationDateTime: d.ApproximateCreationDateTime ? d.ApproximateCreationDateTime.getTime() / 1000 : undefined,
      },
    };
  }
}
