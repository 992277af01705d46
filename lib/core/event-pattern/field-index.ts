// Every distinct condition that the patterns of a set put on one field path, filed so that a value
// of the event finds the conditions it satisfies without testing them one by one: exact values in
// maps, numeric bounds sorted, prefixes and suffixes in character tries (case-sensitive and
// case-insensitive), IPv4 ranges by mask length with the address parsed once, and anything-but as
// the complement of what the value excludes. The rare rest (wildcards with inner `*`, IPv6 ranges,
// case folding that changes length) is tested per value with the single-pattern leaf predicates.
import type { Cond as CondSpec } from './parse.ts';
import { ipScratch2, parseIp } from './ip.ts';
import { compileLeaf, testLeaf, type Leaf } from './leaf.ts';
import { caseUnits, wildcardSegments } from './predicates.ts';

/**
 * Per-event scratch shared by every field of a set: which leaves (by id) the event satisfies, in
 * flat typed arrays so that testing a leaf costs one read of a small contiguous array.
 */
export class Scratch {
  /** The event being matched; leaf `i` is satisfied when `leafStamp[i] === stamp`. */
  stamp = 0;
  /** Per value, for anything-but: a condition with `tick === this.tick` is excluded by the value. */
  tick = 0;
  leafStamp = new Int32Array(64);
  /** The leaves satisfied so far for this event, in `sat[0..nSat)`. */
  sat = new Int32Array(64);
  nSat = 0;
  /**
   * The array element the current value sits in (0: none), for array consistency: every leaf a value
   * inside an element satisfies is recorded with the element's serial ("hits", per leaf a list).
   */
  serial = 0;
  hitStamp = new Int32Array(64);
  hitHead = new Int32Array(64);
  hitSerial = new Int32Array(256);
  hitNext = new Int32Array(256);
  nHits = 0;
  /** Per field (by slot): the last event in which a scalar was found there (for exists and absence). */
  present = new Int32Array(16);

  /** Room for leaf ids below `n`. */
  ensure(n: number): void {
    if (n <= this.leafStamp.length) return;
    let size = this.leafStamp.length;
    while (size < n) size *= 2;
    const stamps = new Int32Array(size);
    stamps.set(this.leafStamp);
    this.leafStamp = stamps;
    this.sat = new Int32Array(size);
    const hits = new Int32Array(size);
    hits.set(this.hitStamp);
    this.hitStamp = hits;
    this.hitHead = new Int32Array(size);
  }

  hit(leaf: number, serial: number): void {
    if (this.hitStamp[leaf] !== this.stamp) {
      this.hitStamp[leaf] = this.stamp;
      this.hitHead[leaf] = -1;
    }
    if (this.nHits === this.hitSerial.length) {
      const serials = new Int32Array(this.nHits * 2);
      serials.set(this.hitSerial);
      this.hitSerial = serials;
      const next = new Int32Array(this.nHits * 2);
      next.set(this.hitNext);
      this.hitNext = next;
    }
    const h = this.nHits++;
    this.hitSerial[h] = serial;
    this.hitNext[h] = this.hitHead[leaf]!;
    this.hitHead[leaf] = h;
  }

  /** Room for field slots below `n`. */
  ensureFields(n: number): void {
    if (n <= this.present.length) return;
    let size = this.present.length;
    while (size < n) size *= 2;
    const present = new Int32Array(size);
    present.set(this.present);
    this.present = present;
  }

  /** The first hit of `leaf` in this event (-1: none); the next one is `hitNext[h]`. */
  firstHit(leaf: number): number {
    return this.hitStamp[leaf] === this.stamp ? this.hitHead[leaf]! : -1;
  }
}

/** One distinct condition on one field, shared by every leaf that lists it. */
export interface Condition {
  readonly key: string;
  /** Where the condition is filed (what it tests), also used to unfile it. */
  readonly plan: Plan;
  /** Ids of the leaves that hold this condition among their alternatives. */
  readonly leaves: number[];
  /** The one leaf when `leaves` has exactly one (most conditions), else -1: firing it reads no array. */
  leaf: number;
  refs: number;
  tick: number;
}

