// Compiles a set of rules once into an index, so an event is only tested against rules that can
// match it: first by source and detail-type, then, inside each (source, detail-type) bucket, by the
// exact value of one more field the rule pins (a store, a SKU, a product...). 10,000 rules then
// cost about what 100 do. The index only ever narrows: every rule it returns is still tested with
// its compiled pattern, and a rule it cannot file precisely is tested for every event it could match.
import { compilePattern, type CompiledPattern } from '../event-pattern/index.ts';
import type { Rule } from './rule.ts';

export interface CompiledRule {
  readonly rule: Rule;
  readonly when: CompiledPattern;
  readonly if: (view: unknown) => boolean;
  /** The rule's validity window in epoch ms (±Infinity when open), parsed once. */
  readonly fromMs: number;
  readonly untilMs: number;
}

interface Entry extends CompiledRule {
  /** The last `matching` call that returned this rule: no rule is returned twice for one event. */
  seen: number;
}

const ANY = '*';
/** Below this many rules a bucket is scanned: a lookup would cost more than it saves. */
const SCAN_BELOW = 8;
const always = (): boolean => true;

interface PathIndex {
  readonly segs: readonly string[];
  readonly byValue: Map<string, Entry[]>;
}

class Bucket {
  readonly scan: Entry[] = [];
  readonly paths: PathIndex[] = [];

  constructor(entries: Entry[]) {
    if (entries.length < SCAN_BELOW) {
      this.scan = entries;
      return;
    }
    // Exact values each rule pins, per field (source and detail-type are already the bucket).
    const pinned = entries.map((e) => {
      const m = new Map<string, ReadonlySet<string>>();
      for (const path of e.when.paths) {
        if (path === 'source' || path === 'detail-type') continue;
        const keys = e.when.indexKeys(path.split('.'));
        if (keys && keys.size > 0) m.set(path, keys);
      }
      return m;
    });
    const counts = new Map<string, number>(); // `${path}\0${value}` → rules pinning it
    for (const m of pinned) for (const [path, keys] of m) for (const k of keys) counts.set(`${path}\u0000${k}`, (counts.get(`${path}\u0000${k}`) ?? 0) + 1);
    const byPath = new Map<string, PathIndex>();
    entries.forEach((entry, i) => {
      // File the rule under its most selective field: the one whose values the fewest rules share.
      let best: string | undefined;
      let bestCost = Infinity;
      for (const [path, keys] of pinned[i]!) {
        let cost = 0;
        for (const k of keys) cost += counts.get(`${path}\u0000${k}`)!;
        if (cost < bestCost || (cost === bestCost && best !== undefined && path < best)) {
          best = path;
          bestCost = cost;
        }
      }
      if (best === undefined || bestCost >= entries.length) {
        this.scan.push(entry);
        return;
      }
      let index = byPath.get(best);
      if (!index) byPath.set(best, (index = { segs: best.split('.'), byValue: new Map() }));
      for (const k of pinned[i]!.get(best)!) {
        const list = index.byValue.get(k);
        if (list) list.push(entry);
        else index.byValue.set(k, [entry]);
      }
    });
    this.paths = [...byPath.values()];
  }

  collect(event: unknown, stamp: number, out: Entry[], values: string[]): void {
    for (const e of this.scan) {
      if (e.seen !== stamp && e.when(event)) {
        e.seen = stamp;
        out.push(e);
      }
    }
    for (const p of this.paths) {
      values.length = 0;
      stringsAt(event, p.segs, 0, values);
      for (const v of values) {
        const list = p.byValue.get(v);
        if (!list) continue;
        for (const e of list) {
          if (e.seen !== stamp && e.when(event)) {
            e.seen = stamp;
            out.push(e);
          }
        }
      }
    }
  }
}

