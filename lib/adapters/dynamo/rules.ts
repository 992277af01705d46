// The rules table, read with a short cache so marketers' changes reach running functions within
// seconds without reading the table per event, and written through DynamoRuleRepository (the CLI).
//   RULE#<ruleId> / CURRENT      the live rule (what evaluate uses)
//   RULE#<ruleId> / V#<000001>   every version ever put (for diff and rollback; ./versioned.ts)
import { createHash } from 'node:crypto';
import { QueryCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { checkRule, type Rule } from '../../core/rules/rule.ts';
import { RuleSet } from '../../core/rules/engine.ts';
import type { RuleSource } from '../../app/ports.ts';
import { VersionedItems, type VersionedKind } from './versioned.ts';

export const RULES_REFRESH_MS = 10_000;

const RULE_PREFIX = 'RULE#';
export const ruleKey = (ruleId: string) => ({ pk: `${RULE_PREFIX}${ruleId}`, sk: 'CURRENT' });
export const ruleVersionKey = (ruleId: string, version: number) => ({ pk: `${RULE_PREFIX}${ruleId}`, sk: `V#${String(version).padStart(6, '0')}` });

export interface RuleRejection {
  readonly ruleId: string;
  readonly reason: string;
  /** What runs instead: the last good version of the rule, or nothing. */
  readonly kept?: number | 'previous';
}

export interface WarmCacheOptions {
  readonly refreshMs?: number;
  readonly clock?: () => number;
}

/**
 * A value rebuilt from a table at most every `refreshMs`. Between one and two periods old, callers
 * get the previous value while a refresh runs, so a busy function never waits on the table; older
 * than that (after an idle spell), the caller waits for the refresh, so no event is ever decided on
 * rules loaded more than two periods ago (20 s by default: within the 30 s Baton promises).
 */
export class WarmCache<T> {
  private value: T | undefined;
  private loadedAt = 0;
  private refreshing: Promise<T> | undefined;

  constructor(
    private readonly build: () => Promise<T>,
    private readonly opts: WarmCacheOptions = {},
  ) {}

  async current(): Promise<T> {
    const now = (this.opts.clock ?? Date.now)();
    const period = this.opts.refreshMs ?? RULES_REFRESH_MS;
    const age = now - this.loadedAt;
    if (this.value !== undefined && age < period) return this.value;
    this.refreshing ??= this.build()
      .then((value) => {
        this.value = value;
        this.loadedAt = now;
        return value;
      })
      .finally(() => {
        this.refreshing = undefined;
      });
    if (this.value !== undefined && age < 2 * period) {
      // A failed background refresh is tried again by the next call; it must not go unhandled.
      this.refreshing.catch(() => undefined);
      return this.value;
    }
    return this.refreshing;
  }
}

/** Reports each rejected item once (per content), not at every refresh. */
export class RejectionLog {
  private seen = new Set<string>();
  private next = new Set<string>();

  note(id: string, item: unknown, report: () => void): void {
    const key = `${id}\u0000${createHash('sha256').update(JSON.stringify(item) ?? '').digest('base64url')}`;
    this.next.add(key);
    if (!this.seen.has(key)) report();
  }

  /** Call after each load: items no longer in the table may be reported again if they return. */
  done(): void {
    this.seen = this.next;
    this.next = new Set();
  }
}

export interface CachedRuleSourceOptions extends WarmCacheOptions {
  /** Told about each invalid item once, at the load that first sees it (the caller logs and counts it). */
  readonly onRejected?: (rejection: RuleRejection) => void;
  /** Versions of one rule, newest first: where a fresh process finds the last good version. */
  readonly versions?: (ruleId: string) => Promise<unknown[]>;
}

/** Loads the live rules; keeps the last good version of a rule whose new item is invalid. */
export class CachedRuleSource implements RuleSource {
  private readonly cache: WarmCache<RuleSet>;
  private lastGood = new Map<string, Rule>();
  private parsed = new Map<string, Rule>();
  private readonly rejections = new RejectionLog();
  /** Kept across refreshes: a refresh re-indexes only the rules whose items changed. */
  private live: RuleSet | undefined;

  constructor(
    private readonly load: () => Promise<unknown[]>,
    private readonly opts: CachedRuleSourceOptions = {},
  ) {
    this.cache = new WarmCache(() => this.refresh(), opts);
  }

  current(): Promise<RuleSet> {
    return this.cache.current();
  }

  private async refresh(): Promise<RuleSet> {
    const items = await this.load();
    const good = new Map<string, Rule>();
    const parsed = new Map<string, Rule>();
    for (const item of items) {
      // An unchanged item keeps its Rule object, so its compiled patterns are reused.
      const text = JSON.stringify(item);
      const same = this.parsed.get(text);
      if (same) {
        good.set(same.ruleId, same);
        parsed.set(text, same);
        continue;
      }
      const check = checkRule(item);
      if (check.ok) parsed.set(text, check.rule);
      if (check.ok) {
        good.set(check.rule.ruleId, check.rule);
        continue;
      }
      let previous = this.lastGood.get(check.ruleId);
      if (!previous && this.opts.versions && check.ruleId !== '(no ruleId)') previous = await this.newestValid(check.ruleId);
      if (previous) good.set(check.ruleId, previous);
      this.rejections.note(check.ruleId, item, () =>
        this.opts.onRejected?.({ ruleId: check.ruleId, reason: check.reason, ...(previous ? { kept: previous.version ?? 'previous' } : {}) }),
      );
    }
    this.rejections.done();
    this.lastGood = good;
    this.parsed = parsed;
    if (!this.live) return (this.live = new RuleSet([...good.values()]));
    this.live.update([...good.values()]);
    return this.live;
  }

  private async newestValid(ruleId: string): Promise<Rule | undefined> {
    for (const item of await this.opts.versions!(ruleId)) {
      const check = checkRule(item);
      if (check.ok && check.rule.ruleId === ruleId) return check.rule;
    }
    return undefined;
  }
}

const strip = (item: Record<string, unknown>): Record<string, unknown> => {
  const { pk: _pk, sk: _sk, updatedAt: _u, updatedBy: _b, ...rest } = item;
  return rest;
};

/** Every live item (sk = CURRENT) of a table, as stored without its keys, unvalidated. */
export function scanCurrent(db: DynamoDBDocumentClient, table: string): () => Promise<Record<string, unknown>[]> {
  return async () => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'sk = :current',
          ExpressionAttributeValues: { ':current': 'CURRENT' },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? []) items.push({ ...strip(item), __pk: item.pk });
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
}