/** What a condition tests, in the form it is filed under; two conditions with one plan are one. */
type Plan =
  | { at: 'exact'; v: string }
  | { at: 'num'; v: number }
  | { at: 'true' | 'false' | 'null' | 'exists' | 'never' }
  | { at: 'lower' | 'upper'; b: number; open: boolean }
  | { at: 'range'; lo: number; loOpen: boolean; hi: number; hiOpen: boolean }
  | { at: 'prefix' | 'suffix'; v: string }
  | { at: 'ab-string' | 'ab-prefix' | 'ab-suffix'; v: string[] }
  | { at: 'ab-number'; v: number[] }
  | { at: 'eic' | 'prefix-eic' | 'suffix-eic'; u: Units }
  | { at: 'ab-eic'; v: Units[] }
  | { at: 'ip4'; bits: number; key: number }
  | { at: 'slow'; leaf: Leaf; key: string };

interface Units {
  readonly lo: Uint16Array;
  readonly up: Uint16Array;
}

const sigOf = (u: Units): string => {
  let out = '';
  for (let i = 0; i < u.lo.length; i++) out += String.fromCharCode(u.lo[i]!, u.up[i]!);
  return out;
};

function planKey(p: Plan): string {
  switch (p.at) {
    case 'exact':
      return `s${p.v}`;
    case 'num':
      return `n${String(p.v)}`;
    case 'lower':
      return `l${p.open ? '(' : '['}${p.b}`;
    case 'upper':
      return `u${p.b}${p.open ? ')' : ']'}`;
    case 'range':
      return `r${p.loOpen ? '(' : '['}${p.lo},${p.hi}${p.hiOpen ? ')' : ']'}`;
    case 'prefix':
    case 'suffix':
      return `${p.at}:${p.v}`;
    case 'ab-string':
    case 'ab-prefix':
    case 'ab-suffix':
      return `${p.at}:${JSON.stringify([...p.v].sort())}`;
    case 'ab-number':
      return `${p.at}:${JSON.stringify([...p.v].sort((a, b) => a - b))}`;
    case 'eic':
    case 'prefix-eic':
    case 'suffix-eic':
      return `${p.at}:${sigOf(p.u)}`;
    case 'ab-eic':
      return `${p.at}:${JSON.stringify([...new Set(p.v.map(sigOf))].sort())}`;
    case 'ip4':
      return `ip4:${p.bits}:${p.key}`;
    case 'slow':
      return `slow:${p.key}`;
    default:
      return p.at;
  }
}

function specKey(c: CondSpec): string {
  switch (c.t) {
    case 'cidr':
      return `cidr:${[...c.lo].join('.')}-${[...c.hi].join('.')}`;
    case 'exact':
      return `exact:${typeof c.v}:${String(c.v)}`;
    case 'numeric':
    case 'exists':
      return JSON.stringify(c);
    default:
      return `${c.t}:${JSON.stringify(c.v)}`;
  }
}

/** IPv4 as an unsigned 32-bit number, from the first four bytes of a parsed address. */
const ip4 = (b: Uint8Array): number => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
const ip4Key = (addr: number, bits: number): number => (bits === 0 ? 0 : addr >>> (32 - bits));

/** Leading bits that a cidr's low and high addresses share: its mask length. */
function maskBits(lo: Uint8Array, hi: Uint8Array): number {
  let bits = 0;
  for (let i = 0; i < lo.length; i++) {
    const diff = lo[i]! ^ hi[i]!;
    if (diff === 0) {
      bits += 8;
      continue;
    }
    return bits + Math.clz32(diff) - 24;
  }
  return bits;
}

const slow = (s: CondSpec): Plan => ({ at: 'slow', leaf: compileLeaf({ conds: [s] }), key: specKey(s) });

