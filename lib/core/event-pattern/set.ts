// Many patterns matched at once. An event is walked once, along the paths some pattern reads; each
// value finds the distinct conditions it satisfies in that path's FieldIndex, which marks the leaves
// (a field's alternatives) holding them. Each `$or` branch is the list of its leaves in a trie shared
// by all branches, most-shared leaves first, and the walk down that trie follows only satisfied
// leaves: the work per event depends on the event and on the branches that (nearly) match, not on
// how many patterns the set holds. Everything the walk reads per event (leaf marks, the trie's
// edges, branch checks) is small integers in flat typed arrays, so 10,000 patterns do not cost a
// cache miss per rule.
//
// The trie decides on "flattened" values: every scalar found at a path, looking through arrays. That
// is exactly the single-pattern semantics (tree.ts) except where an array of two or more objects
// meets a node that holds two or more fields of one branch (array consistency: one element must
// satisfy them all) and for deep `[value, {exists: false}]` leaves. Only a branch in those cases,
// once its leaves are all satisfied, is checked further: for one such array under positive leaves,
// from the array elements each satisfying value sat in; for the rest, with its compiled pattern.
import { BatonError } from '../../contract/errors.ts';
import { FieldIndex, leavesChanged, Scratch, type Condition } from './field-index.ts';
import { parsePattern, type Cond as CondSpec, type FieldSpec } from './parse.ts';
import { compilePattern, type CompiledPattern } from './tree.ts';

const PROTO_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));
/** A trie node with more children than this finds its satisfied ones through a map. */
const MAP_ABOVE = 8;
/** Stamps are int32; before they wrap, every mark is cleared. */
const LAST_STAMP = 0x7ffffffe;

/** Dense ids that are reused after removal, so the flat arrays stay as small as the set. */
class Ids {
  private next = 0;
  private readonly free: number[] = [];
  take(): number {
    return this.free.pop() ?? this.next++;
  }
  give(id: number): void {
    this.free.push(id);
  }
  get bound(): number {
    return this.next;
  }
  get live(): number {
    return this.next - this.free.length;
  }
}

function grown<A extends Int32Array | Uint8Array>(a: A, n: number): A {
  if (n <= a.length) return a;
  let size = a.length;
  while (size < n) size *= 2;
  const b = new (a.constructor as new (n: number) => A)(size);
  b.set(a);
  return b;
}

/** A node of the path trie: one per field path prefix that some pattern reads. */
class PathNode {
  readonly keys: string[] = [];
  readonly kids: PathNode[] = [];
  /** For keys that Object.prototype also has: read them only as own properties. */
  readonly own: boolean[] = [];
  field: FieldIndex | undefined;
  /** Leaves at or below this node. */
  refs = 0;
  /** Leaves at this node. */
  here = 0;
  /** Branches that hold two or more fields below this node: elements of arrays here get serials. */
  tags = 0;
  /** The last object of the event text read here (an object holding this key twice needs JSON.parse). */
  seen = 0;

  constructor(
    readonly parent: PathNode | undefined,
    readonly key: string,
    /** Index into the per-event marks (Scratch.present, PatternSet.arrayed). */
    readonly slot: number,
  ) {}

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
  readonly id: number;
  readonly key: string;
  readonly kind: Kind;
  readonly path: PathNode;
  readonly field: FieldIndex;
  readonly conds: Condition[];
  readonly depth: number;
  /** Branches using it; also its rank in the trie (most-shared first). */
  uses: number;
}

interface Entry<T> {
  readonly id: number;
  readonly key: string;
  readonly value: T;
  readonly pattern: unknown;
  readonly branches: BranchRec[];
  tree: CompiledPattern | undefined;
}

/** A path node holding two or more of a branch's fields: an array of objects there needs one element to hold them all. */
interface Group {
  readonly node: PathNode;
  /** The branch's leaves below the node. */
  readonly leaves: number[];
  /** All of them positive: the element check is exact (otherwise the compiled pattern decides). */
  readonly positive: boolean;
}

interface BranchRec {
  readonly id: number;
  readonly entry: number;
  /** Leaves that need a value, in trie order. */
  readonly pos: LeafRec[];
  /** Leaves that absence satisfies: checked once the positive ones are. */
  readonly neg: LeafRec[];
  readonly groups: Group[];
  node: number;
}

// What a branch needs beyond its positive leaves (0: nothing, the trie's answer is the answer).
/** Confirm with the compiled pattern. */
const CONFIRM = 1;
/** Leaves that absence satisfies. */
const NEGATIVE = 2;
/** Nodes holding two or more of its fields (array consistency). */
const GROUPS = 4;
/** Its pattern has other `$or` branches: match the pattern once per event. */
const MULTI = 8;
/** Its one leaf that absence satisfies is in its trie end (no other check needs the pool). */
const NEG1 = 16;
/** Per branch in `branchData`: pattern id, flags, a mask of its group nodes' slots, its checks in the pool. */
const STRIDE = 4;

/** A node's block in `FlatTrie.mem` starts with: edge count, end count, where its ends start (from the block), node id. */
const HEAD = 4;
/** Per edge: leaf id, where the child's block starts (not its id: one memory read less per step down). */
const EDGE = 2;
/**
 * Per end: branch id, pattern id, flags (with, for NEG1, the absent-ok leaf's path slot and id packed
 * above them), group mask: what `check` reads, side by side. Kept to four numbers so that the trie of
 * 10,000 patterns stays within a core's cache.
 */
const END = 4;
/** The flags in an end's third number; above them the NEG1 leaf's slot (11 bits), then its id (16 bits). */
const FLAG_BITS = 31;
const SLOT_SHIFT = 5;
const SLOT_MASK = 2047;
const LEAF_SHIFT = 16;
const LEAF_LIMIT = 65536;