/** Every live rule item (sk = CURRENT), as stored, unvalidated. */
export function scanCurrentRules(db: DynamoDBDocumentClient, table: string): () => Promise<unknown[]> {
  const scan = scanCurrent(db, table);
  return async () =>
    (await scan())
      .filter((i) => String(i.__pk).startsWith(RULE_PREFIX))
      .map(({ __pk: _pk, ...rule }) => rule);
}

/** The stored versions of one rule, newest first, without keys. */
export function queryRuleVersions(db: DynamoDBDocumentClient, table: string): (ruleId: string) => Promise<Record<string, unknown>[]> {
  return async (ruleId) => {
    const out = await db.send(
      new QueryCommand({
        TableName: table,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
        ExpressionAttributeValues: { ':pk': `${RULE_PREFIX}${ruleId}`, ':v': 'V#' },
        ScanIndexForward: false,
        ConsistentRead: true,
      }),
    );
    return (out.Items ?? []).map(strip);
  };
}

export const RULE_ITEMS: VersionedKind = { noun: 'rule', prefix: RULE_PREFIX, idField: 'ruleId', check: checkRule };

/** Rule writes: every put, disable and rollback is a new version, conditional on the one read. */
export class DynamoRuleRepository extends VersionedItems {
  constructor(db: DynamoDBDocumentClient, table: string, clock?: () => Date) {
    super(db, table, RULE_ITEMS, clock);
  }
}