/** How a condition of a pattern is filed (`exists: false` is not: the set checks absence itself). */
function planOf(s: CondSpec): Plan {
  switch (s.t) {
    case 'exact': {
      const v = s.v;
      if (typeof v === 'string') {
        // An exact string that is an IP literal matches the address however it is written.
        const fam = parseIp(v, ipScratch2);
        if (fam === 0) return { at: 'exact', v };
        return fam === 4 ? { at: 'ip4', bits: 32, key: ip4(ipScratch2) } : slow(s);
      }
      if (typeof v === 'number') return { at: 'num', v };
      return { at: v === null ? 'null' : v ? 'true' : 'false' };
    }
    case 'numeric':
      if (s.lo === s.hi) return s.loOpen || s.hiOpen ? { at: 'never' } : { at: 'num', v: s.lo };
      if (s.hi === Number.MAX_VALUE && !s.hiOpen) return { at: 'lower', b: s.lo, open: s.loOpen };
      if (s.lo === -Number.MAX_VALUE && !s.loOpen) return { at: 'upper', b: s.hi, open: s.hiOpen };
      return { at: 'range', lo: s.lo, loOpen: s.loOpen, hi: s.hi, hiOpen: s.hiOpen };
    case 'exists':
      return { at: s.v ? 'exists' : 'never' };
    case 'prefix':
    case 'suffix':
      return { at: s.t, v: s.v };
    case 'wildcard': {
      // Wildcards that are an exact value, a prefix or a suffix are filed as such.
      const segs = wildcardSegments(s.v);
      if (segs.length === 1) return { at: 'exact', v: segs[0]! };
      if (segs.length === 2 && segs[1] === '') return { at: 'prefix', v: segs[0]! };
      if (segs.length === 2 && segs[0] === '') return { at: 'suffix', v: segs[1]! };
      return slow(s);
    }
    case 'eic':
    case 'prefix-eic':
    case 'suffix-eic': {
      const u = caseUnits(s.v);
      return u ? { at: s.t, u } : slow(s);
    }
    case 'cidr':
      return s.family === 4 ? { at: 'ip4', bits: maskBits(s.lo, s.hi), key: ip4Key(ip4(s.lo), maskBits(s.lo, s.hi)) } : slow(s);
    case 'ab-string':
    case 'ab-prefix':
    case 'ab-suffix':
      return { at: s.t, v: [...new Set(s.v)] };
    case 'ab-number':
      return { at: s.t, v: [...new Set(s.v)] };
    case 'ab-eic': {
      const units = s.v.map(caseUnits);
      return units.every((u) => u !== undefined) ? { at: 'ab-eic', v: units as Units[] } : slow(s);
    }
    case 'ab-wildcard':
      return slow(s);
  }
}

function fire(st: Scratch, c: Condition): void {
  const stamp = st.stamp;
  const stamps = st.leafStamp;
  const serial = st.serial;
  const one = c.leaf;
  if (one >= 0) {
    if (stamps[one] !== stamp) {
      stamps[one] = stamp;
      st.sat[st.nSat++] = one;
    }
    if (serial !== 0) st.hit(one, serial);
    return;
  }
  const ls = c.leaves;
  for (let i = 0; i < ls.length; i++) {
    const l = ls[i]!;
    if (stamps[l] !== stamp) {
      stamps[l] = stamp;
      st.sat[st.nSat++] = l;
    }
    if (serial !== 0) st.hit(l, serial);
  }
}

function fireAll(st: Scratch, cs: readonly Condition[]): void {
  for (let i = 0; i < cs.length; i++) fire(st, cs[i]!);
}

function drop<T>(list: T[] | undefined, x: T): void {
  if (!list) return;
  const i = list.indexOf(x);
  if (i >= 0) list.splice(i, 1);
}

// ---- character tries ------------------------------------------------------------------------

/** A case-sensitive trie over UTF-16 units: forward for prefixes, backward for suffixes. */
class CharTrie {
  next: Map<number, CharTrie> | undefined;
  /** Satisfied when the walk reaches this node (prefix/suffix). */
  hit: Condition[] | undefined;
  /** Excluded when the walk reaches this node (anything-but prefix/suffix). */
  excl: Condition[] | undefined;

