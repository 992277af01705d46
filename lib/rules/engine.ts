// Compiles a set of rules once into an index keyed by source and detail-type, so an event is
// only tested against rules that can match it (10,000 rules cost about what 100 do).
import { compilePattern } from '../event-pattern.ts';
import type { Rule } from './rule.ts';

export interface CompiledRule {
  readonly rule: Rule;
  readonly when: (event: unknown) => boolean;
  readonly if: (view: unknown) => boolean;
}

const ANY = '*';

export class RuleSet {
  private readonly index = new Map<string, CompiledRule[]>();
  readonly size: number;

  constructor(rules: readonly Rule[]) {
    for (const rule of rules) {
      if (!rule.enabled) continue;
      const compiled: CompiledRule = {
        rule,
        when: compilePattern(rule.when),
        if: rule.if ? compilePattern(rule.if) : () => true,
      };
      for (const key of indexKeysOf(rule.when)) {
        const bucket = this.index.get(key);
        if (bucket) bucket.push(compiled);
        else this.index.set(key, [compiled]);
      }
    }
    // Higher priority first; ruleId breaks ties so the order never depends on load order.
    for (const bucket of this.index.values()) bucket.sort(byPriority);
    this.size = rules.length;
  }

  /** Rules whose `when` matches the event, before the customer (`if`) and arbitration. */
  matching(event: { source: string; 'detail-type': string }): CompiledRule[] {
    const out: CompiledRule[] = [];
    for (const key of [`${event.source}\u0000${event['detail-type']}`, `${event.source}\u0000${ANY}`, `${ANY}\u0000${ANY}`]) {
      const bucket = this.index.get(key);
      if (!bucket) continue;
      for (const compiled of bucket) if (compiled.when(event)) out.push(compiled);
    }
    return out.length > 1 ? out.sort(byPriority) : out;
  }
}

function byPriority(a: CompiledRule, b: CompiledRule): number {
  return b.rule.priority - a.rule.priority || (a.rule.ruleId < b.rule.ruleId ? -1 : a.rule.ruleId > b.rule.ruleId ? 1 : 0);
}

/** Exact values a pattern requires for a top-level field, or undefined when it is not exact-only. */
function exactValues(pattern: Record<string, unknown>, field: string): string[] | undefined {
  const values = pattern[field];
  if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) return undefined;
  return values as string[];
}

/** Index keys: each (source, detail-type) pair the rule can match, or wildcards. `$or` at top level goes to ANY. */
function indexKeysOf(when: Record<string, unknown>): string[] {
  const sources = exactValues(when, 'source');
  const types = exactValues(when, 'detail-type');
  if (!sources || '$or' in when) return [`${ANY}\u0000${ANY}`];
  return sources.flatMap((s) => (types ?? [ANY]).map((t) => `${s}\u0000${t}`));
}
