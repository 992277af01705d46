// The live rule set: every enabled rule's `when` in one PatternSet (lib/core/event-pattern/set.ts),
// so an event costs about the same against 10,000 rules as against 100, and a rule added, changed
// or removed touches only its own part of the index. `if` patterns (the customer view) are compiled
// on first use and shared between rules that write the same one.
import { compilePattern, PatternSet, validate, type CompiledPattern, type PatternSetStats } from '../event-pattern/index.ts';
import type { Rule } from './rule.ts';

export interface CompiledRule {
  readonly rule: Rule;
  readonly when: CompiledPattern;
  if(view: unknown): boolean;
  /** The rule's validity window in epoch ms (±Infinity when open), parsed once. */
  readonly fromMs: number;
  readonly untilMs: number;
}

const always = (): boolean => true;

class Entry implements CompiledRule {
  /** The pattern id the PatternSet gave this rule's `when`. */
  pid = -1;
  readonly fromMs: number;
  readonly untilMs: number;
  private whenPattern: CompiledPattern | undefined;
  private ifPattern: ((view: unknown) => boolean) | undefined;

  constructor(
    readonly rule: Rule,
    private readonly shared: Map<string, (view: unknown) => boolean>,
  ) {
    this.fromMs = rule.validFrom ? Date.parse(rule.validFrom) : -Infinity;
    this.untilMs = rule.validUntil ? Date.parse(rule.validUntil) : Infinity;
    // Refused now rather than at the first event that reaches it.
    if (rule.if) validate(rule.if);
  }

  get when(): CompiledPattern {
    return (this.whenPattern ??= compilePattern(this.rule.when));
  }

  if(view: unknown): boolean {
    return (this.ifPattern ??= this.compileIf())(view);
  }

  private compileIf(): (view: unknown) => boolean {
    if (!this.rule.if) return always;
    const text = JSON.stringify(this.rule.if);
    let fn = this.shared.get(text);
    if (!fn) this.shared.set(text, (fn = compilePattern(this.rule.if)));
    return fn;
  }
}

export interface RuleSetStats extends PatternSetStats {
  readonly rules: number;
  /** Rule branches examined by the last `matching` call after all their leaves were satisfied. */
  readonly lastChecked: number;
}

/** What `update` changed. */
export interface RuleChanges {
  readonly added: number;
  readonly changed: number;
  readonly removed: number;
}

export class RuleSet {
  private readonly set = new PatternSet<Entry>();
  private readonly byId = new Map<string, Rule>();
  /** Per ruleId: the last `update` call that found it in its list. */
  private readonly seen = new Map<string, number>();
  private generation = 0;
  private readonly ifs = new Map<string, (view: unknown) => boolean>();
  private list: readonly Rule[] | undefined;
  /** Enabled rules in result order (priority, then ruleId), and each pattern id's place in it. */
  private ordered: Entry[] = [];
  private rank = new Int32Array(64);
  private keys = new Int32Array(64);

