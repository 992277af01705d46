// The context table (docs/context.md): the latest business fact per subject.
//   CTX#inventory#<sku> / <location>   { fact, at }
//   CTX#team#<team>     / -            { fact, at }
//   CTX#promotion#<id>  / -            { fact, at }
// One partition per SKU or team keeps busy stock updates off one key; functions read the whole
// table on a short cache, like rules (it holds one small item per SKU and location, no customer).
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { businessContext, contextFactSchema, contextSubject, EMPTY_CONTEXT, type BusinessContext, type ContextFact } from '../../core/context/index.ts';
import type { ContextSource, ContextStore, Metrics } from '../../app/ports.ts';
import { RejectionLog, WarmCache, type WarmCacheOptions } from './rules.ts';

/** Functions see a context change within twice this (a stale value is served while one refresh runs). */
export const CONTEXT_REFRESH_MS = 5_000;

export function contextKey(fact: ContextFact): { pk: string; sk: string } {
  if (fact.kind === 'inventory') return { pk: `CTX#inventory#${fact.sku}`, sk: fact.location };
  return { pk: `CTX#${fact.kind}#${contextSubject(fact).id}`, sk: '-' };
}

export class DynamoContextStore implements ContextStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async record(fact: ContextFact): Promise<'applied' | 'stale'> {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...contextKey(fact), at: fact.at, fact },
          // Times are all UTC with milliseconds (lib/core/context), so text order is time order.
          ConditionExpression: 'attribute_not_exists(pk) OR #at < :at',
          ExpressionAttributeNames: { '#at': 'at' },
          ExpressionAttributeValues: { ':at': fact.at },
        }),
      );
      return 'applied';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'stale';
      throw error;
    }
  }
}

/** Every stored item's fact, unvalidated. */
export function scanContext(db: DynamoDBDocumentClient, table: string): () => Promise<unknown[]> {
  return async () => {
    const facts: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(new ScanCommand({ TableName: table, ProjectionExpression: 'pk, fact', ExclusiveStartKey: start }));
      for (const item of page.Items ?? []) facts.push(item.fact);
      start = page.LastEvaluatedKey;
    } while (start);
    return facts;
  };
}

export interface CachedContextSourceOptions extends WarmCacheOptions {
  readonly metrics?: Metrics;
  /** Told about each invalid item once (the caller logs it). Never the item itself: it names the table's key only. */
  readonly onRejected?: (reason: string) => void;
  readonly now?: () => Date;
}

/** The context in force; a failed refresh keeps the last good context (counted), a first failure reads as empty. */
export class CachedContextSource implements ContextSource {
  private readonly cache: WarmCache<BusinessContext>;
  private lastGood: BusinessContext | undefined;
  private readonly rejections = new RejectionLog();

  constructor(
    private readonly load: () => Promise<unknown[]>,
    private readonly opts: CachedContextSourceOptions = {},
  ) {
    this.cache = new WarmCache(() => this.refresh(), { refreshMs: CONTEXT_REFRESH_MS, ...opts });
  }

  async current(): Promise<BusinessContext> {
    try {
      return (this.lastGood = await this.cache.current());
    } catch {
      this.opts.metrics?.count('ContextRefreshFailed');
      // Deciding on the last known stock beats failing every event while the table is unreachable.
      return this.lastGood ?? EMPTY_CONTEXT;
    }
  }

  private async refresh(): Promise<BusinessContext> {
    const facts: ContextFact[] = [];
    for (const raw of await this.load()) {
      const parsed = contextFactSchema.safeParse(raw);
      if (parsed.success) facts.push(parsed.data);
      else {
        const issue = parsed.error.issues[0];
        this.rejections.note('context', raw, () => this.opts.onRejected?.(`${issue?.path.join('.') || 'fact'}: ${issue?.message ?? 'invalid'}`));
      }
    }
    this.rejections.done();
    return businessContext(facts, (this.opts.now ?? (() => new Date()))());
  }
}
