// Outbound runs in the counters table (docs/campaigns.md): the run items with their checkpoints,
// and each run's counts as sharded counters the decisions add to in their own transactions.
//
// Items (pk / sk), counters table:
//   RUNS / RUN#<runId>                   { runId, campaignId, segmentId, at, localTime, rate, state,
//                                          createdAt, passAt, passAfter?, buckets[] (checkpoints), finishedAt? }
//                                          one partition: `baton runs list` is a Query, runs are few
//   RUNCOUNT#<runId>#<shard> / COUNT     { sent, deferred, "suppressed:<reason>"… }  ADDed by each decision's commit
//                                          leaseHolder?, leaseUntil? (cloud workers, one per run at a time)
//   RUNALONE#<runId>#<customerId> / TALLY   marker: a member counted without a decision (profile gone)
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RunRepository, RunTallyWrite } from '../../app/ports.ts';
import { addTally, NO_COUNTS, type BucketCheckpoint, type Run, type RunCounts, type RunPass, type RunState, type Tally } from '../../core/runs/run.ts';
import { cancellationCodes } from './client.ts';
import type { TransactItem } from './counters.ts';

type Item = Record<string, unknown>;

/** Enough shards that concurrent decisions of one run rarely touch the same counter item. */
export const RUN_COUNT_SHARDS = 32;
const RUNS_PK = 'RUNS';
const runKey = (runId: string) => ({ pk: RUNS_PK, sk: `RUN#${runId}` });
const countKey = (runId: string, shard: number) => ({ pk: `RUNCOUNT#${runId}#${shard}`, sk: 'COUNT' });

/** The transaction item that counts one member's decision for its run (./customers.ts adds it to the commit). */
export function runTallyItem(table: string, write: RunTallyWrite, random: () => number = Math.random): TransactItem {
  return {
    Update: {
      TableName: table,
      Key: countKey(write.runId, Math.floor(random() * RUN_COUNT_SHARDS)),
      UpdateExpression: 'ADD #t :one',
      ExpressionAttributeNames: { '#t': write.tally },
      ExpressionAttributeValues: { ':one': 1 },
    },
  };
}

function toItem(run: Run): Item {
  const { pass, ...rest } = run;
  return { ...runKey(run.runId), ...rest, passAt: pass.at, ...(pass.after !== undefined ? { passAfter: pass.after } : {}) };
}

function fromItem(item: Item): Run {
  const pass: RunPass = { at: Number(item.passAt), ...(item.passAfter !== undefined ? { after: Number(item.passAfter) } : {}) };
  return {
    runId: String(item.runId),
    campaignId: String(item.campaignId),
    segmentId: String(item.segmentId),
    at: String(item.at),
    localTime: Boolean(item.localTime),
    rate: Number(item.rate),
    state: item.state as RunState,
    createdAt: String(item.createdAt),
    pass,
    buckets: (item.buckets as BucketCheckpoint[]).map((b) => ({ done: Boolean(b.done), ...(b.cursor ? { cursor: String(b.cursor) } : {}), ...(b.nextDue !== undefined ? { nextDue: Number(b.nextDue) } : {}) })),
    ...(item.finishedAt ? { finishedAt: String(item.finishedAt) } : {}),
  };
}

export class DynamoRunRepository implements RunRepository {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(run: Run): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: toItem(run), ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async get(runId: string): Promise<Run | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: runKey(runId), ConsistentRead: true }));
    return out.Item ? fromItem(out.Item) : undefined;
  }

  async list(): Promise<Run[]> {
    const runs: Run[] = [];
    let start: Item | undefined;
    do {
      const page = await this.db.send(new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': RUNS_PK }, ExclusiveStartKey: start, ConsistentRead: true }));
      runs.push(...(page.Items ?? []).map(fromItem));
      start = page.LastEvaluatedKey;
    } while (start);
    return runs.sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0));
  }

  async transition(runId: string, from: readonly RunState[], to: RunState, fields: { pass?: RunPass; buckets?: readonly BucketCheckpoint[]; finishedAt?: string } = {}): Promise<Run | undefined> {
    const sets = ['#state = :to'];
    const values: Item = { ':to': to, ...Object.fromEntries(from.map((s, i) => [`:from${i}`, s])) };
    const removes: string[] = [];
    if (fields.pass) {
      sets.push('passAt = :passAt');
      values[':passAt'] = fields.pass.at;
      if (fields.pass.after !== undefined) {
        sets.push('passAfter = :passAfter');
        values[':passAfter'] = fields.pass.after;
      } else removes.push('passAfter');
    }
    if (fields.buckets) {
      sets.push('buckets = :buckets');
      values[':buckets'] = fields.buckets;
    }
    if (fields.finishedAt) {
      sets.push('finishedAt = :finishedAt');
      values[':finishedAt'] = fields.finishedAt;
    }
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runKey(runId),
          UpdateExpression: `SET ${sets.join(', ')}${removes.length ? ` REMOVE ${removes.join(', ')}` : ''}`,
          ConditionExpression: `attribute_exists(pk) AND #state IN (${from.map((_, i) => `:from${i}`).join(', ')})`,
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: values,
          ReturnValues: 'ALL_NEW',
        }),
      );
      return out.Attributes ? fromItem(out.Attributes) : undefined;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return undefined;
      throw err;
    }
  }

  async checkpoint(runId: string, passAt: number, bucket: number, checkpoint: BucketCheckpoint): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runKey(runId),
          UpdateExpression: `SET buckets[${Math.trunc(bucket)}] = :cp`,
          ConditionExpression: 'passAt = :passAt',
          ExpressionAttributeValues: { ':cp': checkpoint, ':passAt': passAt },
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async counts(runId: string): Promise<RunCounts> {
    let counts = NO_COUNTS;
    let pending: Item[] | undefined = Array.from({ length: RUN_COUNT_SHARDS }, (_, shard) => countKey(runId, shard));
    while (pending?.length) {
      const page = await this.db.send(new BatchGetCommand({ RequestItems: { [this.table]: { Keys: pending, ConsistentRead: true } } }));
      for (const item of page.Responses?.[this.table] ?? []) {
        for (const [name, value] of Object.entries(item)) {
          if (name === 'sent' || name === 'deferred' || name.startsWith('suppressed:')) counts = addTally(counts, name as Tally, Number(value));
        }
      }
      pending = page.UnprocessedKeys?.[this.table]?.Keys as Item[] | undefined;
    }
    return counts;
  }

  async lease(runId: string, holder: string, untilMs: number, nowMs: number): Promise<boolean> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: runKey(runId),
          UpdateExpression: 'SET leaseHolder = :h, leaseUntil = :until',
          ConditionExpression: 'attribute_exists(pk) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseHolder = :h)',
          ExpressionAttributeValues: { ':h': holder, ':until': untilMs, ':now': nowMs },
        }),
      );
      return true;
    } catch (err) {
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async tallyAlone(runId: string, customerId: string, tally: Tally): Promise<void> {
    try {
      await this.db.send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.table, Item: { pk: `RUNALONE#${runId}#${customerId}`, sk: 'TALLY', tally }, ConditionExpression: 'attribute_not_exists(pk)' } },
            runTallyItem(this.table, { runId, tally }),
          ],
        }),
      );
    } catch (err) {
      const codes = cancellationCodes(err);
      if (codes?.[0] === 'ConditionalCheckFailed') return; // counted before the crash
      throw err;
    }
  }
}

