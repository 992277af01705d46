// Many patterns matched at once. An event is walked once, along the paths some pattern reads; each
// value finds the distinct conditions it satisfies in that path's FieldIndex, which marks the leaves
// (a field's alternatives) holding them. Each `$or` branch is the list of its leaves in a trie shared
// by all branches, most-shared leaves first, and the walk down that trie follows only satisfied
// leaves: the work per event depends on the event and on the branches that (nearly) match, not on
// how many patterns the set holds.
//
// The trie decides on "flattened" values: every scalar found at a path, looking through arrays. That
// is exactly the single-pattern semantics (tree.ts) except where arrays of objects meet a node that
// holds two or more fields of one branch (array consistency: one element must satisfy them all) and
// for deep `[value, {exists: false}]` leaves. Only a branch in those cases, once its leaves are all
// satisfied, is confirmed with its compiled single pattern.
import { BatonError } from '../../contract/errors.ts';
import { FieldIndex, Scratch, type Condition } from './field-index.ts';
import { parsePattern, type Cond as CondSpec, type FieldSpec } from './parse.ts';
import { compilePattern, type CompiledPattern } from './tree.ts';

const PROTO_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));
/** A trie node with more children than this finds its satisfied ones through a map. */
const MAP_ABOVE = 8;

/** A node of the path trie: one per field path prefix that some pattern reads. */
class PathNode {
  readonly keys: string[] = [];
  readonly kids: PathNode[] = [];
  /** For keys that Object.prototype also has: read them only as own properties. */
  readonly own: boolean[] = [];
  field: FieldIndex | undefined;
  /** The last event that held an array at this path (decides array-consistency checks). */
  arrayed = 0;
  /** Leaves at or below this node. */
  refs = 0;
  /** Leaves at this node. */
  here = 0;

  constructor(readonly parent: PathNode | undefined, readonly key: string) {}

  child(key: string): PathNode | undefined {
    const i = this.keys.indexOf(key);
    return i < 0 ? undefined : this.kids[i];
  }
}

/** Satisfied only by a value at the path that meets one of its conditions. */
const POSITIVE = 0;
/** `exists: false` alone: satisfied when the path holds no scalar. */
const ABSENT = 1;
/** Conditions and `exists: false`: satisfied by a value meeting one, or by absence. */
const MIXED = 2;
type Kind = typeof POSITIVE | typeof ABSENT | typeof MIXED;

/** A leaf: one field's alternatives, shared by every branch that has the same ones on the same path. */
interface LeafRec {
  stamp: number;
  readonly key: string;
  readonly kind: Kind;
  readonly path: PathNode;
  readonly field: FieldIndex;
  readonly conds: Condition[];
  readonly depth: number;
  /** Branches using it; also its rank in the trie (most-shared first). */
  uses: number;
  readonly id: number;
}

interface Entry<T> {
  readonly key: string;
  readonly value: T;
  readonly pattern: unknown;
  readonly branches: BranchRec<T>[];
  /** The last event that decided this entry (matched, or refused by its compiled pattern). */
  stamp: number;
  tree: CompiledPattern | undefined;
}

interface BranchRec<T> {
  readonly entry: Entry<T>;
  /** Leaves that need a value, in trie order. */
  readonly pos: LeafRec[];
  /** Leaves that absence satisfies: checked once the positive ones are. */
  readonly neg: LeafRec[];
  /** Path nodes holding two or more of the branch's fields: an array there calls for the compiled pattern. */
  readonly consistency: PathNode[];
  /** Always confirm with the compiled pattern (a deep leaf that mixes values with `exists: false`). */
  readonly confirm: boolean;
  node: TrieNode<T> | undefined;
}

class TrieNode<T> {
  readonly edges: LeafRec[] = [];
  readonly kids: TrieNode<T>[] = [];
  map: Map<LeafRec, TrieNode<T>> | undefined;
  ends: BranchRec<T>[] | undefined;

  constructor(readonly parent: TrieNode<T> | undefined, readonly via: LeafRec | undefined) {}

