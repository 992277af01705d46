/**
 * Amazon EventBridge event-pattern matcher, written for Baton.
 *
 * Semantics follow EventBridge's documented behaviour and, where the docs are
 * silent, AWS's reference implementation (github.com/aws/event-ruler). The
 * notable points (each is covered by test/unit/event-pattern.cases.ts):
 *
 * - Leaves are arrays of alternatives (OR); fields of an object are ANDed.
 * - Only scalar leaves count as "present": a field whose value is an object,
 *   `{}` or `[]` does not exist for `exists`, and fails every value test.
 * - Arrays in the document are transparent: a leaf matches if any element
 *   matches, and every condition under one array of objects must be satisfied
 *   by the SAME element (event-ruler's "array consistency").
 * - Strings, numbers, booleans and null never equal one another; numbers are
 *   compared as IEEE doubles, so 300, 300.0 and 3.0e2 are the same value.
 * - An exact string that is an IP address literal matches the same address
 *   however it is written (event-ruler turns such values into IP ranges).
 * - `anything-but` needs the field to be present; a non-string value passes
 *   any string-flavoured anything-but, a non-number passes a numeric one.
 * - `$or` is expanded into independent branches (like event-ruler); a field
 *   written after a `$or` is added to (and overrides in) every branch.
 *
 * Known deliberate differences from event-ruler are listed in docs/rules.md.
 */

// ---------------------------------------------------------------------------
// Public types

/** Error thrown for any pattern EventBridge would reject (or Baton's guard refuses). */
export class InvalidPatternError extends Error {
  /** JSON path of the offending element inside the pattern, e.g. `$.detail.n[0].numeric[2]`. */
  readonly path: string;

  constructor(path: string, message: string) {
    super(`Invalid event pattern at ${path}: ${message}`);
    this.name = 'InvalidPatternError';
    this.path = path;
  }
}

/** A compiled pattern: call it with a parsed JSON document. */
export interface CompiledPattern {
  (doc: unknown): boolean;
  /** Every field path the pattern tests, dotted (`detail.state`), sorted, deduplicated. */
  readonly paths: readonly string[];
  /** Number of `$or` branches after expansion (1 when the pattern has no `$or`). */
  readonly branches: number;
  /** See {@link indexKeys}. */
  indexKeys(path: string | readonly string[]): ReadonlySet<string> | undefined;
}

/**
 * Baton's complexity guard (EventBridge rejects "too complex" rules too, but
 * does not publish its thresholds; these numbers are Baton's own).
 */
export const PATTERN_LIMITS = Object.freeze({
  /** Characters of the compact JSON form; EventBridge's PutRule/TestEventPattern cap EventPattern at 4096. */
  maxPatternChars: 4096,
  /** Nesting depth of objects in a pattern (the root object is depth 1). */
  maxDepth: 16,
  /** Branches after `$or` expansion: every branch is evaluated per match. */
  maxBranches: 256,
  /** Unescaped `*` in a single wildcard value. */
  maxWildcardsPerValue: 16,
  /** Unescaped `*` summed over the whole pattern (wildcard and anything-but wildcard). */
  maxWildcardsPerPattern: 64,
  /** Characters in one wildcard value. */
  maxWildcardLength: 1024,
  /** Alternatives in one leaf array or anything-but list. */
  maxValuesPerField: 1024,
});

// ---------------------------------------------------------------------------
// Parsed form (internal)

type Scalar = string | number | boolean | null;

type Cond =
  | { t: 'exact'; v: Scalar }
  | { t: 'prefix' | 'suffix' | 'eic' | 'prefix-eic' | 'suffix-eic'; v: string }
  | { t: 'wildcard'; v: string }
  | { t: 'numeric'; lo: number; loOpen: boolean; hi: number; hiOpen: boolean }
  | { t: 'exists'; v: boolean }
  | { t: 'cidr'; family: 4 | 16; lo: Uint8Array; hi: Uint8Array }
  | { t: 'ab-string'; v: string[] }
  | { t: 'ab-number'; v: number[] }
  | { t: 'ab-prefix' | 'ab-suffix' | 'ab-eic' | 'ab-wildcard'; v: string[] };