/**
 * The trie of branches in one typed array: each node is one block holding its edges (leaf id,
 * child) and its ends (branch ids with what checking them needs), so visiting a node reads one or
 * two cache lines. After a bulk load the blocks are laid out depth first, a node's first child
 * right after it. A block that outgrows its room moves to the end; when half of the array is
 * holes, the set lays it out afresh between changes (never midway, when a node may be unlinked).
 */
class FlatTrie {
  private readonly ids = new Ids();
  mem = new Int32Array(1024);
  /** Per node id: where its block starts in `mem`. */
  at = new Int32Array(64);
  private edgeRoom = new Int32Array(64);
  private endRoom = new Int32Array(64);
  private parent = new Int32Array(64);
  private via = new Int32Array(64);
  /** For nodes with more than MAP_ABOVE edges: leaf id → child node. */
  readonly maps: (Map<number, number> | undefined)[] = [];
  private top = 0;
  private holes = 0;
  readonly root: number;

  constructor() {
    this.root = this.node(-1, -1);
  }

  get nodes(): number {
    return this.ids.live;
  }

  get bound(): number {
    return this.ids.bound;
  }

  private node(parent: number, via: number): number {
    const n = this.ids.take();
    if (n >= this.parent.length) {
      const size = this.parent.length * 2;
      this.at = grown(this.at, size);
      this.edgeRoom = grown(this.edgeRoom, size);
      this.endRoom = grown(this.endRoom, size);
      this.parent = grown(this.parent, size);
      this.via = grown(this.via, size);
    }
    this.parent[n] = parent;
    this.via[n] = via;
    this.maps[n] = undefined;
    this.place(n, 1, 0, -1);
    return n;
  }

  private size(n: number): number {
    return HEAD + this.edgeRoom[n]! * EDGE + this.endRoom[n]! * END;
  }

  /** Gives node `n` a block at the end with the given room, copying what it held (from `from`, -1: nothing). */
  private place(n: number, edgeRoom: number, endRoom: number, from: number): void {
    const need = HEAD + edgeRoom * EDGE + endRoom * END;
    if (this.top + need > this.mem.length) this.mem = grown(this.mem, this.top + need);
    const mem = this.mem;
    const to = this.top;
    mem.fill(0, to, to + need);
    mem[to + 2] = HEAD + edgeRoom * EDGE;
    mem[to + 3] = n;
    if (from >= 0) {
      const edges = mem[from]!;
      const ends = mem[from + 1]!;
      mem[to] = edges;
      mem[to + 1] = ends;
      mem.copyWithin(to + HEAD, from + HEAD, from + HEAD + edges * EDGE);
      const e = from + mem[from + 2]!;
      mem.copyWithin(to + mem[to + 2]!, e, e + ends * END);
      this.holes += this.size(n);
      if (n !== this.root) this.repoint(this.parent[n]!, this.via[n]!, to);
    }
    this.edgeRoom[n] = edgeRoom;
    this.endRoom[n] = endRoom;
    this.at[n] = to;
    this.top += need;
  }

  /** The edge of node `n` along `leaf` now leads to the block at `to`. */
  private repoint(n: number, leaf: number, to: number): void {
    const mem = this.mem;
    const b = this.at[n]!;
    const end = b + HEAD + mem[b]! * EDGE;
    for (let e = b + HEAD; e < end; e += EDGE) if (mem[e] === leaf) mem[e + 1] = to;
    this.maps[n]?.set(leaf, to);
  }

  /** Half of the array is holes left by moved and removed blocks: time to lay it out afresh. */
  get wasteful(): boolean {
    return this.holes > 1024 && this.holes > this.top / 2;
  }

  /** Lays every block out afresh, depth first from the root, each with just the room it uses. */
  layout(): void {
    const old = this.mem;
    const mem = new Int32Array(Math.max(1024, this.top - this.holes + 64));
    let top = 0;
    const stack = [this.root];
    while (stack.length > 0) {
      const n = stack.pop()!;
      const from = this.at[n]!;
      const edges = old[from]!;
      const ends = old[from + 1]!;
      // Blocks without children get no room for edges (most of them: a pattern's last leaf).
      const room = edges;
      mem[top] = edges;
      mem[top + 1] = ends;
      mem[top + 2] = HEAD + room * EDGE;
      mem[top + 3] = n;
      mem.set(old.subarray(from + HEAD, from + HEAD + edges * EDGE), top + HEAD);
      const e = from + old[from + 2]!;
      mem.set(old.subarray(e, e + ends * END), top + HEAD + room * EDGE);
      this.at[n] = top;
      this.edgeRoom[n] = room;
      this.endRoom[n] = ends;
      top += HEAD + room * EDGE + ends * END;
      // Pushed last first, so the first child is laid out right after its parent.
      for (let i = edges - 1; i >= 0; i--) stack.push(old[old[from + HEAD + i * EDGE + 1]! + 3]!);
    }
    // Edges still hold the old blocks' places: each old block names its node, which has its new place.
    for (let b = 0; b < top; b += HEAD + this.edgeRoom[mem[b + 3]!]! * EDGE + mem[b + 1]! * END) {
      const end = b + HEAD + mem[b]! * EDGE;
      for (let e = b + HEAD; e < end; e += EDGE) mem[e + 1] = this.at[old[mem[e + 1]! + 3]!]!;
    }
    this.mem = mem;
    this.top = top;
    this.holes = 0;
    for (let n = 0; n < this.maps.length; n++) if (this.maps[n] !== undefined) this.maps[n] = this.edgeMap(n);
  }

