// A pattern's fields as a tree of nodes, one per object level, compiled into one predicate per
// branch; the public single-pattern API (compilePattern, validate, indexKeys, matches).
import { parsePattern, type Branch } from './parse.ts';
import { compileLeaf, testLeaf, type Leaf } from './leaf.ts';

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

/**
 * True when `test` holds for a value inside `arr` that is not itself an array, at any depth of
 * nesting. An explicit stack, not recursion: a document of 100,000 nested arrays cannot overflow.
 */
function someNested(arr: readonly unknown[], test: (v: unknown) => boolean): boolean {
  let outer: (readonly unknown[])[] | undefined;
  let resume: number[] | undefined;
  let cur = arr;
  let i = 0;
  for (;;) {
    if (i === cur.length) {
      if (outer === undefined || outer.length === 0) return false;
      cur = outer.pop()!;
      i = resume!.pop()!;
      continue;
    }
    const v = cur[i++];
    if (Array.isArray(v)) {
      (outer ??= []).push(cur);
      (resume ??= []).push(i);
      cur = v;
      i = 0;
    } else if (test(v)) {
      return true;
    }
  }
}

function isScalar(v: unknown): boolean {
  if (v === null) return true;
  const t = typeof v;
  return t === 'string' || t === 'number' || t === 'boolean';
}

function hasScalar(v: unknown): boolean {
  return Array.isArray(v) ? someNested(v, isScalar) : isScalar(v);
}

/** Whether a scalar sits at `segs` below `v`, looking through arrays at every level. */
function presentAt(v: unknown, segs: readonly string[]): boolean {
  if (segs.length === 0) return hasScalar(v);
  if (typeof v !== 'object' || v === null) return false;
  if (Array.isArray(v)) return someNested(v, (x) => presentAt(x, segs));
  const k = segs[0] as string;
  return Object.hasOwn(v, k) && presentAt((v as Record<string, unknown>)[k], segs.slice(1));
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
  const fields: (o: Record<string, unknown>) => boolean = n === 1
    ? f0
    : n === 2 && f1
      ? (o) => f0(o) && f1(o)
      : (o) => {
        for (let i = 0; i < n; i++) if (!(fieldFns[i] as (o: Record<string, unknown>) => boolean)(o)) return false;
        return true;
      };
  // An element that is a scalar fails (allAbsent is false by then); nested arrays are transparent.
  const elementMatches = (e: unknown): boolean => typeof e === 'object' && e !== null && fields(e as Record<string, unknown>);

  const onArray = (arr: readonly unknown[]): boolean => {
    for (let i = 0; i < leading.length; i++) if (presentAt(arr, leading[i] as string[])) return false;
    if (allAbsent) return true;
    return someNested(arr, elementMatches);
  };
  return (v) => {
    if (typeof v !== 'object' || v === null) return allAbsent;
    if (Array.isArray(v)) return onArray(v);
    return fields(v as Record<string, unknown>);
  };
}

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