  private node(s: string, backward: boolean, create: boolean): CharTrie[] | undefined {
    const path: CharTrie[] = [this];
    let n: CharTrie = this;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(backward ? s.length - 1 - i : i);
      let m = n.next?.get(c);
      if (!m) {
        if (!create) return undefined;
        m = new CharTrie();
        (n.next ??= new Map()).set(c, m);
      }
      path.push(m);
      n = m;
    }
    return path;
  }

  add(s: string, backward: boolean, c: Condition, list: 'hit' | 'excl'): void {
    const path = this.node(s, backward, true)!;
    (path[path.length - 1]![list] ??= []).push(c);
  }

  remove(s: string, backward: boolean, c: Condition, list: 'hit' | 'excl'): void {
    const path = this.node(s, backward, false);
    if (!path) return;
    const end = path[path.length - 1]!;
    drop(end[list], c);
    if (end[list]?.length === 0) end[list] = undefined;
    // Prune nodes left with nothing below them.
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!;
      if (n.hit || n.excl || (n.next && n.next.size > 0)) break;
      const parent = path[i - 1]!;
      const at = backward ? s.length - i : i - 1;
      parent.next!.delete(s.charCodeAt(at));
    }
  }

  /** Fires hits and marks exclusions of every node on the walk of `s`. */
  walk(s: string, backward: boolean, st: Scratch, tick: number): void {
    let n: CharTrie | undefined = this;
    const len = s.length;
    for (let i = 0; ; i++) {
      if (n.hit) fireAll(st, n.hit);
      if (n.excl) for (const c of n.excl) c.tick = tick;
      if (i === len || !n.next) return;
      n = n.next.get(s.charCodeAt(backward ? len - 1 - i : i));
      if (!n) return;
    }
  }

  empty(): boolean {
    return !this.hit && !this.excl && (!this.next || this.next.size === 0);
  }
}

/**
 * A case-insensitive trie: each pattern unit accepts exactly its lower- and upper-case forms, so a
 * node's children are keyed by that pair, and reached by either unit. Two patterns whose units
 * accept overlapping pairs (k/K and k/KELVIN SIGN) get separate children; the walk follows all.
 */
class CaseTrie {
  readonly bySig = new Map<number, CaseTrie>();
  readonly next = new Map<number, CaseTrie[]>();
  /** Satisfied when the walk reaches this node (prefix-eic / suffix-eic). */
  hit: Condition[] | undefined;
  /** Satisfied when the value ends at this node (equals-ignore-case). */
  end: Condition[] | undefined;
  /** Excluded when the value ends at this node (anything-but equals-ignore-case). */
  endExcl: Condition[] | undefined;

  private path(lo: Uint16Array, up: Uint16Array, backward: boolean, create: boolean): CaseTrie[] | undefined {
    const path: CaseTrie[] = [this];
    let n: CaseTrie = this;
    const len = lo.length;
    for (let i = 0; i < len; i++) {
      const j = backward ? len - 1 - i : i;
      const l = lo[j]!;
      const u = up[j]!;
      const sig = l * 65536 + u;
      let m = n.bySig.get(sig);
      if (!m) {
        if (!create) return undefined;
        m = new CaseTrie();
        n.bySig.set(sig, m);
        for (const unit of l === u ? [l] : [l, u]) {
          const list = n.next.get(unit);
          if (list) list.push(m);
          else n.next.set(unit, [m]);
        }
      }
      path.push(m);
      n = m;
    }
    return path;
  }

  add(lo: Uint16Array, up: Uint16Array, backward: boolean, c: Condition, list: 'hit' | 'end' | 'endExcl'): void {
    const path = this.path(lo, up, backward, true)!;
    (path[path.length - 1]![list] ??= []).push(c);
  }