  /** The child of `n` along leaf `leaf`, made if missing. */
  child(n: number, leaf: number): number {
    const found = this.find(n, leaf);
    if (found >= 0) return this.mem[found + 3]!;
    const kid = this.node(n, leaf);
    if (this.mem[this.at[n]!] === this.edgeRoom[n]) this.place(n, Math.max(1, this.edgeRoom[n]! * 2), this.endRoom[n]!, this.at[n]!);
    const b = this.at[n]!;
    const e = b + HEAD + this.mem[b]!++ * EDGE;
    this.mem[e] = leaf;
    this.mem[e + 1] = this.at[kid]!;
    const map = this.maps[n];
    if (map) map.set(leaf, this.at[kid]!);
    else if (this.mem[b]! > MAP_ABOVE) this.maps[n] = this.edgeMap(n);
    return kid;
  }

  /** Where the child of `n` along `leaf` has its block; -1 when there is none. */
  private find(n: number, leaf: number): number {
    const map = this.maps[n];
    if (map) return map.get(leaf) ?? -1;
    const b = this.at[n]!;
    const end = b + HEAD + this.mem[b]! * EDGE;
    for (let e = b + HEAD; e < end; e += EDGE) if (this.mem[e] === leaf) return this.mem[e + 1]!;
    return -1;
  }

  private edgeMap(n: number): Map<number, number> {
    const map = new Map<number, number>();
    const b = this.at[n]!;
    const end = b + HEAD + this.mem[b]! * EDGE;
    for (let e = b + HEAD; e < end; e += EDGE) map.set(this.mem[e]!, this.mem[e + 1]!);
    return map;
  }

  /** Adds an end to node `n`: branch `branch` of pattern `entry`, with its flags word (see FLAG_BITS) and group mask. */
  addEnd(n: number, branch: number, entry: number, flags: number, mask: number): void {
    if (this.mem[this.at[n]! + 1] === this.endRoom[n]) this.place(n, this.edgeRoom[n]!, Math.max(1, this.endRoom[n]! * 2), this.at[n]!);
    const mem = this.mem;
    const b = this.at[n]!;
    const at = b + mem[b + 2]! + mem[b + 1]!++ * END;
    mem[at] = branch;
    mem[at + 1] = entry;
    mem[at + 2] = flags;
    mem[at + 3] = mask;
  }

  /** Takes `branch` off node `n`, then prunes nodes that lead nowhere any more. */
  removeEnd(n: number, branch: number): void {
    const mem = this.mem;
    let b = this.at[n]!;
    const first = b + mem[b + 2]!;
    const last = first + (mem[b + 1]! - 1) * END;
    for (let i = first; i <= last; i += END) {
      if (mem[i] !== branch) continue;
      mem.copyWithin(i, last, last + END);
      mem[b + 1]!--;
      break;
    }
    while (n !== this.root && mem[b + 1] === 0 && mem[b] === 0) {
      const p = this.parent[n]!;
      this.unlink(p, this.via[n]!);
      this.holes += this.size(n);
      this.edgeRoom[n] = this.endRoom[n] = 0;
      this.maps[n] = undefined;
      this.ids.give(n);
      n = p;
      b = this.at[n]!;
    }
  }

  private unlink(n: number, leaf: number): void {
    const mem = this.mem;
    const b = this.at[n]!;
    const first = b + HEAD;
    const last = first + (mem[b]! - 1) * EDGE;
    for (let e = first; e <= last; e += EDGE) {
      if (mem[e] !== leaf) continue;
      mem[e] = mem[last]!;
      mem[e + 1] = mem[last + 1]!;
      mem[b]!--;
      break;
    }
    const map = this.maps[n];
    if (map) {
      map.delete(leaf);
      if (mem[b]! <= MAP_ABOVE) this.maps[n] = undefined;
    }
  }
}

export interface PatternSetStats {
  readonly patterns: number;
  readonly branches: number;
  /** Distinct leaves (a field's alternatives) over all patterns. */
  readonly leaves: number;
  /** Distinct (path, condition) pairs. */
  readonly conditions: number;
  /** Conditions as written, summed over every branch (`exists: false` counts as one). */
  readonly conditionUses: number;
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
  private readonly byKey = new Map<string, Entry<T>>();
  private readonly entries: (Entry<T> | undefined)[] = [];
  private readonly branches: (BranchRec | undefined)[] = [];
  private readonly leafByKey = new Map<string, LeafRec>();
  private readonly leafIds = new Ids();
  private readonly entryIds = new Ids();
  private readonly branchIds = new Ids();
  private readonly pathIds = new Ids();
  private readonly root: PathNode;
  private readonly trie = new FlatTrie();
  private readonly st = new Scratch();
  private entryStamp = new Int32Array(64);
  /** Per branch, STRIDE numbers together (one cache line): pattern id, flags, group mask, checks offset. */
  private branchData = new Int32Array(64 * STRIDE);
  /** Per event: bit (slot mod 32) set for every path slot that held an array of two or more objects. */
  private eventMask = 0;
  /**
   * Every branch's checks beyond its positive leaves, as numbers back to back in one array (removal
   * leaves holes, compacted when half is holes), each at its branch's offset: [groups, (path slot,
   * all positive ? 1 : 0, leaves, leaf id...)..., negative leaves, (leaf id, path slot)...].
   */
  private pool = new Int32Array(256);
  private poolTop = 0;
  private poolHoles = 0;
  private checkLen = new Int32Array(64);
  /** Per path slot: the last event that held an array of two or more objects there. */
  private arrayed = new Int32Array(16);
  private out = new Int32Array(64);
  // Reused stacks for the walks (no allocation per event).
  private readonly values: unknown[] = [];
  private readonly paths: PathNode[] = [];
  private readonly serials: number[] = [];
  private stack = new Int32Array(64);
  /** Per event, for each array element serial: the path slot of its array, and the enclosing element. */
  private serialNode = new Int32Array(64);
  private serialParent = new Int32Array(64);
  private nSerials = 0;
  private doc: unknown;
  /** The event text being matched by `matchText`, parsed only if a compiled pattern must confirm. */
  private text: string | undefined;
  // Reused per-event stacks for reading event text: one frame per open object or array.
  private readonly frameKind: number[] = [];
  private readonly frameNode: (PathNode | undefined)[] = [];
  private readonly frameSerial: number[] = [];
  /** Per array frame: elements that are objects or arrays; per object frame: its number (`PathNode.seen`). */
  private readonly frameCount: number[] = [];
  private objects = 0;
  private nOut = 0;

