// One leaf of a pattern (the array of alternatives under a field name) compiled into three
// predicates, by the JSON type of the value it meets, and tested against a value of the document.
import type { LeafSpec } from './parse.ts';
import { bytesInRange, ipLooking, ipScratch, ipScratch2, parseIp } from './ip.ts';
import { anyOf, ignoreCase, rangePred, wildcard, YES, type NumPred, type OtherPred, type StrPred } from './predicates.ts';

export interface Leaf {
  str: StrPred;
  num: NumPred;
  other: OtherPred;
  /** True when a missing field satisfies the leaf (`exists: false` among the alternatives). */
  absentOk: boolean;
  /** True when the leaf is only `exists: false`: drives event-ruler's array-consistency order. */
  pureAbsent: boolean;
  /** Exact string values when the leaf is nothing else (for rule indexing). */
  exactOnly: ReadonlySet<string> | undefined;
}

export function compileLeaf(spec: LeafSpec): Leaf {
  const str: StrPred[] = [];
  const num: NumPred[] = [];
  const other: OtherPred[] = [];
  const exactStr = new Set<string>();
  const exactNum = new Set<number>();
  let exactTrue = false;
  let exactFalse = false;
  let exactNull = false;
  let absentOk = false;
  let existsOk = false;
  let onlyExactStrings = true;

  for (const c of spec.conds) {
    if (c.t !== 'exact' || typeof c.v !== 'string' || ipLooking(c.v)) onlyExactStrings = false;
    switch (c.t) {
      case 'exact': {
        const v = c.v;
        if (typeof v === 'string') {
          const fam = parseIp(v, ipScratch);
          if (fam === 0) {
            exactStr.add(v);
          } else {
            const addr = ipScratch.slice(0, fam);
            str.push((s) => s === v || (parseIp(s, ipScratch2) === fam && bytesInRange(ipScratch2, addr, addr, fam)));
          }
        } else if (typeof v === 'number') exactNum.add(v);
        else if (v === true) exactTrue = true;
        else if (v === false) exactFalse = true;
        else exactNull = true;
        break;
      }
      case 'prefix': {
        const p = c.v;
        str.push((s) => s.startsWith(p));
        break;
      }
      case 'suffix': {
        const p = c.v;
        str.push((s) => s.endsWith(p));
        break;
      }
      case 'eic': str.push(ignoreCase(c.v, 0)); break;
      case 'prefix-eic': str.push(ignoreCase(c.v, 1)); break;
      case 'suffix-eic': str.push(ignoreCase(c.v, 2)); break;
      case 'wildcard': str.push(wildcard(c.v)); break;
      case 'numeric': num.push(rangePred(c.lo, c.loOpen, c.hi, c.hiOpen)); break;
      case 'exists':
        if (c.v) existsOk = true;
        else absentOk = true;
        break;
      case 'cidr': {
        const { family, lo, hi } = c;
        str.push((s) => parseIp(s, ipScratch2) === family && bytesInRange(ipScratch2, lo, hi, family));
        break;
      }
      case 'ab-string': {
        const set = new Set(c.v);
        str.push((s) => !set.has(s));
        num.push(YES);
        other.push(YES);
        break;
      }
      case 'ab-number': {
        const set = new Set(c.v);
        num.push((n) => !set.has(n));
        str.push(YES);
        other.push(YES);
        break;
      }
      case 'ab-prefix':
      case 'ab-suffix':
      case 'ab-eic':
      case 'ab-wildcard': {
        const preds = c.v.map((x): StrPred => {
          if (c.t === 'ab-prefix') return (s) => s.startsWith(x);
          if (c.t === 'ab-suffix') return (s) => s.endsWith(x);
          if (c.t === 'ab-eic') return ignoreCase(x, 0);
          return wildcard(x);
        });
        const hit = anyOf(preds);
        str.push((s) => !hit(s));
        num.push(YES);
        other.push(YES);
        break;
      }
    }
  }

  if (exactStr.size === 1) {
    const only = exactStr.values().next().value as string;
    str.unshift((s) => s === only);
  } else if (exactStr.size > 1) {
    str.unshift((s) => exactStr.has(s));
  }
  if (exactNum.size === 1) {
    const only = exactNum.values().next().value as number;
    num.unshift((n) => n === only);
  } else if (exactNum.size > 1) {
    num.unshift((n) => exactNum.has(n));
  }
  if (exactTrue || exactFalse || exactNull) {
    other.unshift((v) => (v === null ? exactNull : v ? exactTrue : exactFalse));
  }
  return {
    str: existsOk ? YES : anyOf(str),
    num: existsOk ? YES : anyOf(num),
    other: existsOk ? YES : anyOf(other),
    absentOk,
    pureAbsent: absentOk && spec.conds.every((c) => c.t === 'exists' && !c.v),
    exactOnly: onlyExactStrings ? exactStr : undefined,
  };
}

/** Tests the value found at a leaf path; arrays are searched element by element. */
export function testLeaf(leaf: Leaf, v: unknown): boolean {
  switch (typeof v) {
    case 'string': return leaf.str(v);
    case 'number': return leaf.num(v);
    case 'boolean': return leaf.other(v);
    case 'object':
      if (v === null) return leaf.other(null);
      if (Array.isArray(v)) {
        // -1: no scalar seen, 0: scalars seen but none matched, 1: matched
        const r = testLeafArray(leaf, v);
        return r === 1 || (r === -1 && leaf.absentOk);
      }
      return leaf.absentOk;
    default:
      return leaf.absentOk;
  }
}

/**
 * -1: no scalar in the (possibly nested) array, 0: scalars but none matched, 1: matched. Nested
 * arrays are walked with an explicit stack, so no depth of nesting can overflow the call stack.
 */
function testLeafArray(leaf: Leaf, arr: readonly unknown[]): -1 | 0 | 1 {
  let seen: -1 | 0 = -1;
  let outer: (readonly unknown[])[] | undefined;
  let resume: number[] | undefined;
  let cur = arr;
  let i = 0;
  for (;;) {
    if (i === cur.length) {
      if (outer === undefined || outer.length === 0) return seen;
      cur = outer.pop()!;
      i = resume!.pop()!;
      continue;
    }
    const v = cur[i++];
    switch (typeof v) {
      case 'string':
        if (leaf.str(v)) return 1;
        seen = 0;
        break;
      case 'number':
        if (leaf.num(v)) return 1;
        seen = 0;
        break;
      case 'boolean':
        if (leaf.other(v)) return 1;
        seen = 0;
        break;
      case 'object':
        if (v === null) {
          if (leaf.other(null)) return 1;
          seen = 0;
        } else if (Array.isArray(v)) {
          (outer ??= []).push(cur);
          (resume ??= []).push(i);
          cur = v;
          i = 0;
        }
        break;
      default:
        break;
    }
  }
}