  remove(lo: Uint16Array, up: Uint16Array, backward: boolean, c: Condition, list: 'hit' | 'end' | 'endExcl'): void {
    const path = this.path(lo, up, backward, false);
    if (!path) return;
    const last = path[path.length - 1]!;
    drop(last[list], c);
    if (last[list]?.length === 0) last[list] = undefined;
    const len = lo.length;
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!;
      if (n.hit || n.end || n.endExcl || n.bySig.size > 0) break;
      const parent = path[i - 1]!;
      const j = backward ? len - i : i - 1;
      const l = lo[j]!;
      const u = up[j]!;
      parent.bySig.delete(l * 65536 + u);
      for (const unit of l === u ? [l] : [l, u]) {
        const list = parent.next.get(unit)!;
        drop(list, n);
        if (list.length === 0) parent.next.delete(unit);
      }
    }
  }

  walk(s: string, backward: boolean, st: Scratch, tick: number, states: CaseTrie[], spare: CaseTrie[]): void {
    let cur = states;
    let nxt = spare;
    cur.length = 0;
    cur.push(this);
    const len = s.length;
    for (let i = 0; ; i++) {
      for (let k = 0; k < cur.length; k++) {
        const n = cur[k]!;
        if (n.hit) fireAll(st, n.hit);
        if (i === len) {
          if (n.end) fireAll(st, n.end);
          if (n.endExcl) for (const c of n.endExcl) c.tick = tick;
        }
      }
      if (i === len) return;
      nxt.length = 0;
      const unit = s.charCodeAt(backward ? len - 1 - i : i);
      for (let k = 0; k < cur.length; k++) {
        const kids = cur[k]!.next.get(unit);
        if (kids) for (let q = 0; q < kids.length; q++) nxt.push(kids[q]!);
      }
      if (nxt.length === 0) return;
      const t = cur;
      cur = nxt;
      nxt = t;
    }
  }

  empty(): boolean {
    return !this.hit && !this.end && !this.endExcl && this.bySig.size === 0;
  }
}

// ---- numeric bounds -------------------------------------------------------------------------

interface Bound {
  readonly b: number;
  readonly open: boolean;
  readonly c: Condition;
}

interface Range {
  readonly lo: number;
  readonly loOpen: boolean;
  readonly hi: number;
  readonly hiOpen: boolean;
  readonly c: Condition;
}

/** Bounds in the order their satisfied set grows: `x > b` / `x >= b` are satisfied for a prefix. */
function insertSorted<T>(list: T[], x: T, before: (a: T, b: T) => boolean): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(list[mid]!, x)) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, x);
}

function removeWhere<T extends { c: Condition }>(list: T[], c: Condition): void {
  const i = list.findIndex((x) => x.c === c);
  if (i >= 0) list.splice(i, 1);
}

// ---- the field --------------------------------------------------------------------------------

/** Keeps `leaf` in step after `c.leaves` changed. */
export function leavesChanged(c: Condition): void {
  c.leaf = c.leaves.length === 1 ? c.leaves[0]! : -1;
}

export class FieldIndex {
  private readonly conds = new Map<string, Condition>();

  private exact: Map<string, Condition> | undefined;
  private nums: Map<number, Condition> | undefined;
  private trueC: Condition | undefined;
  private falseC: Condition | undefined;
  private nullC: Condition | undefined;
  private existsC: Condition | undefined;
  private lowers: Bound[] | undefined;
  private uppers: Bound[] | undefined;
  private ranges: Range[] | undefined;
  private pre: CharTrie | undefined;
  private suf: CharTrie | undefined;
  private ci: CaseTrie | undefined;
  private ciSuf: CaseTrie | undefined;
  private readonly states: CaseTrie[] = [];
  private readonly spare: CaseTrie[] = [];
  private ip4Bits: number[] | undefined;
  private ip4: Map<number, Map<number, Condition>> | undefined;
  private abExact: Map<string, Condition[]> | undefined;
  private abNumExact: Map<number, Condition[]> | undefined;
  /** String-flavoured anything-but (satisfied by every non-string and by strings they do not exclude). */
  private abStr: Condition[] | undefined;
  /** Numeric anything-but (satisfied by every non-number and by numbers they do not exclude). */
  private abNum: Condition[] | undefined;
  private slow: Condition[] | undefined;

