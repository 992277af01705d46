// The rules table, read with a short cache so marketers' changes reach running functions within
// seconds without reading the table per event.
//   RULE#<ruleId> / CURRENT      the live rule (what evaluate uses)
//   RULE#<ruleId> / V#<000001>   every version ever put (for diff and rollback)
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { checkRule, type Rule } from '../../rules/rule.ts';
import { RuleSet } from '../../rules/engine.ts';
import type { RuleSource } from '../../ports.ts';

export const RULES_REFRESH_MS = 10_000;

export interface RuleRejection {
  readonly ruleId: string;
  readonly reason: string;
}

export interface CachedRuleSourceOptions {
  readonly refreshMs?: number;
  readonly clock?: () => number;
  /** Told about each invalid item at load (the caller logs and counts it). */
  readonly onRejected?: (rejection: RuleRejection) => void;
}

/** Loads the live rules; keeps the last good version of a rule whose new item is invalid. */
export class CachedRuleSource implements RuleSource {
  private ruleSet: RuleSet | undefined;
  private loadedAt = 0;
  private refreshing: Promise<RuleSet> | undefined;
  private lastGood = new Map<string, Rule>();

  constructor(
    private readonly load: () => Promise<unknown[]>,
    private readonly opts: CachedRuleSourceOptions = {},
  ) {}

  async current(): Promise<RuleSet> {
    const now = (this.opts.clock ?? Date.now)();
    if (this.ruleSet && now - this.loadedAt < (this.opts.refreshMs ?? RULES_REFRESH_MS)) return this.ruleSet;
    this.refreshing ??= this.refresh(now).finally(() => {
      this.refreshing = undefined;
    });
    // Serve the previous rules while a refresh is in flight, so no event waits on the table.
    return this.ruleSet ?? this.refreshing;
  }

  private async refresh(now: number): Promise<RuleSet> {
    const items = await this.load();
    const good = new Map<string, Rule>();
    for (const item of items) {
      const check = checkRule(item);
      if (check.ok) {
        good.set(check.rule.ruleId, check.rule);
        continue;
      }
      this.opts.onRejected?.({ ruleId: check.ruleId, reason: check.reason });
      const previous = this.lastGood.get(check.ruleId);
      if (previous) good.set(check.ruleId, previous);
    }
    this.lastGood = good;
    this.ruleSet = new RuleSet([...good.values()]);
    this.loadedAt = now;
    return this.ruleSet;
  }
}

/** Every live rule item (sk = CURRENT), as stored, unvalidated. */
export function scanCurrentRules(db: DynamoDBDocumentClient, table: string): () => Promise<unknown[]> {
  return async () => {
    const items: unknown[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await db.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'sk = :current',
          ExpressionAttributeValues: { ':current': 'CURRENT' },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const { pk: _pk, sk: _sk, ...rule } = item;
        items.push(rule);
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
}