  child(leaf: LeafRec): TrieNode<T> {
    const found = this.map ? this.map.get(leaf) : this.kids[this.edges.indexOf(leaf)];
    if (found) return found;
    const kid = new TrieNode<T>(this, leaf);
    this.edges.push(leaf);
    this.kids.push(kid);
    if (this.map) this.map.set(leaf, kid);
    else if (this.edges.length > MAP_ABOVE) this.map = new Map(this.edges.map((l, j) => [l, this.kids[j]!]));
    return kid;
  }

  unlink(kid: TrieNode<T>): void {
    const i = this.kids.indexOf(kid);
    this.edges.splice(i, 1);
    this.kids.splice(i, 1);
    this.map?.delete(kid.via!);
    if (this.map && this.edges.length <= MAP_ABOVE) this.map = undefined;
  }
}

export interface PatternSetStats {
  readonly patterns: number;
  readonly branches: number;
  /** Distinct leaves (a field's alternatives) over all patterns. */
  readonly leaves: number;
  /** Distinct (path, condition) pairs. */
  readonly conditions: number;
  readonly paths: number;
  readonly trieNodes: number;
}

/** Thrown by `matching(text)` when the text is not JSON. No cause: JSON.parse's message quotes the text. */
export class InvalidEventTextError extends BatonError<'invalid-event-text'> {
  constructor() {
    super('invalid-event-text', 'expected the event as JSON text, received text that does not parse as JSON');
  }
}

/**
 * A live set of EventBridge patterns, each under a key, matched together. Adding, replacing or
 * removing one pattern touches only that pattern's leaves and trie path.
 */