  /** @param slot where the set records this field's presence per event (Scratch.present). */
  constructor(readonly slot: number) {}

  get size(): number {
    return this.conds.size;
  }

  /** The condition for `spec`, filed on first use; each call takes a reference (see release). */
  acquire(spec: CondSpec): Condition {
    const plan = planOf(spec);
    const key = planKey(plan);
    let c = this.conds.get(key);
    if (!c) {
      c = { key, plan, leaves: [], leaf: -1, refs: 0, tick: 0 };
      this.file(c, plan);
      this.conds.set(key, c);
    }
    c.refs++;
    return c;
  }

  /** Drops one reference; the last one unfiles the condition. */
  release(c: Condition): void {
    if (--c.refs > 0) return;
    this.conds.delete(c.key);
    this.unfile(c, c.plan);
  }

  private file(c: Condition, p: Plan): void {
    switch (p.at) {
      case 'exact':
        (this.exact ??= new Map()).set(p.v, c);
        return;
      case 'num':
        (this.nums ??= new Map()).set(p.v, c);
        return;
      case 'true':
        this.trueC = c;
        return;
      case 'false':
        this.falseC = c;
        return;
      case 'null':
        this.nullC = c;
        return;
      case 'exists':
        this.existsC = c;
        return;
      case 'never':
        return;
      case 'lower':
        insertSorted((this.lowers ??= []), { b: p.b, open: p.open, c }, (a, b) => a.b < b.b || (a.b === b.b && !a.open && b.open));
        return;
      case 'upper':
        insertSorted((this.uppers ??= []), { b: p.b, open: p.open, c }, (a, b) => a.b > b.b || (a.b === b.b && !a.open && b.open));
        return;
      case 'range':
        insertSorted((this.ranges ??= []), { lo: p.lo, loOpen: p.loOpen, hi: p.hi, hiOpen: p.hiOpen, c }, (a, b) => a.lo < b.lo);
        return;
      case 'prefix':
        (this.pre ??= new CharTrie()).add(p.v, false, c, 'hit');
        return;
      case 'suffix':
        (this.suf ??= new CharTrie()).add(p.v, true, c, 'hit');
        return;
      case 'eic':
      case 'prefix-eic':
        (this.ci ??= new CaseTrie()).add(p.u.lo, p.u.up, false, c, p.at === 'eic' ? 'end' : 'hit');
        return;
      case 'suffix-eic':
        (this.ciSuf ??= new CaseTrie()).add(p.u.lo, p.u.up, true, c, 'hit');
        return;
      case 'ip4': {
        let byKey = (this.ip4 ??= new Map()).get(p.bits);
        if (!byKey) {
          this.ip4.set(p.bits, (byKey = new Map()));
          (this.ip4Bits ??= []).push(p.bits);
        }
        byKey.set(p.key, c);
        return;
      }
      case 'ab-string':
        for (const v of p.v) {
          const list = (this.abExact ??= new Map()).get(v);
          if (list) list.push(c);
          else this.abExact.set(v, [c]);
        }
        (this.abStr ??= []).push(c);
        return;
      case 'ab-number':
        for (const v of p.v) {
          const list = (this.abNumExact ??= new Map()).get(v);
          if (list) list.push(c);
          else this.abNumExact.set(v, [c]);
        }
        (this.abNum ??= []).push(c);
        return;
      case 'ab-prefix':
        for (const v of p.v) (this.pre ??= new CharTrie()).add(v, false, c, 'excl');
        (this.abStr ??= []).push(c);
        return;
      case 'ab-suffix':
        for (const v of p.v) (this.suf ??= new CharTrie()).add(v, true, c, 'excl');
        (this.abStr ??= []).push(c);
        return;
      case 'ab-eic':
        for (const u of p.v) (this.ci ??= new CaseTrie()).add(u.lo, u.up, false, c, 'endExcl');
        (this.abStr ??= []).push(c);
        return;
      case 'slow':
        (this.slow ??= []).push(c);
        return;
    }
  }