  /** Branches the last match examined once all their leaves were satisfied (a measure of its work). */
  lastChecked = 0;

  constructor() {
    this.root = new PathNode(undefined, '', this.pathIds.take());
  }

  get size(): number {
    return this.byKey.size;
  }

  has(key: string): boolean {
    return this.byKey.has(key);
  }

  /** The dense id of the pattern under `key` (ids are reused after removal). */
  idOf(key: string): number | undefined {
    return this.byKey.get(key)?.id;
  }

  /** The value stored with the pattern of id `id`. */
  valueOf(id: number): T {
    return this.entries[id]!.value;
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
    const parsed = new Map<string, { key: string; pattern: unknown; value: T; branches: FieldSpec[][] }>();
    for (const [key, pattern, value] of items) {
      parsed.delete(key);
      parsed.set(key, { key, pattern, value, branches: parsePattern(pattern).branches.map(fieldsOf) });
    }
    for (const key of parsed.keys()) if (this.byKey.has(key)) this.delete(key);
    const built: BranchRec[] = [];
    for (const p of parsed.values()) {
      const entry: Entry<T> = { id: this.entryIds.take(), key: p.key, value: p.value, pattern: p.pattern, branches: [], tree: undefined };
      this.entries[entry.id] = entry;
      this.entryStamp = grown(this.entryStamp, this.entryIds.bound);
      this.out = grown(this.out, this.entryIds.bound);
      this.entryStamp[entry.id] = 0;
      for (const fields of p.branches) {
        const b = this.branch(entry.id, fields);
        entry.branches.push(b);
        built.push(b);
      }
      if (entry.branches.length > 1) for (const b of entry.branches) this.branchData[b.id * STRIDE + 1]! |= MULTI;
      this.byKey.set(p.key, entry);
    }
    this.st.ensure(this.leafIds.bound);
    this.st.ensureFields(this.pathIds.bound);
    this.arrayed = grown(this.arrayed, this.pathIds.bound);
    for (const b of built) this.insert(b);
    // A bulk load is laid out depth first; a few changes go where there is room.
    if (built.length > 64 || this.trie.wasteful) this.trie.layout();
    this.stack = grown(this.stack, this.trie.bound + 1);
  }

  /** Removes the pattern under `key`; false when there is none. */
  delete(key: string): boolean {
    const entry = this.byKey.get(key);
    if (!entry) return false;
    this.byKey.delete(key);
    this.entries[entry.id] = undefined;
    this.entryIds.give(entry.id);
    for (const b of entry.branches) {
      this.trie.removeEnd(b.node, b.id);
      for (const l of b.pos) this.releaseLeaf(l);
      for (const l of b.neg) this.releaseLeaf(l);
      for (const g of b.groups) g.node.tags--;
      this.branches[b.id] = undefined;
      this.poolHoles += this.checkLen[b.id]!;
      this.checkLen[b.id] = 0;
      this.branchIds.give(b.id);
    }
    if (this.trie.wasteful) this.trie.layout();
    return true;
  }

  /** The values of the patterns that match the event given as JSON text (parsing included). */
  matching(text: string): T[] {
    const n = this.matchText(text);
    const out = new Array<T>(n);
    const ids = this.out;
    for (let i = 0; i < n; i++) out[i] = this.entries[ids[i]!]!.value;
    return out;
  }

  /**
   * matchIds for the event as JSON text: the text is read once, validated as JSON.parse would, and
   * only values on paths some pattern reads are built (the rest is skipped, not materialised).
   * Text that is not an object at the top, or holds a key twice in an object a pattern reads, is
   * matched through JSON.parse; text JSON.parse refuses throws InvalidEventTextError.
   */
  matchText(text: string): number {
    this.nOut = 0;
    this.lastChecked = 0;
    const st = this.st;
    if (st.stamp >= LAST_STAMP) this.clearStamps();
    st.stamp++;
    st.nSat = 0;
    this.text = text;
    const read = this.scan(text);
    st.serial = 0;
    if (!read) {
      this.text = undefined;
      return this.matchIds(parseEvent(text));
    }
    this.collect();
    this.text = undefined;
    this.doc = undefined;
    return this.nOut;
  }

  /** The values of the patterns that match an already parsed event, each once. */
  matchingDoc(doc: unknown): T[] {
    const n = this.matchIds(doc);
    const out = new Array<T>(n);
    const ids = this.out;
    for (let i = 0; i < n; i++) out[i] = this.entries[ids[i]!]!.value;
    return out;
  }

  /**
   * Matches a parsed event and returns how many patterns match; their ids are `matchedIds()[0..n)`
   * (valid until the next match). The allocation-free form of matchingDoc.
   */
  matchIds(doc: unknown): number {
    this.nOut = 0;
    this.lastChecked = 0;
    if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 0;
    const st = this.st;
    if (st.stamp >= LAST_STAMP) this.clearStamps();
    st.stamp++;
    st.nSat = 0;
    this.doc = doc;
    this.walk(doc as Record<string, unknown>);
    this.collect();
    this.doc = undefined;
    return this.nOut;
  }

  matchedIds(): Int32Array {
    return this.out;
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
    let conditionUses = 0;
    let branches = 0;
    for (const e of this.byKey.values()) {
      for (const b of e.branches) {
        branches++;
        for (const l of [...b.pos, ...b.neg]) conditionUses += l.conds.length + (l.kind === POSITIVE ? 0 : 1);
      }
    }
    return { patterns: this.byKey.size, branches, leaves: this.leafByKey.size, conditions, conditionUses, paths: paths - 1, trieNodes: this.trie.nodes };
  }