/** Every string at `segs` in the document, looking through arrays at any level (as the matcher does). */
function stringsAt(doc: unknown, segs: readonly string[], _i: number, out: string[]): void {
  // An explicit stack: no depth of nested arrays can overflow the call stack.
  const nodes: unknown[] = [doc];
  const depths: number[] = [0];
  while (nodes.length > 0) {
    const node = nodes.pop();
    const i = depths.pop()!;
    if (Array.isArray(node)) {
      for (let j = node.length - 1; j >= 0; j--) {
        nodes.push(node[j]);
        depths.push(i);
      }
    } else if (i === segs.length) {
      if (typeof node === 'string') out.push(node);
    } else if (node !== null && typeof node === 'object' && Object.hasOwn(node, segs[i]!)) {
      nodes.push((node as Record<string, unknown>)[segs[i]!]);
      depths.push(i + 1);
    }
  }
}

export interface RuleSetStats {
  readonly rules: number;
  readonly buckets: number;
  /** Rules tested for every event of their bucket (not filed under a field value). */
  readonly scanned: number;
  readonly indexedFields: number;
}

export class RuleSet {
  /** source → detail-type → bucket; `*` when the rule does not pin the field to exact values. */
  private readonly index = new Map<string, Map<string, Bucket>>();
  private stamp = 0;
  private readonly values: string[] = [];
  readonly size: number;
  readonly rules: readonly Rule[];

  /** Compiles every enabled rule; throws InvalidPatternError for an invalid pattern (validate first). */
  constructor(rules: readonly Rule[]) {
    const staged = new Map<string, Map<string, Entry[]>>();
    for (const rule of rules) {
      if (!rule.enabled) continue;
      const { when, if: customer } = compiledPatterns(rule);
      const entry: Entry = {
        rule,
        when,
        if: customer,
        fromMs: rule.validFrom ? Date.parse(rule.validFrom) : -Infinity,
        untilMs: rule.validUntil ? Date.parse(rule.validUntil) : Infinity,
        seen: 0,
      };
      const sources = when.indexKeys('source');
      const types = when.indexKeys('detail-type');
      for (const s of sources && sources.size > 0 ? sources : [ANY]) {
        let byType = staged.get(s);
        if (!byType) staged.set(s, (byType = new Map()));
        for (const t of types && types.size > 0 ? types : [ANY]) {
          const list = byType.get(t);
          if (list) list.push(entry);
          else byType.set(t, [entry]);
        }
      }
    }
    for (const [s, byType] of staged) {
      const buckets = new Map<string, Bucket>();
      for (const [t, entries] of byType) buckets.set(t, new Bucket(entries));
      this.index.set(s, buckets);
    }
    this.size = rules.length;
    this.rules = rules;
  }

  /** Rules whose `when` matches the event, highest priority first (then ruleId), before `if` and arbitration. */
  matching(event: { source: string; 'detail-type': string }): CompiledRule[] {
    const stamp = ++this.stamp;
    const out: Entry[] = [];
    for (const s of event.source === ANY ? [ANY] : [event.source, ANY]) {
      const byType = this.index.get(s);
      if (!byType) continue;
      byType.get(event['detail-type'])?.collect(event, stamp, out, this.values);
      if (event['detail-type'] !== ANY) byType.get(ANY)?.collect(event, stamp, out, this.values);
    }
    return out.length > 1 ? out.sort(byPriority) : out;
  }

  stats(): RuleSetStats {
    let buckets = 0;
    let scanned = 0;
    let indexedFields = 0;
    for (const byType of this.index.values()) {
      for (const b of byType.values()) {
        buckets++;
        scanned += b.scan.length;
        indexedFields += b.paths.length;
      }
    }
    return { rules: this.size, buckets, scanned, indexedFields };
  }
}

// A refresh that finds a rule unchanged (the same object, see CachedRuleSource) reuses its compiled patterns.
const compiledCache = new WeakMap<Rule, { when: CompiledPattern; if: (view: unknown) => boolean }>();

function compiledPatterns(rule: Rule): { when: CompiledPattern; if: (view: unknown) => boolean } {
  let c = compiledCache.get(rule);
  if (!c) compiledCache.set(rule, (c = { when: compilePattern(rule.when), if: rule.if ? compilePattern(rule.if) : always }));
  return c;
}

export function byPriority(a: CompiledRule, b: CompiledRule): number {
  return b.rule.priority - a.rule.priority || (a.rule.ruleId < b.rule.ruleId ? -1 : a.rule.ruleId > b.rule.ruleId ? 1 : 0);
}