  private unfile(c: Condition, p: Plan): void {
    switch (p.at) {
      case 'exact':
        this.exact!.delete(p.v);
        break;
      case 'num':
        this.nums!.delete(p.v);
        break;
      case 'true':
        this.trueC = undefined;
        break;
      case 'false':
        this.falseC = undefined;
        break;
      case 'null':
        this.nullC = undefined;
        break;
      case 'exists':
        this.existsC = undefined;
        break;
      case 'never':
        break;
      case 'lower':
        removeWhere(this.lowers!, c);
        break;
      case 'upper':
        removeWhere(this.uppers!, c);
        break;
      case 'range':
        removeWhere(this.ranges!, c);
        break;
      case 'prefix':
        this.pre!.remove(p.v, false, c, 'hit');
        break;
      case 'suffix':
        this.suf!.remove(p.v, true, c, 'hit');
        break;
      case 'ab-prefix':
        for (const v of p.v) this.pre!.remove(v, false, c, 'excl');
        drop(this.abStr, c);
        break;
      case 'ab-suffix':
        for (const v of p.v) this.suf!.remove(v, true, c, 'excl');
        drop(this.abStr, c);
        break;
      case 'eic':
      case 'prefix-eic':
        this.ci!.remove(p.u.lo, p.u.up, false, c, p.at === 'eic' ? 'end' : 'hit');
        break;
      case 'suffix-eic':
        this.ciSuf!.remove(p.u.lo, p.u.up, true, c, 'hit');
        break;
      case 'ab-eic':
        for (const u of p.v) this.ci!.remove(u.lo, u.up, false, c, 'endExcl');
        drop(this.abStr, c);
        break;
      case 'ip4': {
        const byKey = this.ip4!.get(p.bits)!;
        byKey.delete(p.key);
        if (byKey.size === 0) {
          this.ip4!.delete(p.bits);
          drop(this.ip4Bits, p.bits);
        }
        break;
      }
      case 'ab-string':
        for (const v of p.v) {
          const list = this.abExact!.get(v)!;
          drop(list, c);
          if (list.length === 0) this.abExact!.delete(v);
        }
        drop(this.abStr, c);
        break;
      case 'ab-number':
        for (const v of p.v) {
          const list = this.abNumExact!.get(v)!;
          drop(list, c);
          if (list.length === 0) this.abNumExact!.delete(v);
        }
        drop(this.abNum, c);
        break;
      case 'slow':
        drop(this.slow, c);
        break;
    }
    // Structures left empty are dropped, so the per-value checks skip them.
    if (this.exact?.size === 0) this.exact = undefined;
    if (this.nums?.size === 0) this.nums = undefined;
    if (this.lowers?.length === 0) this.lowers = undefined;
    if (this.uppers?.length === 0) this.uppers = undefined;
    if (this.ranges?.length === 0) this.ranges = undefined;
    if (this.pre?.empty()) this.pre = undefined;
    if (this.suf?.empty()) this.suf = undefined;
    if (this.ci?.empty()) this.ci = undefined;
    if (this.ciSuf?.empty()) this.ciSuf = undefined;
    if (this.ip4?.size === 0) this.ip4 = this.ip4Bits = undefined;
    if (this.abExact?.size === 0) this.abExact = undefined;
    if (this.abNumExact?.size === 0) this.abNumExact = undefined;
    if (this.abStr?.length === 0) this.abStr = undefined;
    if (this.abNum?.length === 0) this.abNum = undefined;
    if (this.slow?.length === 0) this.slow = undefined;
  }

  // ---- matching one value ----------------------------------------------------------------------