  // ---- building ------------------------------------------------------------------------------

  private branch(entry: number, fields: FieldSpec[]): BranchRec {
    const pos: LeafRec[] = [];
    const neg: LeafRec[] = [];
    let confirm = false;
    const below = new Map<PathNode, LeafRec[]>();
    for (const f of fields) {
      const leaf = this.leaf(f);
      leaf.uses++;
      if (leaf.kind === POSITIVE) pos.push(leaf);
      else neg.push(leaf);
      if (leaf.kind === MIXED && leaf.depth > 1) confirm = true;
      for (let n = leaf.path.parent; n && n !== this.root; n = n.parent) {
        const list = below.get(n);
        if (list) list.push(leaf);
        else below.set(n, [leaf]);
      }
    }
    const groups: Group[] = [];
    for (const [node, leaves] of below) {
      if (leaves.length < 2) continue;
      node.tags++;
      groups.push({ node, leaves: leaves.map(idOf), positive: leaves.every(isPositive) });
    }
    const b: BranchRec = { id: this.branchIds.take(), entry, pos, neg, groups, node: -1 };
    this.branches[b.id] = b;
    this.branchData = grown(this.branchData, this.branchIds.bound * STRIDE);
    this.checkLen = grown(this.checkLen, this.branchIds.bound);
    const o = b.id * STRIDE;
    this.branchData[o] = entry;
    this.branchData[o + 1] = (confirm ? CONFIRM : 0) | (neg.length > 0 ? NEGATIVE : 0) | (groups.length > 0 ? GROUPS : 0);
    let mask = 0;
    for (const g of groups) mask |= 1 << (g.node.slot & 31);
    this.branchData[o + 2] = mask;
    this.checkLen[b.id] = 0;
    if (groups.length > 0 || neg.length > 0) {
      const checks: number[] = [groups.length];
      for (const g of groups) checks.push(g.node.slot, g.positive ? 1 : 0, g.leaves.length, ...g.leaves);
      checks.push(neg.length);
      for (const l of neg) checks.push(l.id, l.field.slot);
      this.storeChecks(b.id, checks);
    }
    return b;
  }

  private storeChecks(bid: number, checks: readonly number[]): void {
    if (this.poolTop + checks.length > this.pool.length) {
      if (this.poolHoles > this.poolTop / 2) this.compactPool();
      this.pool = grown(this.pool, this.poolTop + checks.length);
    }
    this.pool.set(checks, this.poolTop);
    this.branchData[bid * STRIDE + 3] = this.poolTop;
    this.checkLen[bid] = checks.length;
    this.poolTop += checks.length;
  }

  private compactPool(): void {
    const pool = new Int32Array(this.pool.length);
    let top = 0;
    for (let bid = 0; bid < this.branchIds.bound; bid++) {
      const len = this.checkLen[bid]!;
      if (len === 0) continue;
      const at = this.branchData[bid * STRIDE + 3]!;
      pool.set(this.pool.subarray(at, at + len), top);
      this.branchData[bid * STRIDE + 3] = top;
      top += len;
    }
    this.pool = pool;
    this.poolTop = top;
    this.poolHoles = 0;
  }

  private insert(b: BranchRec): void {
    // Most-shared leaves first: branches share trie prefixes, and the walk prunes early.
    b.pos.sort(bySharing);
    let node = this.trie.root;
    for (const l of b.pos) node = this.trie.child(node, l.id);
    const o = b.id * STRIDE;
    let flags = this.branchData[o + 1]!;
    // One leaf that absence satisfies, and nothing to confirm: checked from the end itself.
    const one = b.neg.length === 1 && (flags & CONFIRM) === 0 ? b.neg[0]! : undefined;
    if (one && one.id < LEAF_LIMIT && one.field.slot <= SLOT_MASK) flags = (flags & ~NEGATIVE) | NEG1 | (one.field.slot << SLOT_SHIFT) | (one.id << LEAF_SHIFT);
    this.trie.addEnd(node, b.id, this.branchData[o]!, flags, this.branchData[o + 2]!);
    b.node = node;
  }

  private leaf(f: FieldSpec): LeafRec {
    const conds = f.leaf.conds;
    let absentOk = false;
    let existsOk = false;
    for (const c of conds) {
      if (c.t === 'exists') {
        if (c.v) existsOk = true;
        else absentOk = true;
      }
    }
    // `exists: true` among the alternatives accepts every value, whatever the others say.
    const positive: CondSpec[] = existsOk ? [{ t: 'exists', v: true }] : conds.filter(notExists);
    const kind: Kind = !absentOk ? POSITIVE : positive.length === 0 ? ABSENT : MIXED;
    const path = this.path(f.segs);
    const field = (path.field ??= new FieldIndex(path.slot));
    // Alternatives that file as one condition ("a" twice, "a" and wildcard "a") hold one reference.
    const unique: Condition[] = [];
    for (const spec of positive) {
      const c = field.acquire(spec);
      if (unique.includes(c)) field.release(c);
      else unique.push(c);
    }
    const condKeys = unique.length === 1 ? unique[0]!.key : JSON.stringify(unique.map(keyOf).sort());
    const key = `${path.slot}\u0001${kind}\u0001${condKeys}`;
    const existing = this.leafByKey.get(key);
    if (existing) {
      for (const c of unique) field.release(c);
      return existing;
    }
    const leaf: LeafRec = { id: this.leafIds.take(), key, kind, path, field, conds: unique, depth: f.segs.length, uses: 0 };
    for (const c of unique) {
      c.leaves.push(leaf.id);
      leavesChanged(c);
    }
    for (let n: PathNode | undefined = path; n; n = n.parent) n.refs++;
    path.here++;
    this.leafByKey.set(key, leaf);
    return leaf;
  }

