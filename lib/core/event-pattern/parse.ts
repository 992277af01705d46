// Pattern validation and parsing: EventBridge's pattern JSON into `$or` branches, each a map from
// field path to the leaf's conditions. Every refusal is an InvalidPatternError that names the JSON
// path of the offending element and what was expected.
import { BatonError } from '../../contract/errors.ts';
import { parseIp, ipScratch } from './ip.ts';

/** Error thrown for any pattern EventBridge would reject (or Baton's guard refuses). */
export class InvalidPatternError extends BatonError<'invalid-pattern'> {
  /** JSON path of the offending element inside the pattern, e.g. `$.detail.n[0].numeric[2]`. */
  readonly path: string;

  constructor(path: string, message: string) {
    super('invalid-pattern', `Invalid event pattern at ${path}: ${message}`);
    this.path = path;
  }
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

export type Scalar = string | number | boolean | null;

export type Cond =
  | { t: 'exact'; v: Scalar }
  | { t: 'prefix' | 'suffix' | 'eic' | 'prefix-eic' | 'suffix-eic'; v: string }
  | { t: 'wildcard'; v: string }
  | { t: 'numeric'; lo: number; loOpen: boolean; hi: number; hiOpen: boolean }
  | { t: 'exists'; v: boolean }
  | { t: 'cidr'; family: 4 | 16; lo: Uint8Array; hi: Uint8Array }
  | { t: 'ab-string'; v: string[] }
  | { t: 'ab-number'; v: number[] }
  | { t: 'ab-prefix' | 'ab-suffix' | 'ab-eic' | 'ab-wildcard'; v: string[] };

export interface LeafSpec {
  conds: Cond[];
}

export interface FieldSpec {
  segs: string[];
  leaf: LeafSpec;
}

/** One `$or` branch: path key -> field, insertion order = pattern order. */
export type Branch = Map<string, FieldSpec>;

export interface ParseState {
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

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function parsePattern(pattern: unknown): ParseState {
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