interface LeafSpec {
  conds: Cond[];
}

interface FieldSpec {
  segs: string[];
  leaf: LeafSpec;
}

/** One `$or` branch: path key -> field, insertion order = pattern order. */
type Branch = Map<string, FieldSpec>;

interface ParseState {
  branches: Branch[];
  stars: number;
}

const OPERATORS = new Set([
  'prefix', 'suffix', 'anything-but', 'numeric', 'exists', 'equals-ignore-case', 'wildcard', 'cidr',
]);

// event-ruler refuses these (and some reserved future names) as field names inside `$or`.
const RESERVED_IN_OR = new Set([
  'exactly', 'equals-ignore-case', 'prefix', 'suffix', 'anything-but', 'exists', 'wildcard', 'numeric',
  'cidr', '=', '<', '<=', '>', '>=', 'regex', 'not-wildcard', 'not-equals-ignore-case', 'date-after',
  'date-on-or-after', 'date-before', 'date-on-or-before', 'in-date-range', 'ip-address-in-range',
  'ip-address-not-in-range',
]);

// ---------------------------------------------------------------------------
// Validation / parsing

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length}`;
  switch (typeof v) {
    case 'string': return `string ${JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)}`;
    case 'number': return `number ${String(v)}`;
    case 'boolean': return `boolean ${String(v)}`;
    case 'object': return 'an object';
    default: return typeof v;
  }
}

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

function childPath(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  return IDENT.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function fail(path: string, message: string): never {
  throw new InvalidPatternError(path, message);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parsePattern(pattern: unknown): ParseState {
  if (!isPlainObject(pattern)) {
    fail('$', `expected the pattern to be a JSON object, received ${describe(pattern)}`);
  }
  const st: ParseState = { branches: [], stars: 0 };
  parseObject(st, pattern, [], '$', false, 1);
  // Measured after parsing: the depth guard has already refused cyclic input.
  const size = JSON.stringify(pattern).length;
  if (size > PATTERN_LIMITS.maxPatternChars) {
    fail('$', `pattern is ${size} characters of JSON, more than ${PATTERN_LIMITS.maxPatternChars}`);
  }
  return st;
}

function parseObject(
  st: ParseState, obj: Record<string, unknown>, segs: string[], path: string, inOr: boolean, depth: number,
): void {
  if (depth > PATTERN_LIMITS.maxDepth) {
    fail(path, `pattern nesting is deeper than ${PATTERN_LIMITS.maxDepth} levels`);
  }
  const keys = Object.keys(obj);
  if (keys.length === 0) fail(path, 'expected a non-empty object, received an empty object');
  for (const key of keys) {
    const value = obj[key];
    const p = childPath(path, key);
    if (key === '$or') {
      parseOr(st, value, segs, p, depth);
      continue;
    }
    if (inOr && RESERVED_IN_OR.has(key)) {
      fail(p, `"${key}" is a reserved operator name and cannot be used as a field name inside $or`);
    }
    if (Array.isArray(value)) {
      const leaf = parseLeaf(st, value, p);
      writeField(st, [...segs, key], leaf);
    } else if (isPlainObject(value)) {
      parseObject(st, value, [...segs, key], p, inOr, depth + 1);
    } else {
      fail(p, `expected an array of match values or a nested object, received ${describe(value)}`);
    }
  }
}

function writeField(st: ParseState, segs: string[], leaf: LeafSpec): void {
  if (st.branches.length === 0) st.branches.push(new Map());
  const key = JSON.stringify(segs);
  for (const b of st.branches) {
    // Later writes replace earlier ones, as in event-ruler's default compile.
    b.delete(key);
    b.set(key, { segs, leaf });
  }
}

function parseOr(st: ParseState, value: unknown, segs: string[], path: string, depth: number): void {
  if (!Array.isArray(value)) {
    fail(path, `expected $or to be an array of at least 2 objects, received ${describe(value)}`);
  }
  if (value.length < 2) {
    fail(path, `expected $or to hold at least 2 objects, received ${describe(value)}`);
  }
  const current = st.branches;
  const out: Branch[] = [];
  value.forEach((item, i) => {
    const p = childPath(path, i);
    if (!isPlainObject(item)) fail(p, `expected an object inside $or, received ${describe(item)}`);
    const forked: Branch[] = current.length === 0 ? [new Map()] : current.map((b) => new Map(b));
    st.branches = forked;
    parseObject(st, item, segs, p, true, depth + 1);
    out.push(...st.branches);
    if (out.length > PATTERN_LIMITS.maxBranches) {
      fail(path, `$or expands to more than ${PATTERN_LIMITS.maxBranches} branches`);
    }
  });
  st.branches = out;
}

function parseLeaf(st: ParseState, arr: unknown[], path: string): LeafSpec {
  if (arr.length === 0) fail(path, 'expected a non-empty array of match values, received an empty array');
  if (arr.length > PATTERN_LIMITS.maxValuesPerField) {
    fail(path, `more than ${PATTERN_LIMITS.maxValuesPerField} match values`);
  }
  const conds: Cond[] = [];
  arr.forEach((v, i) => {
    const p = childPath(path, i);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') {
      conds.push({ t: 'exact', v });
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) fail(p, `expected a finite JSON number, received ${describe(v)}`);
      conds.push({ t: 'exact', v });
    } else if (isPlainObject(v)) {
      conds.push(parseOperator(st, v, p));
    } else {
      fail(p, `expected a string, number, boolean, null or operator object, received ${describe(v)}`);
    }
  });
  return { conds };
}

function singleKey(obj: Record<string, unknown>, path: string, what: string): [string, unknown] {
  const keys = Object.keys(obj);
  if (keys.length !== 1) {
    fail(path, `expected ${what} with exactly one key, received an object with ${keys.length} keys` +
      (keys.length ? ` (${keys.map((k) => JSON.stringify(k)).join(', ')})` : ''));
  }
  const k = keys[0] as string;
  return [k, obj[k]];
}

function expectString(v: unknown, path: string, what: string): string {
  if (typeof v !== 'string') fail(path, `expected a string for ${what}, received ${describe(v)}`);
  return v;
}

function parseOperator(st: ParseState, obj: Record<string, unknown>, path: string): Cond {
  const [op, arg] = singleKey(obj, path, 'an operator object');
  const p = childPath(path, op);
  if (!OPERATORS.has(op)) {
    fail(p, `unknown operator "${op}", expected one of ${[...OPERATORS].join(', ')}`);
  }
  switch (op) {
    case 'prefix':
    case 'suffix': {
      if (isPlainObject(arg)) {
        const [inner, s] = singleKey(arg, p, `a "${op}" modifier object`);
        if (inner !== 'equals-ignore-case') {
          fail(childPath(p, inner), `unknown "${op}" modifier "${inner}", expected "equals-ignore-case"`);
        }
        const v = expectString(s, childPath(p, inner), `"${op}" equals-ignore-case`);
        return { t: op === 'prefix' ? 'prefix-eic' : 'suffix-eic', v };
      }
      return { t: op, v: expectString(arg, p, `"${op}"`) };
    }
    case 'equals-ignore-case':
      return { t: 'eic', v: expectString(arg, p, '"equals-ignore-case"') };
    case 'wildcard': {
      const v = expectString(arg, p, '"wildcard"');
      st.stars += checkWildcard(v, p);
      checkStarBudget(st, p);
      return { t: 'wildcard', v };
    }
    case 'exists':
      if (typeof arg !== 'boolean') fail(p, `expected true or false for "exists", received ${describe(arg)}`);
      return { t: 'exists', v: arg };
    case 'numeric':
      return parseNumeric(arg, p);
    case 'cidr':
      return parseCidr(expectString(arg, p, '"cidr"'), p);
    default:
      return parseAnythingBut(st, arg, p);
  }
}

const NUM_OPS = new Set(['=', '<', '<=', '>', '>=']);

function parseNumeric(arg: unknown, path: string): Cond {
  if (!Array.isArray(arg)) fail(path, `expected an array like [">", 0, "<=", 5], received ${describe(arg)}`);
  const num = (i: number, op: string): number => {
    const v = arg[i];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      fail(childPath(path, i), `expected a finite number after "${op}", received ${describe(v)}`);
    }
    return v;
  };
  const op0 = arg[0];
  if (typeof op0 !== 'string' || !NUM_OPS.has(op0)) {
    fail(childPath(path, 0), `expected one of "=", "<", "<=", ">", ">=", received ${describe(op0)}`);
  }
  if (arg.length < 2) fail(path, `expected a number after "${op0}", received nothing`);
  const v0 = num(1, op0);
  const tooMany = (): never =>
    fail(path, `too many elements in numeric expression (${arg.length}); "${op0}" ${
      op0 === '>' || op0 === '>=' ? 'may only be followed by "<" or "<=" and a number' : 'must stand alone'}`);
  switch (op0) {
    case '=':
      if (arg.length !== 2) tooMany();
      return { t: 'numeric', lo: v0, loOpen: false, hi: v0, hiOpen: false };
    case '<':
    case '<=':
      if (arg.length !== 2) tooMany();
      return { t: 'numeric', lo: -Number.MAX_VALUE, loOpen: false, hi: v0, hiOpen: op0 === '<' };
    default: {
      if (arg.length === 2) return { t: 'numeric', lo: v0, loOpen: op0 === '>', hi: Number.MAX_VALUE, hiOpen: false };
      if (arg.length !== 4) tooMany();
      const op1 = arg[2];
      if (op1 !== '<' && op1 !== '<=') {
        fail(childPath(path, 2), `expected "<" or "<=" as the upper bound operator, received ${describe(op1)}`);
      }
      const v1 = num(3, op1);
      if (!(v0 < v1)) fail(path, `expected the lower bound ${v0} to be less than the upper bound ${v1}`);
      return { t: 'numeric', lo: v0, loOpen: op0 === '>', hi: v1, hiOpen: op1 === '<' };
    }
  }
}

function parseCidr(s: string, path: string): Cond {
  const slash = s.indexOf('/');
  if (slash < 0 || s.indexOf('/', slash + 1) >= 0) fail(path, `malformed CIDR ${JSON.stringify(s)}, expected one "/"`);
  const maskText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(maskText)) {
    fail(path, `malformed CIDR ${JSON.stringify(s)}, mask bits must be a non-negative integer`);
  }
  const bits = Number(maskText);
  const family = parseIp(s.slice(0, slash), ipScratch);
  if (family === 0) fail(path, `malformed CIDR ${JSON.stringify(s)}, ${JSON.stringify(s.slice(0, slash))} is not an IP address`);
  // event-ruler accepts /0../31 and /0../127; a single address is written as a plain string.
  const max = family === 4 ? 31 : 127;
  if (bits > max) {
    fail(path, `malformed CIDR ${JSON.stringify(s)}, ${family === 4 ? 'IPv4' : 'IPv6'} mask bits must be 0..${max} ` +
      '(match a single address with an exact string instead)');
  }
  const lo = new Uint8Array(family);
  const hi = new Uint8Array(family);
  for (let i = 0; i < family; i++) {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    const b = ipScratch[i] as number;
    lo[i] = b & mask;
    hi[i] = (b & mask) | (~mask & 0xff);
  }
  return { t: 'cidr', family, lo, hi };
}

function parseAnythingBut(st: ParseState, arg: unknown, path: string): Cond {
  if (isPlainObject(arg)) {
    const [inner, v] = singleKey(arg, path, 'an anything-but modifier object');
    const p = childPath(path, inner);
    const kinds: Record<string, 'ab-prefix' | 'ab-suffix' | 'ab-eic' | 'ab-wildcard'> = {
      prefix: 'ab-prefix', suffix: 'ab-suffix', 'equals-ignore-case': 'ab-eic', wildcard: 'ab-wildcard',
    };
    const t = Object.hasOwn(kinds, inner) ? kinds[inner] : undefined;
    if (t === undefined) {
      fail(p, `unknown anything-but modifier "${inner}", expected prefix, suffix, equals-ignore-case or wildcard`);
    }
    const list = Array.isArray(v) ? v : [v];
    if (list.length === 0) fail(p, 'expected a non-empty list of strings, received an empty array');
    if (list.length > PATTERN_LIMITS.maxValuesPerField) fail(p, `more than ${PATTERN_LIMITS.maxValuesPerField} values`);
    const out: string[] = [];
    list.forEach((s, i) => {
      const ip = Array.isArray(v) ? childPath(p, i) : p;
      const str = expectString(s, ip, `anything-but "${inner}"`);
      if ((t === 'ab-prefix' || t === 'ab-suffix') && str === '') {
        fail(ip, `expected a non-empty string for anything-but "${inner}", received an empty string`);
      }
      if (t === 'ab-wildcard') {
        st.stars += checkWildcard(str, ip);
        checkStarBudget(st, ip);
      }
      out.push(str);
    });
    return { t, v: out };
  }
  const list = Array.isArray(arg) ? arg : [arg];
  if (list.length === 0) fail(path, 'expected a non-empty list of strings or numbers, received an empty array');
  if (list.length > PATTERN_LIMITS.maxValuesPerField) fail(path, `more than ${PATTERN_LIMITS.maxValuesPerField} values`);
  let strings = 0;
  let numbers = 0;
  list.forEach((x, i) => {
    const p = Array.isArray(arg) ? childPath(path, i) : path;
    if (typeof x === 'string') strings++;
    else if (typeof x === 'number' && Number.isFinite(x)) numbers++;
    else fail(p, `expected a string or a number for anything-but, received ${describe(x)}`);
  });
  if (strings > 0 && numbers > 0) {
    fail(path, 'expected anything-but values to be all strings or all numbers, received a mix');
  }
  return strings > 0 ? { t: 'ab-string', v: list as string[] } : { t: 'ab-number', v: list as number[] };
}

/** Validates wildcard syntax; returns the number of unescaped `*`. */
function checkWildcard(v: string, path: string): number {
  if (v.length > PATTERN_LIMITS.maxWildcardLength) {
    fail(path, `wildcard value longer than ${PATTERN_LIMITS.maxWildcardLength} characters`);
  }
  let stars = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 42 /* * */) {
      if (v.charCodeAt(i + 1) === 42) {
        fail(path, `consecutive wildcard characters "**" at position ${i} of ${describe(v)}`);
      }
      stars++;
    } else if (c === 92 /* \ */) {
      const n = v.charCodeAt(i + 1);
      if (n !== 42 && n !== 92) {
        fail(path, `invalid escape at position ${i} of ${describe(v)}; only \\* and \\\\ are allowed`);
      }
      i++;
    }
  }
  if (stars > PATTERN_LIMITS.maxWildcardsPerValue) {
    fail(path, `wildcard has ${stars} "*" characters, more than ${PATTERN_LIMITS.maxWildcardsPerValue}`);
  }
  return stars;
}

function checkStarBudget(st: ParseState, path: string): void {
  if (st.stars > PATTERN_LIMITS.maxWildcardsPerPattern) {
    fail(path, `pattern uses more than ${PATTERN_LIMITS.maxWildcardsPerPattern} wildcard "*" characters in total`);
  }
}

// ---------------------------------------------------------------------------
// IP addresses

const ipScratch = new Uint8Array(16);
const ipScratch2 = new Uint8Array(16);

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * Parses an IPv4 (dotted quad) or IPv6 literal into `out`, without allocating.
 * Returns 4, 16, or 0 when `s` is not an address. IPv4-mapped IPv6 addresses
 * come back as IPv4, as Java's InetAddress (used by event-ruler) does.
 */
function parseIp(s: string, out: Uint8Array): 0 | 4 | 16 {
  const len = s.length;
  if (len < 2 || len > 45) return 0;
  if (s.indexOf(':') < 0) {
    let part = 0;
    let i = 0;
    while (part < 4) {
      const start = i;
      let v = 0;
      while (i < len && isDigit(s.charCodeAt(i))) {
        v = v * 10 + (s.charCodeAt(i) - 48);
        i++;
      }
      const digits = i - start;
      // Leading zeros are refused: they are ambiguous (octal in some parsers).
      if (digits === 0 || digits > 3 || v > 255 || (digits > 1 && s.charCodeAt(start) === 48)) return 0;
      out[part++] = v;
      if (part < 4) {
        if (s.charCodeAt(i) !== 46) return 0;
        i++;
      }
    }
    return i === len ? 4 : 0;
  }
  // IPv6: groups of 1-4 hex digits, at most one "::".
  let n = 0;
  let gap = -1;
  let i = 0;
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return 0;
    gap = 0;
    i = 2;
  }
  const groups = ipGroups;
  while (i < len) {
    let v = 0;
    let d = 0;
    let h: number;
    while (i < len && (h = hexVal(s.charCodeAt(i))) >= 0) {
      v = v * 16 + h;
      i++;
      if (++d > 4) return 0;
    }
    if (d === 0 || n === 8) return 0;
    groups[n++] = v;
    if (i === len) break;
    if (s.charCodeAt(i) !== 58) return 0;
    i++;
    if (s.charCodeAt(i) === 58) {
      if (gap >= 0) return 0;
      gap = n;
      i++;
      if (i === len) break;
    } else if (i === len) {
      return 0;
    }
  }
  if (gap < 0 ? n !== 8 : n > 7) return 0;
  const zeros = 8 - n;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v = 0;
    if (gap >= 0 && k >= gap && k < gap + zeros) v = 0;
    else v = groups[g++] as number;
    out[2 * k] = v >> 8;
    out[2 * k + 1] = v & 0xff;
  }
  let mapped = out[10] === 0xff && out[11] === 0xff;
  for (let k = 0; mapped && k < 10; k++) if (out[k] !== 0) mapped = false;
  if (mapped) {
    out[0] = out[12] as number;
    out[1] = out[13] as number;
    out[2] = out[14] as number;
    out[3] = out[15] as number;
    return 4;
  }
  return 16;
}

const ipGroups = new Uint16Array(8);

function bytesInRange(b: Uint8Array, lo: Uint8Array, hi: Uint8Array, n: number): boolean {
  let i = 0;
  while (i < n && b[i] === lo[i]) i++;
  if (i < n && (b[i] as number) < (lo[i] as number)) return false;
  i = 0;
  while (i < n && b[i] === hi[i]) i++;
  return !(i < n && (b[i] as number) > (hi[i] as number));
}

// ---------------------------------------------------------------------------
// String predicates

type StrPred = (s: string) => boolean;
type NumPred = (n: number) => boolean;
type OtherPred = (v: boolean | null) => boolean;

const NO = (): boolean => false;
const YES = (): boolean => true;

function anyOf<T>(preds: ((x: T) => boolean)[]): (x: T) => boolean {
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
 * Case-insensitive comparison the way event-ruler does it: each UTF-16 unit
 * of the pattern accepts its own lower-case or upper-case form (Locale.ROOT).
 * mode 0 = whole string, 1 = prefix, 2 = suffix.
 */
function ignoreCase(p: string, mode: 0 | 1 | 2): StrPred {
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

/** Compiles a wildcard into literal segments matched with indexOf: O(n·m), no backtracking blow-up. */
function wildcard(p: string): StrPred {
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

function ipLooking(s: string): boolean {
  return parseIp(s, ipScratch2) !== 0;
}

// ---------------------------------------------------------------------------
// Leaf compilation

interface Leaf {
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

function compileLeaf(spec: LeafSpec): Leaf {
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

function rangePred(lo: number, loOpen: boolean, hi: number, hiOpen: boolean): NumPred {
  if (lo === hi) return (n) => n === lo;
  if (loOpen) return hiOpen ? (n) => n > lo && n < hi : (n) => n > lo && n <= hi;
  return hiOpen ? (n) => n >= lo && n < hi : (n) => n >= lo && n <= hi;
}

/** Tests the value found at a leaf path; arrays are searched element by element. */
function testLeaf(leaf: Leaf, v: unknown): boolean {
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

function testLeafArray(leaf: Leaf, arr: readonly unknown[]): -1 | 0 | 1 {
  let seen: -1 | 0 = -1;
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
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
          const r = testLeafArray(leaf, v);
          if (r === 1) return 1;
          if (r === 0) seen = 0;
        }
        break;
      default:
        break;
    }
  }
  return seen;
}

// ---------------------------------------------------------------------------
// Tree compilation

interface TreeNode {
  leaves: Map<string, Leaf>;
  children: Map<string, TreeNode>;
}

type NodeFn = (v: unknown) => boolean;

function buildTree(branch: Branch): TreeNode {
  const root: TreeNode = { leaves: new Map(), children: new Map() };
  for (const f of branch.values()) {
    let node = root;
    for (let i = 0; i < f.segs.length - 1; i++) {
      const k = f.segs[i] as string;
      let next = node.children.get(k);
      if (!next) {
        next = { leaves: new Map(), children: new Map() };
        node.children.set(k, next);
      }
      node = next;
    }
    node.leaves.set(f.segs[f.segs.length - 1] as string, compileLeaf(f.leaf));
  }
  return root;
}

/** The node's leaves in event-ruler's evaluation order: sorted by dotted relative path. */
function flatten(node: TreeNode, prefix: string[], out: { name: string; segs: string[]; absent: boolean }[]): void {
  for (const [k, leaf] of node.leaves) out.push({ name: [...prefix, k].join('.'), segs: [...prefix, k], absent: leaf.pureAbsent });
  for (const [k, child] of node.children) flatten(child, [...prefix, k], out);
}

function hasScalar(v: unknown): boolean {
  if (v === null) return true;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return true;
    case 'object':
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (hasScalar(v[i])) return true;
      }
      return false;
    default:
      return false;
  }
}

function presentAt(v: unknown, segs: readonly string[], i: number): boolean {
  if (i === segs.length) return hasScalar(v);
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) {
    for (let j = 0; j < v.length; j++) if (presentAt(v[j], segs, i)) return true;
    return false;
  }
  const k = segs[i] as string;
  return Object.hasOwn(v, k) && presentAt((v as Record<string, unknown>)[k], segs, i + 1);
}

const PROTO_KEYS = new Set(Object.getOwnPropertyNames(Object.prototype));

function compileNode(node: TreeNode): NodeFn {
  const order: { name: string; segs: string[]; absent: boolean }[] = [];
  flatten(node, [], order);
  order.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const allAbsent = order.every((o) => o.absent);
  // event-ruler checks an exists:false field against the array elements chosen
  // by fields sorted before it; with none chosen yet, the whole array counts.
  const leading: string[][] = [];
  for (const o of order) {
    if (!o.absent) break;
    leading.push(o.segs);
  }

  const fieldFns: ((o: Record<string, unknown>) => boolean)[] = [];
  // Leaves first (cheap and selective), nested objects after.
  for (const [k, leaf] of node.leaves) {
    fieldFns.push(PROTO_KEYS.has(k)
      ? (o) => testLeaf(leaf, Object.hasOwn(o, k) ? o[k] : undefined)
      : (o) => testLeaf(leaf, o[k]));
  }
  for (const [k, child] of node.children) {
    const fn = compileNode(child);
    fieldFns.push(PROTO_KEYS.has(k) ? (o) => fn(Object.hasOwn(o, k) ? o[k] : undefined) : (o) => fn(o[k]));
  }
  const n = fieldFns.length;
  const f0 = fieldFns[0] as (o: Record<string, unknown>) => boolean;
  const f1 = fieldFns[1];

  const onArray = (arr: readonly unknown[]): boolean => {
    for (let i = 0; i < leading.length; i++) if (presentAt(arr, leading[i] as string[], 0)) return false;
    if (allAbsent) return true;
    for (let i = 0; i < arr.length; i++) if (self(arr[i])) return true;
    return false;
  };
  const self: NodeFn = n === 1
    ? (v) => {
      if (typeof v !== 'object' || v === null) return allAbsent;
      if (Array.isArray(v)) return onArray(v);
      return f0(v as Record<string, unknown>);
    }
    : n === 2 && f1
      ? (v) => {
        if (typeof v !== 'object' || v === null) return allAbsent;
        if (Array.isArray(v)) return onArray(v);
        return f0(v as Record<string, unknown>) && f1(v as Record<string, unknown>);
      }
      : (v) => {
        if (typeof v !== 'object' || v === null) return allAbsent;
        if (Array.isArray(v)) return onArray(v);
        for (let i = 0; i < n; i++) if (!(fieldFns[i] as (o: Record<string, unknown>) => boolean)(v as Record<string, unknown>)) return false;
        return true;
      };
  return self;
}

// ---------------------------------------------------------------------------
// Public API

/** Throws {@link InvalidPatternError} when EventBridge (or Baton's complexity guard) would refuse `pattern`. */
export function validate(pattern: unknown): void {
  parsePattern(pattern);
}

/** Compiles `pattern` once into a predicate over parsed JSON documents. Throws InvalidPatternError. */
export function compilePattern(pattern: unknown): CompiledPattern {
  const st = parsePattern(pattern);
  const branches = st.branches;
  const roots = branches.map((b) => compileNode(buildTree(b)));
  const r0 = roots[0] as NodeFn;
  const isDoc = (doc: unknown): doc is object => typeof doc === 'object' && doc !== null && !Array.isArray(doc);
  const fn: (doc: unknown) => boolean = roots.length === 1
    ? (doc) => isDoc(doc) && r0(doc)
    : (doc) => {
      if (!isDoc(doc)) return false;
      for (let i = 0; i < roots.length; i++) if ((roots[i] as NodeFn)(doc)) return true;
      return false;
    };

  const paths = new Set<string>();
  for (const b of branches) for (const f of b.values()) paths.add(f.segs.join('.'));

  const keysFor = (path: string | readonly string[]): ReadonlySet<string> | undefined => {
    const key = JSON.stringify(typeof path === 'string' ? [path] : [...path]);
    const union = new Set<string>();
    for (const b of branches) {
      const f = b.get(key);
      if (!f) return undefined;
      const exact = compileLeaf(f.leaf).exactOnly;
      if (!exact) return undefined;
      for (const v of exact) union.add(v);
    }
    return union;
  };

  return Object.assign(fn, {
    paths: Object.freeze([...paths].sort()),
    branches: branches.length,
    indexKeys: keysFor,
  }) as CompiledPattern;
}

/**
 * For a rule index: the exact string values a pattern requires at `path`
 * (a top-level field name such as `"source"`, or a segment list for a nested
 * field), or `undefined` when the pattern does not pin that path to exact
 * strings in every `$or` branch (field absent in a branch, or using prefix,
 * numeric, anything-but, exists, an IP literal, a number...). An event can
 * only match if its value at `path` is one of the returned strings, so a rule
 * can be filed under each of them. Throws InvalidPatternError.
 */
export function indexKeys(pattern: unknown, path: string | readonly string[]): ReadonlySet<string> | undefined {
  return compiled(pattern).indexKeys(path);
}

const cache = new WeakMap<object, CompiledPattern>();

function compiled(pattern: unknown): CompiledPattern {
  if (typeof pattern !== 'object' || pattern === null) return compilePattern(pattern);
  let c = cache.get(pattern);
  if (!c) {
    c = compilePattern(pattern);
    cache.set(pattern, c);
  }
  return c;
}

/**
 * One-off match. The compiled form is cached per pattern object (by identity),
 * so do not mutate a pattern object after passing it here; prefer compilePattern.
 */
export function matches(pattern: unknown, doc: unknown): boolean {
  return compiled(pattern)(doc);
}