  private releaseLeaf(leaf: LeafRec): void {
    if (--leaf.uses > 0) return;
    this.leafByKey.delete(leaf.key);
    this.leafIds.give(leaf.id);
    this.st.leafStamp[leaf.id] = 0;
    for (const c of leaf.conds) {
      c.leaves.splice(c.leaves.indexOf(leaf.id), 1);
      leavesChanged(c);
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
      this.pathIds.give(n.slot);
      this.st.present[n.slot] = 0;
      this.arrayed[n.slot] = 0;
    }
  }

  private path(segs: readonly string[]): PathNode {
    let n = this.root;
    for (const s of segs) {
      let kid = n.child(s);
      if (!kid) {
        kid = new PathNode(n, s, this.pathIds.take());
        n.keys.push(s);
        n.kids.push(kid);
        n.own.push(PROTO_KEYS.has(s));
      }
      n = kid;
    }
    return n;
  }

  /** Before the int32 stamps wrap (after 2^31 events): clear every mark and start again. */
  private clearStamps(): void {
    this.st.stamp = 0;
    this.st.leafStamp.fill(0);
    this.st.hitStamp.fill(0);
    this.st.present.fill(0);
    this.entryStamp.fill(0);
    this.arrayed.fill(0);
  }

  // ---- matching ------------------------------------------------------------------------------

  /** Every value along the paths patterns read, with an explicit stack (no depth limit). */
  private walk(doc: Record<string, unknown>): void {
    const st = this.st;
    const stamp = st.stamp;
    const values = this.values;
    const paths = this.paths;
    const serials = this.serials;
    st.nHits = 0;
    this.nSerials = 0;
    this.eventMask = 0;
    let top = pushKids(doc, this.root, values, paths, serials, 0, 0);
    while (top > 0) {
      top--;
      const v = values[top];
      const n = paths[top]!;
      const serial = serials[top]!;
      values[top] = undefined;
      switch (typeof v) {
        case 'string':
          if (n.field) {
            st.serial = serial;
            n.field.string(v, st);
          }
          break;
        case 'number':
          if (n.field) {
            st.serial = serial;
            n.field.number(v, st);
          }
          break;
        case 'boolean':
          if (n.field) {
            st.serial = serial;
            n.field.other(v, st);
          }
          break;
        case 'object':
          if (v === null) {
            if (n.field) {
              st.serial = serial;
              n.field.other(null, st);
            }
          } else if (Array.isArray(v)) {
            let objects = 0;
            const tag = n.tags > 0;
            for (let i = v.length - 1; i >= 0; i--) {
              const x: unknown = v[i];
              let s = serial;
              if (typeof x === 'object' && x !== null) {
                objects++;
                if (tag && !Array.isArray(x)) s = this.element(n, serial);
              }
              values[top] = x;
              paths[top] = n;
              serials[top++] = s;
            }
            // One object in an array is as good as the object alone; two call for consistency.
            if (objects > 1 && n.kids.length > 0) {
              this.arrayed[n.slot] = stamp;
              this.eventMask |= 1 << (n.slot & 31);
            }
          } else if (n.kids.length > 0) {
            top = pushKids(v as Record<string, unknown>, n, values, paths, serials, serial, top);
          }
          break;
        default:
          break;
      }
    }
    st.serial = 0;
  }