export class PatternSet<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly leaves = new Map<string, LeafRec>();
  private readonly root = new PathNode(undefined, '');
  private readonly trie = new TrieNode<T>(undefined, undefined);
  private readonly st = new Scratch<LeafRec>();
  private nextLeafId = 0;
  private branchCount = 0;
  // Reused stacks for the walks (no allocation per event).
  private readonly values: unknown[] = [];
  private readonly paths: PathNode[] = [];
  private readonly nodes: TrieNode<T>[] = [];

  get size(): number {
    return this.entries.size;
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  /** Adds (or replaces) the pattern under `key`. Throws InvalidPatternError, leaving the set unchanged. */
  set(key: string, pattern: unknown, value: T): void {
    this.setAll([[key, pattern, value]]);
  }

  /**
   * Adds (or replaces) many patterns at once: every pattern is validated first (an invalid one throws
   * InvalidPatternError and nothing changes), then leaves are ranked by how many branches share them.
   */
  setAll(items: Iterable<readonly [key: string, pattern: unknown, value: T]>): void {
    // By key, the last one wins.
    const byKey = new Map<string, { key: string; pattern: unknown; value: T; branches: FieldSpec[][] }>();
    for (const [key, pattern, value] of items) {
      byKey.delete(key);
      byKey.set(key, { key, pattern, value, branches: parsePattern(pattern).branches.map((b) => [...b.values()]) });
    }
    const parsed = [...byKey.values()];
    for (const p of parsed) if (this.entries.has(p.key)) this.delete(p.key);
    const built: BranchRec<T>[] = [];
    for (const p of parsed) {
      const entry: Entry<T> = { key: p.key, value: p.value, pattern: p.pattern, branches: [], stamp: 0, tree: undefined };
      for (const fields of p.branches) {
        const b = this.branch(entry, fields);
        entry.branches.push(b);
        built.push(b);
      }
      this.entries.set(p.key, entry);
    }
    for (const b of built) this.insert(b);
  }

  /** Removes the pattern under `key`; false when there is none. */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    for (const b of entry.branches) {
      this.branchCount--;
      let node = b.node!;
      node.ends!.splice(node.ends!.indexOf(b), 1);
      if (node.ends!.length === 0) node.ends = undefined;
      // Prune trie nodes that no longer lead anywhere.
      while (node.parent && !node.ends && node.edges.length === 0) {
        node.parent.unlink(node);
        node = node.parent;
      }
      for (const l of b.pos) this.releaseLeaf(l);
      for (const l of b.neg) this.releaseLeaf(l);
    }
    return true;
  }

  /** The values of the patterns that match the event given as JSON text (parsing included). */
  matching(text: string): T[] {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new InvalidEventTextError();
    }
    return this.matchingDoc(doc);
  }

  /** The values of the patterns that match an already parsed event, each once. */
  matchingDoc(doc: unknown): T[] {
    const out: T[] = [];
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return out;
    const st = this.st;
    st.stamp++;
    st.nSat = 0;
    this.walk(doc as Record<string, unknown>);
    this.collect(doc, out);
    return out;
  }

  stats(): PatternSetStats {
    let conditions = 0;
    let paths = 0;
    const stack = [this.root];
    while (stack.length) {
      const n = stack.pop()!;
      paths++;
      conditions += n.field?.size ?? 0;
      stack.push(...n.kids);
    }
    let trieNodes = 0;
    const tstack = [this.trie];
    while (tstack.length) {
      const n = tstack.pop()!;
      trieNodes++;
      tstack.push(...n.kids);
    }
    return { patterns: this.entries.size, branches: this.branchCount, leaves: this.leaves.size, conditions, paths: paths - 1, trieNodes };
  }

  // ---- building ------------------------------------------------------------------------------

  private branch(entry: Entry<T>, fields: FieldSpec[]): BranchRec<T> {
    const pos: LeafRec[] = [];
    const neg: LeafRec[] = [];
    let confirm = false;
    const below = new Map<PathNode, number>();
    for (const f of fields) {
      const leaf = this.leaf(f);
      leaf.uses++;
      if (leaf.kind === POSITIVE) pos.push(leaf);
      else neg.push(leaf);
      if (leaf.kind === MIXED && leaf.depth > 1) confirm = true;
      for (let n = leaf.path.parent; n && n !== this.root; n = n.parent) below.set(n, (below.get(n) ?? 0) + 1);
    }
    const consistency = [...below].filter(([, count]) => count > 1).map(([n]) => n);
    this.branchCount++;
    return { entry, pos, neg, consistency, confirm, node: undefined };
  }

  private insert(b: BranchRec<T>): void {
    // Most-shared leaves first: branches share trie prefixes, and the walk prunes early.
    b.pos.sort((x, y) => y.uses - x.uses || x.id - y.id);
    let node = this.trie;
    for (const l of b.pos) node = node.child(l);
    (node.ends ??= []).push(b);
    b.node = node;
  }

  private leaf(f: FieldSpec): LeafRec {
    const conds = f.leaf.conds;
    const absentOk = conds.some((c) => c.t === 'exists' && !c.v);
    // `exists: true` among the alternatives accepts every value, whatever the others say.
    const existsOk = conds.some((c) => c.t === 'exists' && c.v);
    const positive: CondSpec[] = existsOk ? [{ t: 'exists', v: true }] : conds.filter((c) => c.t !== 'exists');
    const kind: Kind = !absentOk ? POSITIVE : positive.length === 0 ? ABSENT : MIXED;
    const path = this.path(f.segs);
    const field = (path.field ??= new FieldIndex());
    // Canonical per field: the conditions' filed keys, sorted, and the kind.
    const acquired = positive.map((c) => field.acquire(c));
    const key = `${JSON.stringify(f.segs)}|${kind}|${JSON.stringify([...new Set(acquired.map((c) => c.key))].sort())}`;
    const existing = this.leaves.get(key);
    if (existing) {
      for (const c of acquired) field.release(c);
      return existing;
    }
    // Alternatives that file as one condition ("a" twice, "a" and wildcard "a") hold one reference.
    const unique: Condition[] = [];
    for (const c of acquired) {
      if (unique.includes(c)) field.release(c);
      else unique.push(c);
    }
    const leaf: LeafRec = { stamp: 0, key, kind, path, field, conds: unique, depth: f.segs.length, uses: 0, id: this.nextLeafId++ };
    for (const c of unique) c.leaves.push(leaf);
    for (let n: PathNode | undefined = path; n; n = n.parent) n.refs++;
    path.here++;
    this.leaves.set(key, leaf);
    return leaf;
  }

  private releaseLeaf(leaf: LeafRec): void {
    if (--leaf.uses > 0) return;
    this.leaves.delete(leaf.key);
    for (const c of leaf.conds) {
      c.leaves.splice(c.leaves.indexOf(leaf), 1);
      leaf.field.release(c);
    }
    if (--leaf.path.here === 0) leaf.path.field = undefined;
    for (let n: PathNode | undefined = leaf.path; n; n = n.parent) {
      if (--n.refs > 0 || !n.parent) continue;
      // Nothing reads this path any more.
      const i = n.parent.kids.indexOf(n);
      n.parent.keys.splice(i, 1);
      n.parent.kids.splice(i, 1);
      n.parent.own.splice(i, 1);
    }
  }

  private path(segs: readonly string[]): PathNode {
    let n = this.root;
    for (const s of segs) {
      let kid = n.child(s);
      if (!kid) {
        kid = new PathNode(n, s);
        n.keys.push(s);
        n.kids.push(kid);
        n.own.push(PROTO_KEYS.has(s));
      }
      n = kid;
    }
    return n;
  }

  // ---- matching ------------------------------------------------------------------------------

  /** Every value along the paths patterns read, with an explicit stack (no depth limit). */
  private walk(doc: Record<string, unknown>): void {
    const st = this.st;
    const stamp = st.stamp;
    const values = this.values;
    const paths = this.paths;
    let top = pushKids(doc, this.root, values, paths, 0);
    while (top > 0) {
      top--;
      const v = values[top];
      const n = paths[top]!;
      values[top] = undefined;
      switch (typeof v) {
        case 'string':
          n.field?.string(v, st);
          break;
        case 'number':
          n.field?.number(v, st);
          break;
        case 'boolean':
          n.field?.other(v, st);
          break;
        case 'object':
          if (v === null) {
            n.field?.other(null, st);
          } else if (Array.isArray(v)) {
            n.arrayed = stamp;
            for (let i = v.length - 1; i >= 0; i--) {
              values[top] = v[i];
              paths[top++] = n;
            }
          } else if (n.kids.length > 0) {
            top = pushKids(v as Record<string, unknown>, n, values, paths, top);
          }
          break;
        default:
          break;
      }
    }
  }

  /** Down the trie along satisfied leaves; branches reached are checked and their values collected. */
  private collect(doc: unknown, out: T[]): void {
    const st = this.st;
    const stamp = st.stamp;
    const sat = st.sat;
    const nSat = st.nSat;
    const stack = this.nodes;
    let top = 0;
    stack[top++] = this.trie;
    while (top > 0) {
      const n = stack[--top]!;
      if (n.ends !== undefined) this.check(n.ends, doc, out);
      const map = n.map;
      if (map !== undefined && nSat < n.edges.length) {
        for (let j = 0; j < nSat; j++) {
          const kid = map.get(sat[j]!);
          if (kid !== undefined) stack[top++] = kid;
        }
      } else {
        const edges = n.edges;
        const kids = n.kids;
        for (let i = 0; i < edges.length; i++) if (edges[i]!.stamp === stamp) stack[top++] = kids[i]!;
      }
    }
  }

  private check(ends: readonly BranchRec<T>[], doc: unknown, out: T[]): void {
    const stamp = this.st.stamp;
    for (let i = 0; i < ends.length; i++) {
      const b = ends[i]!;
      const e = b.entry;
      if (e.stamp === stamp) continue;
      if (b.confirm || arrayed(b.consistency, stamp)) {
        // The compiled pattern decides for the whole entry (all its branches).
        e.stamp = stamp;
        if ((e.tree ??= compilePattern(e.pattern))(doc)) out.push(e.value);
        continue;
      }
      let ok = true;
      const neg = b.neg;
      for (let j = 0; j < neg.length; j++) {
        const l = neg[j]!;
        if (l.field.present === stamp && l.stamp !== stamp) {
          ok = false;
          break;
        }
      }
      if (ok) {
        e.stamp = stamp;
        out.push(e.value);
      }
    }
  }
}

function arrayed(nodes: readonly PathNode[], stamp: number): boolean {
  for (let i = 0; i < nodes.length; i++) if (nodes[i]!.arrayed === stamp) return true;
  return false;
}

function pushKids(o: Record<string, unknown>, n: PathNode, values: unknown[], paths: PathNode[], top: number): number {
  const keys = n.keys;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = n.own[i] ? (Object.hasOwn(o, k) ? o[k] : undefined) : o[k];
    if (v !== undefined) {
      values[top] = v;
      paths[top++] = n.kids[i]!;
    }
  }
  return top;
}