  /** Compiles every enabled rule; throws InvalidPatternError for an invalid pattern (validate first). */
  constructor(rules: readonly Rule[]) {
    this.update(rules);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Every rule of the set, enabled or not. */
  get rules(): readonly Rule[] {
    return (this.list ??= [...this.byId.values()]);
  }

  /**
   * Makes the set hold exactly `rules`. A rule given as the same object as before is kept as it is,
   * so a refresh that changes one rule of 10,000 re-indexes that one. Validates every new pattern
   * before changing anything: on InvalidPatternError the set is unchanged.
   */
  update(rules: readonly Rule[]): RuleChanges {
    // One pass over the list with a stamp per known rule: no map of the whole list is built, so a
    // refresh that finds one change among 10,000 rules costs one lookup per rule.
    const gen = ++this.generation;
    const put: (readonly [string, unknown, Entry])[] = [];
    const off: string[] = [];
    const fresh = new Map<string, Rule>();
    let added = 0;
    let changed = 0;
    let known = 0;
    for (const r of rules) {
      const id = r.ruleId;
      const stamp = this.seen.get(id);
      if (stamp === gen || fresh.has(id)) return this.updateSlowly(rules);
      const before = this.byId.get(id);
      if (before !== undefined) {
        known++;
        this.seen.set(id, gen);
        if (before === r) continue;
        changed++;
      } else added++;
      fresh.set(id, r);
      if (r.enabled) put.push([id, r.when, new Entry(r, this.ifs)]);
      else off.push(id);
    }
    const gone: string[] = [];
    if (known < this.byId.size) for (const id of this.byId.keys()) if (this.seen.get(id) !== gen) gone.push(id);
    return this.apply(put, off, gone, fresh, { added, changed, removed: gone.length });
  }

  /** `update` for a list that holds one ruleId twice (the last one wins). */
  private updateSlowly(rules: readonly Rule[]): RuleChanges {
    const next = new Map<string, Rule>();
    for (const r of rules) next.set(r.ruleId, r);
    const put: (readonly [string, unknown, Entry])[] = [];
    const off: string[] = [];
    const fresh = new Map<string, Rule>();
    let added = 0;
    let changed = 0;
    for (const [id, r] of next) {
      const before = this.byId.get(id);
      if (before === r) continue;
      if (before) changed++;
      else added++;
      fresh.set(id, r);
      if (r.enabled) put.push([id, r.when, new Entry(r, this.ifs)]);
      else off.push(id);
    }
    const gone: string[] = [];
    for (const id of this.byId.keys()) if (!next.has(id)) gone.push(id);
    return this.apply(put, off, gone, fresh, { added, changed, removed: gone.length });
  }

  private apply(put: (readonly [string, unknown, Entry])[], off: string[], gone: string[], fresh: Map<string, Rule>, changes: RuleChanges): RuleChanges {
    if (put.length + off.length + gone.length === 0) return changes;
    const leaving = [...off, ...gone, ...put.map(([id]) => id)].filter((id) => this.set.has(id)).map((id) => this.set.valueOf(this.set.idOf(id)!));
    this.set.setAll(put);
    for (const id of off) this.set.delete(id);
    for (const id of gone) {
      this.set.delete(id);
      this.byId.delete(id);
      this.seen.delete(id);
    }
    for (const [id, r] of fresh) this.byId.set(id, r);
    this.list = undefined;
    this.reorder(leaving, put.map(([, , e]) => e));
    // Compiled `if` patterns of rules long gone are let go; entries keep the ones they use.
    if (this.ifs.size > 2 * this.byId.size + 100) this.ifs.clear();
    return changes;
  }

  /** Adds or replaces one rule. */
  put(rule: Rule): void {
    if (this.byId.get(rule.ruleId) === rule) return;
    const leaving = this.set.has(rule.ruleId) ? [this.set.valueOf(this.set.idOf(rule.ruleId)!)] : [];
    const entry = rule.enabled ? new Entry(rule, this.ifs) : undefined;
    if (entry) this.set.set(rule.ruleId, rule.when, entry);
    else this.set.delete(rule.ruleId);
    this.byId.set(rule.ruleId, rule);
    this.list = undefined;
    this.reorder(leaving, entry ? [entry] : []);
  }

  /** Removes one rule; false when the set has no rule with that id. */
  remove(ruleId: string): boolean {
    const leaving = this.set.has(ruleId) ? [this.set.valueOf(this.set.idOf(ruleId)!)] : [];
    this.set.delete(ruleId);
    this.list = undefined;
    this.reorder(leaving, []);
    this.seen.delete(ruleId);
    return this.byId.delete(ruleId);
  }

  /**
   * Rules whose `when` matches the event, highest priority first (then ruleId), before `if` and
   * arbitration. The event is a parsed document or its JSON text (parsed here).
   */
  matching(event: string | { source: string; 'detail-type': string }): CompiledRule[] {
    const set = this.set;
    const n = typeof event === 'string' ? set.matchText(event) : set.matchIds(event);
    if (n === 0) return [];
    const ids = set.matchedIds();
    if (n === 1) return [set.valueOf(ids[0]!)];
    // Result order by each pattern's precomputed place: a numeric sort, no comparator calls.
    if (this.keys.length < n) this.keys = new Int32Array(Math.max(n, 2 * this.keys.length));
    const keys = this.keys;
    const rank = this.rank;
    for (let i = 0; i < n; i++) keys[i] = rank[ids[i]!]!;
    sortRange(keys, 0, n - 1);
    const ordered = this.ordered;
    const out = new Array<CompiledRule>(n);
    for (let i = 0; i < n; i++) out[i] = ordered[keys[i]!]!;
    return out;
  }

  /** Rule branches the last `matching` call examined once all their leaves were satisfied. */
  get lastChecked(): number {
    return this.set.lastChecked;
  }

  stats(): RuleSetStats {
    return { rules: this.byId.size, ...this.set.stats(), lastChecked: this.set.lastChecked };
  }

  /** Keeps `ordered` and `rank` in step with the set: a few changes move in place, many re-sort. */
  private reorder(leaving: readonly Entry[], arriving: readonly Entry[]): void {
    for (const e of arriving) e.pid = this.set.idOf(e.rule.ruleId)!;
    if (leaving.length + arriving.length > 64) {
      this.ordered = [];
      for (const r of this.byId.values()) {
        const id = r.enabled ? this.set.idOf(r.ruleId) : undefined;
        if (id !== undefined) this.ordered.push(this.set.valueOf(id));
      }
      this.ordered.sort(byPriority);
    } else {
      for (const e of leaving) this.ordered.splice(this.place(e), 1);
      for (const e of arriving) this.ordered.splice(this.place(e), 0, e);
    }
    const ordered = this.ordered;
    let maxId = 0;
    for (const e of ordered) if (e.pid > maxId) maxId = e.pid;
    if (this.rank.length <= maxId) this.rank = new Int32Array(2 * maxId + 64);
    const rank = this.rank;
    for (let i = 0; i < ordered.length; i++) rank[ordered[i]!.pid] = i;
  }

  /** Where `e` sits (or would sit) in `ordered`. */
  private place(e: Entry): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (byPriority(this.ordered[mid]!, e) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export function byPriority(a: CompiledRule, b: CompiledRule): number {
  return b.rule.priority - a.rule.priority || (a.rule.ruleId < b.rule.ruleId ? -1 : a.rule.ruleId > b.rule.ruleId ? 1 : 0);
}

/** Sorts `a[lo..hi]` in place (ranks are distinct): quicksort, insertion sort below 24 elements. */
function sortRange(a: Int32Array, lo: number, hi: number): void {
  while (hi - lo >= 24) {
    const mid = (lo + hi) >>> 1;
    const x = a[lo]!;
    const y = a[mid]!;
    const z = a[hi]!;
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i++] = a[j]!;
        a[j--] = t;
      }
    }
    // The smaller side by recursion, the larger by the loop: the stack stays shallow.
    if (j - lo < hi - i) {
      sortRange(a, lo, j);
      lo = i;
    } else {
      sortRange(a, i, hi);
      hi = j;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const k = a[i]!;
    let j = i - 1;
    while (j >= lo && a[j]! > k) {
      a[j + 1] = a[j]!;
      j--;
    }
    a[j + 1] = k;
  }
}