  /**
   * Reads the event text along the path trie, firing what `walk` fires for the parsed document.
   * Subtrees no pattern reads are checked as JSON and skipped. False: JSON.parse must decide (text
   * invalid as far as read, not an object at the top, or a read key twice in one object).
   */
  private scan(text: string): boolean {
    const st = this.st;
    const stamp = st.stamp;
    const nodes = this.frameNode;
    const serials = this.frameSerial;
    const counts = this.frameCount;
    st.nHits = 0;
    this.nSerials = 0;
    this.eventMask = 0;
    let i = skipSpace(text, 0);
    if (text.charCodeAt(i) !== OPEN_OBJECT) return false;
    startText(text);
    let d = 0;
    nodes[0] = this.root;
    serials[0] = 0;
    counts[0] = ++this.objects;
    const kinds = this.frameKind;
    kinds[0] = OBJECT;
    let first = true;
    i++;
    for (;;) {
      i = skipSpace(text, i);
      let c = text.charCodeAt(i);
      const kind = kinds[d]!;
      const close = kind === OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY;
      if (c === close) {
        const n = nodes[d];
        // One object in an array is as good as the object alone; two call for consistency.
        if (kind === ARRAY && n !== undefined && counts[d]! > 1 && n.kids.length > 0) {
          this.arrayed[n.slot] = stamp;
          this.eventMask |= 1 << (n.slot & 31);
        }
        i++;
        if (d-- === 0) return skipSpace(text, i) === text.length;
        first = false;
        continue;
      }
      if (!first) {
        if (c !== COMMA) return false;
        i = skipSpace(text, i + 1);
        c = text.charCodeAt(i);
      }
      first = false;
      let node: PathNode | undefined;
      let serial = serials[d]!;
      if (kind === OBJECT) {
        if (c !== QUOTE) return false;
        const end = stringEnd(text, i + 1);
        if (end < 0) return false;
        const parent = nodes[d];
        if (parent !== undefined) {
          // A key without escapes is compared where it stands in the text: no string is made for it.
          const at = escaped ? parent.keys.indexOf(JSON.parse(text.slice(i, end + 1)) as string) : keyAt(parent.keys, text, i + 1, end);
          if (at >= 0) {
            node = parent.kids[at]!;
            if (node.seen === counts[d]) return false;
            node.seen = counts[d]!;
          }
        }
        i = skipSpace(text, end + 1);
        if (text.charCodeAt(i) !== COLON) return false;
        i = skipSpace(text, i + 1);
        c = text.charCodeAt(i);
      } else node = nodes[d];
      const field = node?.field;
      if (c === QUOTE) {
        const end = stringEnd(text, i + 1);
        if (end < 0) return false;
        if (field !== undefined) {
          st.serial = serial;
          field.string(escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end), st);
        }
        i = end + 1;
      } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
        if (kind === ARRAY) {
          counts[d]!++;
          if (c === OPEN_OBJECT && node !== undefined && node.tags > 0) serial = this.element(node, serial);
        }
        d++;
        if (c === OPEN_OBJECT) {
          kinds[d] = OBJECT;
          nodes[d] = node !== undefined && node.kids.length > 0 ? node : undefined;
          counts[d] = ++this.objects;
        } else {
          kinds[d] = ARRAY;
          nodes[d] = node;
          counts[d] = 0;
        }
        serials[d] = serial;
        first = true;
        i++;
      } else if (c === LOWER_T || c === LOWER_F || c === LOWER_N) {
        const v = c === LOWER_N ? null : c === LOWER_T;
        const word = v === null ? 'null' : v ? 'true' : 'false';
        if (!text.startsWith(word, i)) return false;
        if (field !== undefined) {
          st.serial = serial;
          field.other(v, st);
        }
        i += word.length;
      } else {
        const end = numberEnd(text, i);
        if (end < 0) return false;
        if (field !== undefined) {
          st.serial = serial;
          field.number(Number(text.slice(i, end)), st);
        }
        i = end;
      }
    }
  }

  /** A serial for an object element of an array at `node`, inside the element `parent` (0: none). */
  private element(node: PathNode, parent: number): number {
    const s = ++this.nSerials;
    if (s >= this.serialNode.length) {
      this.serialNode = grown(this.serialNode, s + 1);
      this.serialParent = grown(this.serialParent, s + 1);
    }
    this.serialNode[s] = node.slot;
    this.serialParent[s] = parent;
    return s;
  }

  /** The element of an array at path slot `slot` that holds the element `s` (or is it); 0 when none does. */
  private elementAt(s: number, slot: number): number {
    while (s !== 0 && this.serialNode[s] !== slot) s = this.serialParent[s]!;
    return s;
  }

  /** Whether one element of the array at the group (at `at` in the pool) satisfies all its leaves. */
  private consistent(at: number): boolean {
    const st = this.st;
    const pool = this.pool;
    const slot = pool[at]!;
    const n = pool[at + 2]!;
    const first = at + 3;
    for (let h = st.firstHit(pool[first]!); h >= 0; h = st.hitNext[h]!) {
      const s = this.elementAt(st.hitSerial[h]!, slot);
      if (s === 0) continue;
      let all = true;
      for (let k = 1; k < n && all; k++) {
        all = false;
        for (let h2 = st.firstHit(pool[first + k]!); h2 >= 0 && !all; h2 = st.hitNext[h2]!) all = this.elementAt(st.hitSerial[h2]!, slot) === s;
      }
      if (all) return true;
    }
    return false;
  }

  /** Down the trie along satisfied leaves; branches reached are checked, matching ids collected. */
  private collect(): void {
    const st = this.st;
    const stamp = st.stamp;
    const stamps = st.leafStamp;
    const sat = st.sat;
    const nSat = st.nSat;
    const trie = this.trie;
    const mem = trie.mem;
    const stack = this.stack;
    let top = 0;
    // The stack holds where blocks start.
    stack[top++] = trie.at[trie.root]!;
    while (top > 0) {
      const b = stack[--top]!;
      const ends = mem[b + 1]!;
      if (ends !== 0) this.check(mem, b + mem[b + 2]!, ends);
      const count = mem[b]!;
      if (count === 0) continue;
      const map = count > MAP_ABOVE && nSat < count ? trie.maps[mem[b + 3]!] : undefined;
      if (map !== undefined) {
        for (let j = 0; j < nSat; j++) {
          const kid = map.get(sat[j]!);
          if (kid !== undefined) stack[top++] = kid;
        }
      } else {
        const end = b + HEAD + count * EDGE;
        for (let e = b + HEAD; e < end; e += EDGE) if (stamps[mem[e]!] === stamp) stack[top++] = mem[e + 1]!;
      }
    }
  }

  /** The `count` ends from `first` in the trie's array: each a branch whose positive leaves all hold. */
  private check(ends: Int32Array, first: number, count: number): void {
    const st = this.st;
    const stamp = st.stamp;
    const entryStamp = this.entryStamp;
    const eventMask = this.eventMask;
    const out = this.out;
    this.lastChecked += count;
    const end = first + count * END;
    for (let o = first; o < end; o += END) {
      const eid = ends[o + 1]!;
      const word = ends[o + 2]!;
      const flags = word & FLAG_BITS;
      if (flags !== 0) {
        if ((flags & MULTI) !== 0 && entryStamp[eid] === stamp) continue;
        // Groups whose nodes held no array of objects in this event need nothing more.
        if ((flags & (CONFIRM | NEGATIVE)) !== 0 || (ends[o + 3]! & eventMask) !== 0) {
          if (!this.passes(ends[o]!, eid, flags)) continue;
        } else if ((flags & NEG1) !== 0 && st.present[(word >>> SLOT_SHIFT) & SLOT_MASK] === stamp && st.leafStamp[word >>> LEAF_SHIFT] !== stamp) continue;
        entryStamp[eid] = stamp;
      }
      out[this.nOut++] = eid;
    }
  }

  /** The rarer checks of a branch whose positive leaves all hold: array consistency, then absence. */
  private passes(bid: number, eid: number, flags: number): boolean {
    const stamp = this.st.stamp;
    let confirm = (flags & CONFIRM) !== 0;
    let group = -1;
    const pool = this.pool;
    const arrayed = this.arrayed;
    let k = this.branchData[bid * STRIDE + 3]!;
    const groups = pool[k++]!;
    for (let g = 0; g < groups; g++) {
      if (arrayed[pool[k]!] === stamp) {
        // One arrayed group of positive leaves is checked here; anything more intricate is not.
        if (group >= 0 || pool[k + 1] === 0) confirm = true;
        group = k;
      }
      k += 3 + pool[k + 2]!;
    }
    if (confirm) {
      // The compiled pattern decides for the whole entry (all its branches).
      this.entryStamp[eid] = stamp;
      const e = this.entries[eid]!;
      this.doc ??= parseEvent(this.text!);
      return (e.tree ??= compilePattern(e.pattern))(this.doc);
    }
    if (group >= 0 && !this.consistent(group)) return false;
    const stamps = this.st.leafStamp;
    const present = this.st.present;
    const negs = pool[k++]!;
    for (let j = 0; j < negs; j++, k += 2) if (present[pool[k + 1]!] === stamp && stamps[pool[k]!] !== stamp) return false;
    return true;
  }
}

