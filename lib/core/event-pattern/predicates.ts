// Predicates over one scalar value: case-insensitive comparison the way event-ruler folds case,
// wildcards without backtracking, numeric ranges, and their disjunction.

export type StrPred = (s: string) => boolean;
export type NumPred = (n: number) => boolean;
export type OtherPred = (v: boolean | null) => boolean;

export const NO = (): boolean => false;
export const YES = (): boolean => true;

export function anyOf<T>(preds: ((x: T) => boolean)[]): (x: T) => boolean {
  if (preds.length === 0) return NO;
  if (preds.length === 1) return preds[0] as (x: T) => boolean;
  if (preds.length === 2) {
    const a = preds[0] as (x: T) => boolean;
    const b = preds[1] as (x: T) => boolean;
    return (x) => a(x) || b(x);
  }
  const list = preds.slice();
  return (x) => {
    for (let i = 0; i < list.length; i++) if ((list[i] as (x: T) => boolean)(x)) return true;
    return false;
  };
}

/**
 * The two UTF-16 units each unit of `p` accepts under equals-ignore-case (its lower- and upper-case
 * forms, Locale.ROOT), or undefined when a unit changes length with its case (e.g. "ß" -> "SS").
 */
export function caseUnits(p: string): { lo: Uint16Array; up: Uint16Array } | undefined {
  const n = p.length;
  const lo = new Uint16Array(n);
  const up = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const ch = p.charAt(i);
    const l = ch.toLowerCase();
    const u = ch.toUpperCase();
    if (l.length !== 1 || u.length !== 1) return undefined;
    lo[i] = l.charCodeAt(0);
    up[i] = u.charCodeAt(0);
  }
  return { lo, up };
}

/**
 * Case-insensitive comparison the way event-ruler does it: each UTF-16 unit
 * of the pattern accepts its own lower-case or upper-case form (Locale.ROOT).
 * mode 0 = whole string, 1 = prefix, 2 = suffix.
 */
export function ignoreCase(p: string, mode: 0 | 1 | 2): StrPred {
  const n = p.length;
  const lo = new Uint16Array(n);
  const up = new Uint16Array(n);
  let simple = true;
  const alts: string[] = [];
  for (let i = 0; i < n; i++) {
    const ch = p.charAt(i);
    const l = ch.toLowerCase();
    const u = ch.toUpperCase();
    if (l.length !== 1 || u.length !== 1) simple = false;
    lo[i] = l.charCodeAt(0);
    up[i] = u.charCodeAt(0);
    alts.push(l === u ? escapeRe(l) : `(?:${escapeRe(l)}|${escapeRe(u)})`);
  }
  if (!simple) {
    // Rare (e.g. "ß" -> "SS"): one regex, compiled here, never per match.
    const re = new RegExp(mode === 2 ? `${alts.join('')}$` : `^${alts.join('')}${mode === 0 ? '$' : ''}`);
    return (s) => re.test(s);
  }
  if (mode === 0) {
    return (s) => {
      if (s.length !== n) return false;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c !== lo[i] && c !== up[i]) return false;
      }
      return true;
    };
  }
  if (mode === 1) {
    return (s) => {
      if (s.length < n) return false;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c !== lo[i] && c !== up[i]) return false;
      }
      return true;
    };
  }
  return (s) => {
    const off = s.length - n;
    if (off < 0) return false;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(off + i);
      if (c !== lo[i] && c !== up[i]) return false;
    }
    return true;
  };
}

function escapeRe(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
}

/** A wildcard's literal pieces between unescaped `*` (one piece when there is no `*`). */
export function wildcardSegments(p: string): string[] {
  const segs: string[] = [];
  let cur = '';
  for (let i = 0; i < p.length; i++) {
    const c = p.charAt(i);
    if (c === '\\') {
      cur += p.charAt(i + 1);
      i++;
    } else if (c === '*') {
      segs.push(cur);
      cur = '';
    } else {
      cur += c;
    }
  }
  segs.push(cur);
  return segs;
}

/** Compiles a wildcard into literal segments matched with indexOf: O(n·m), no backtracking blow-up. */
export function wildcard(p: string): StrPred {
  const segs = wildcardSegments(p);
  if (segs.length === 1) {
    const lit = segs[0] as string;
    return (s) => s === lit;
  }
  const first = segs[0] as string;
  const last = segs[segs.length - 1] as string;
  const middle = segs.slice(1, -1).filter((x) => x.length > 0);
  const minLen = first.length + last.length;
  if (middle.length === 0) {
    return (s) => s.length >= minLen && s.startsWith(first) && s.endsWith(last);
  }
  return (s) => {
    if (s.length < minLen || !s.startsWith(first) || !s.endsWith(last)) return false;
    let pos = first.length;
    const end = s.length - last.length;
    for (let i = 0; i < middle.length; i++) {
      const m = middle[i] as string;
      const at = s.indexOf(m, pos);
      if (at < 0 || at + m.length > end) return false;
      pos = at + m.length;
    }
    return true;
  };
}

export function rangePred(lo: number, loOpen: boolean, hi: number, hiOpen: boolean): NumPred {
  // Equal bounds come from "=", or from ">" MAX_VALUE / "<" -MAX_VALUE, which no double satisfies.
  if (lo === hi) return loOpen || hiOpen ? NO : (n) => n === lo;
  if (loOpen) return hiOpen ? (n) => n > lo && n < hi : (n) => n > lo && n <= hi;
  return hiOpen ? (n) => n >= lo && n < hi : (n) => n >= lo && n <= hi;
}