  /** Fires every condition a string value satisfies. */
  string(s: string, st: Scratch): void {
    st.present[this.slot] = st.stamp;
    if (this.existsC) fire(st, this.existsC);
    const tick = ++st.tick;
    if (this.exact) {
      const c = this.exact.get(s);
      if (c) fire(st, c);
    }
    if (this.pre) this.pre.walk(s, false, st, tick);
    if (this.suf) this.suf.walk(s, true, st, tick);
    if (this.ci) this.ci.walk(s, false, st, tick, this.states, this.spare);
    if (this.ciSuf) this.ciSuf.walk(s, true, st, tick, this.states, this.spare);
    if (this.ip4 && parseIp(s, ipScratch2) === 4) {
      const addr = ip4(ipScratch2);
      for (const bits of this.ip4Bits!) {
        const c = this.ip4.get(bits)!.get(ip4Key(addr, bits));
        if (c) fire(st, c);
      }
    }
    if (this.abStr) {
      const ex = this.abExact?.get(s);
      if (ex) for (const c of ex) c.tick = tick;
      const all = this.abStr;
      for (let i = 0; i < all.length; i++) if (all[i]!.tick !== tick) fire(st, all[i]!);
    }
    if (this.abNum) fireAll(st, this.abNum);
    if (this.slow) this.slowTest(s, st);
  }

  /** Fires every condition a number value satisfies. */
  number(n: number, st: Scratch): void {
    st.present[this.slot] = st.stamp;
    if (this.existsC) fire(st, this.existsC);
    if (this.nums) {
      const c = this.nums.get(n);
      if (c) fire(st, c);
    }
    // Infinity (JSON "1e999") is in no range: the bounds are finite.
    if (Number.isFinite(n)) {
      const lowers = this.lowers;
      if (lowers) {
        // Satisfied: a prefix of the list, those with b < n, or b === n when closed.
        let lo = 0;
        let hi = lowers.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          const b = lowers[mid]!;
          if (b.b < n || (b.b === n && !b.open)) lo = mid + 1;
          else hi = mid;
        }
        for (let i = 0; i < lo; i++) fire(st, lowers[i]!.c);
      }
      const uppers = this.uppers;
      if (uppers) {
        let lo = 0;
        let hi = uppers.length;
        while (lo < hi) {
          const mid = (lo + hi) >>> 1;
          const b = uppers[mid]!;
          if (b.b > n || (b.b === n && !b.open)) lo = mid + 1;
          else hi = mid;
        }
        for (let i = 0; i < lo; i++) fire(st, uppers[i]!.c);
      }
      const ranges = this.ranges;
      if (ranges) {
        for (let i = 0; i < ranges.length; i++) {
          const r = ranges[i]!;
          if (r.lo > n) break;
          if ((r.loOpen ? n > r.lo : n >= r.lo) && (r.hiOpen ? n < r.hi : n <= r.hi)) fire(st, r.c);
        }
      }
    }
    if (this.abStr) fireAll(st, this.abStr);
    if (this.abNum) {
      const tick = ++st.tick;
      const ex = this.abNumExact?.get(n);
      if (ex) for (const c of ex) c.tick = tick;
      const all = this.abNum;
      for (let i = 0; i < all.length; i++) if (all[i]!.tick !== tick) fire(st, all[i]!);
    }
    if (this.slow) this.slowTest(n, st);
  }

  /** Fires every condition true, false or null satisfies. */
  other(v: boolean | null, st: Scratch): void {
    st.present[this.slot] = st.stamp;
    if (this.existsC) fire(st, this.existsC);
    const c = v === null ? this.nullC : v ? this.trueC : this.falseC;
    if (c) fire(st, c);
    if (this.abStr) fireAll(st, this.abStr);
    if (this.abNum) fireAll(st, this.abNum);
    if (this.slow) this.slowTest(v, st);
  }

  private slowTest(v: string | number | boolean | null, st: Scratch): void {
    for (const c of this.slow!) if (testLeaf((c.plan as { leaf: Leaf }).leaf, v)) fire(st, c);
  }
}