/** JSON text to a document; the error never quotes the text. */
export function parseEvent(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidEventTextError();
  }
}

const fieldsOf = (b: Map<string, FieldSpec>): FieldSpec[] => [...b.values()];
const bySharing = (x: LeafRec, y: LeafRec): number => y.uses - x.uses || x.id - y.id;
const notExists = (c: CondSpec): boolean => c.t !== 'exists';
const keyOf = (c: Condition): string => c.key;
const idOf = (l: LeafRec): number => l.id;
const isPositive = (l: LeafRec): boolean => l.kind === POSITIVE;

function pushKids(o: Record<string, unknown>, n: PathNode, values: unknown[], paths: PathNode[], serials: number[], serial: number, top: number): number {
  const keys = n.keys;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = n.own[i] ? (Object.hasOwn(o, k) ? o[k] : undefined) : o[k];
    if (v !== undefined) {
      values[top] = v;
      paths[top] = n.kids[i]!;
      serials[top++] = serial;
    }
  }
  return top;
}

// ---- reading event text ----------------------------------------------------------------------

/** The index in `keys` of the key that is `text[from..to)`; -1 when none is. */
function keyAt(keys: readonly string[], text: string, from: number, to: number): number {
  const len = to - from;
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k]!;
    if (key.length === len && text.startsWith(key, from)) return k;
  }
  return -1;
}

const OBJECT = 0;
const ARRAY = 1;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const LOWER_T = 0x74;
const LOWER_F = 0x66;
const LOWER_N = 0x6e;

/** JSON's whitespace (space, tab, line feed, carriage return) from `i`. */
function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

/** Set by stringEnd: the string held an escape, so JSON.parse decodes it. */
let escaped = false;
/** Raw control characters, which JSON strings may not hold. */
const CONTROL = /[\u0000-\u001f]/;
/** The text being read holds no raw control character: a string ends at the next quote unless a backslash comes first. */
let clean = false;
/** The first backslash at or after the last place looked from (the text's length when none). */
let nextBackslash = -1;

/** Prepares stringEnd for a new text. */
function startText(text: string): void {
  clean = !CONTROL.test(text);
  nextBackslash = -1;
}

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

/** The closing quote of the JSON string whose text starts at `i`; -1 when it is not valid JSON. */
function stringEnd(text: string, i: number): number {
  // Most strings hold no escape: the native searches skip them whole.
  if (clean) {
    const q = text.indexOf('"', i);
    if (q < 0) return -1;
    if (nextBackslash < i) {
      nextBackslash = text.indexOf('\\', i);
      if (nextBackslash < 0) nextBackslash = text.length;
    }
    if (nextBackslash > q) {
      escaped = false;
      return q;
    }
  }
  return escapedStringEnd(text, i);
}

/** stringEnd, one character at a time: escapes checked, control characters refused. */
function escapedStringEnd(text: string, i: number): number {
  let esc = false;
  for (;;) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      escaped = esc;
      return i;
    }
    if (c === BACKSLASH) {
      esc = true;
      const e = text.charCodeAt(i + 1);
      if (e === 0x75) {
        if (!(isHex(text.charCodeAt(i + 2)) && isHex(text.charCodeAt(i + 3)) && isHex(text.charCodeAt(i + 4)) && isHex(text.charCodeAt(i + 5)))) return -1;
        i += 6;
        continue;
      }
      // " \ / b f n r t
      if (e === QUOTE || e === BACKSLASH || e === 0x2f || e === 0x62 || e === 0x66 || e === 0x6e || e === 0x72 || e === 0x74) {
        i += 2;
        continue;
      }
      return -1;
    }
    // Control characters are not allowed raw; NaN is the end of the text.
    if (!(c >= 0x20)) return -1;
    i++;
  }
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** The end of the JSON number starting at `i`; -1 when there is none. */
function numberEnd(text: string, i: number): number {
  if (text.charCodeAt(i) === 0x2d) i++;
  const lead = text.charCodeAt(i);
  if (lead === 0x30) i++;
  else if (lead >= 0x31 && lead <= 0x39) while (isDigit(text.charCodeAt(++i)));
  else return -1;
  if (text.charCodeAt(i) === 0x2e) {
    if (!isDigit(text.charCodeAt(++i))) return -1;
    while (isDigit(text.charCodeAt(++i)));
  }
  const e = text.charCodeAt(i);
  if (e === 0x65 || e === 0x45) {
    const sign = text.charCodeAt(++i);
    if (sign === 0x2b || sign === 0x2d) i++;
    if (!isDigit(text.charCodeAt(i))) return -1;
    while (isDigit(text.charCodeAt(++i)));
  }
  return i;
}
