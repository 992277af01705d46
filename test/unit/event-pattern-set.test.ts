// The many-patterns matcher (PatternSet) against the single-pattern one (compilePattern): for random
// patterns over every operator and random documents (arrays of objects, nested arrays, nulls, empty
// arrays, keys Object.prototype also has, case-folding corner cases, IP literals written two ways),
// both must return the same answer for every pattern, also after live additions and removals.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { compilePattern, InvalidEventTextError, PatternSet, validate } from '../../lib/core/event-pattern/index.ts';
import { matchCases } from './event-pattern.cases.ts';

// A small vocabulary, so random patterns and random documents meet often.
const STRINGS = ['x', 'X', 'ab', 'abc', 'ABC', 'aBc', 'k', 'K', '\u212A', 'ß', 'SS', 'ss', 'é', 'É', 'straße', 'STRASSE', '', 'a*c', 'a\\c',
  '10.0.0.1', '10.0.0.01', '10.1.2.3', '::ffff:10.0.0.1', '2001:db8::1', '2001:DB8:0::1', '5', 'null', 'ǅ', 'ǆ', 'Ǆ', 'ﬀ', 'İ', 'i'];
const NUMBERS = [0, -0, 1, 5, 5.5, -3, 1e9, 0.1, Number.MAX_VALUE, -Number.MAX_VALUE, 300];
const KEYS = ['a', 'b', 'c', 'constructor', 'detail'];
const INNER = ['x', 'y', 'items', 'toString'];
const ITEM = ['k', 'v'];

const str = fc.constantFrom(...STRINGS);
const num = fc.constantFrom(...NUMBERS);
const wildcardValue = fc.constantFrom('a*', '*c', 'a*c', '*', 'x', '*b*', '1*.*', 'a\\*c', '*S*', 'ab*', '*.1', 'str*e');
const cidr = fc.constantFrom('10.0.0.0/8', '10.0.0.0/31', '0.0.0.0/0', '10.1.0.0/16', '2001:db8::/32', '::ffff:10.0.0.0/104', '10.0.0.0/24');

const condition: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: str },
  { weight: 2, arbitrary: num },
  fc.constantFrom(true, false, null),
  str.map((v) => ({ prefix: v })),
  str.map((v) => ({ suffix: v })),
  str.map((v) => ({ 'equals-ignore-case': v })),
  str.map((v) => ({ prefix: { 'equals-ignore-case': v } })),
  str.map((v) => ({ suffix: { 'equals-ignore-case': v } })),
  wildcardValue.map((v) => ({ wildcard: v })),
  fc.tuple(fc.constantFrom('>', '>=', '<', '<=', '='), num).map(([op, n]) => ({ numeric: [op, n] })),
  fc.tuple(fc.constantFrom('>', '>='), num, fc.constantFrom('<', '<='), num).map(([a, x, b, y]) => ({ numeric: [a, Math.min(x, y), b, Math.max(x, y)] })),
  fc.boolean().map((v) => ({ exists: v })),
  cidr.map((v) => ({ cidr: v })),
  fc.array(str, { minLength: 1, maxLength: 3 }).map((v) => ({ 'anything-but': v })),
  str.map((v) => ({ 'anything-but': v })),
  fc.array(num, { minLength: 1, maxLength: 3 }).map((v) => ({ 'anything-but': v })),
  fc.array(str.filter((s) => s !== ''), { minLength: 1, maxLength: 2 }).map((v) => ({ 'anything-but': { prefix: v.length === 1 ? v[0] : v } })),
  fc.array(str.filter((s) => s !== ''), { minLength: 1, maxLength: 2 }).map((v) => ({ 'anything-but': { suffix: v } })),
  fc.array(str, { minLength: 1, maxLength: 2 }).map((v) => ({ 'anything-but': { 'equals-ignore-case': v } })),
  fc.array(wildcardValue, { minLength: 1, maxLength: 2 }).map((v) => ({ 'anything-but': { wildcard: v } })),
);
const leaf = fc.array(condition, { minLength: 1, maxLength: 3 });

type Obj = Record<string, unknown>;
const itemObject: fc.Arbitrary<Obj> = fc.dictionary(fc.constantFrom(...ITEM), leaf, { minKeys: 1, maxKeys: 2 });
const innerObject: fc.Arbitrary<Obj> = fc.dictionary(
  fc.constantFrom(...INNER),
  fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 1, arbitrary: itemObject }),
  { minKeys: 1, maxKeys: 3 },
).map((o) => ('items' in o && Array.isArray(o.items) ? o : o));
const orOf = (branch: fc.Arbitrary<Obj>) => fc.array(branch, { minLength: 2, maxLength: 3 });
const patternArb: fc.Arbitrary<Obj> = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...KEYS), fc.oneof({ weight: 3, arbitrary: leaf }, { weight: 2, arbitrary: innerObject }), { minKeys: 0, maxKeys: 3 }),
    fc.option(orOf(fc.dictionary(fc.constantFrom(...KEYS), leaf, { minKeys: 1, maxKeys: 2 })), { freq: 4 }),
    fc.option(orOf(innerObject), { freq: 5 }),
  )
  .map(([base, topOr, detailOr]) => {
    const p: Obj = { ...base };
    if (topOr) p.$or = topOr;
    if (detailOr) p.detail = { ...(typeof p.detail === 'object' && !Array.isArray(p.detail) ? (p.detail as Obj) : {}), $or: detailOr };
    return p;
  })
  .filter((p) => {
    try {
      validate(p);
      return Object.keys(p).length > 0;
    } catch {
      return false;
    }
  });

const scalar = fc.oneof(str, num, fc.constantFrom(true, false, null, Infinity));
const docArb: fc.Arbitrary<Obj> = fc.letrec<{ value: unknown; item: Obj; inner: Obj; doc: Obj }>((tie) => ({
  value: fc.oneof(
    { weight: 6, arbitrary: scalar },
    { weight: 2, arbitrary: fc.array(scalar, { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(fc.array(scalar, { maxLength: 2 }), { maxLength: 2 }) },
    { weight: 1, arbitrary: fc.constantFrom([], {}) },
  ),
  item: fc.dictionary(fc.constantFrom(...ITEM), tie('value'), { maxKeys: 2 }),
  inner: fc.dictionary(
    fc.constantFrom(...INNER),
    fc.oneof(
      { weight: 4, arbitrary: tie('value') },
      { weight: 2, arbitrary: fc.array(tie('item'), { maxLength: 3 }) },
      { weight: 1, arbitrary: tie('item') },
    ),
    { maxKeys: 4 },
  ),
  doc: fc.dictionary(
    fc.constantFrom(...KEYS),
    fc.oneof({ weight: 4, arbitrary: tie('value') }, { weight: 3, arbitrary: tie('inner') }, { weight: 1, arbitrary: fc.array(tie('inner'), { maxLength: 3 }) }),
    { maxKeys: 5 },
  ),
})).doc;

const compiled = new WeakMap<object, (doc: unknown) => boolean>();
const single = (p: unknown): ((doc: unknown) => boolean) => {
  let c = compiled.get(p as object);
  if (!c) compiled.set(p as object, (c = compilePattern(p)));
  return c;
};

function expectAgreement(set: PatternSet<string>, patterns: ReadonlyMap<string, unknown>, doc: unknown): void {
  const got = set.matchingDoc(doc);
  expect(new Set(got).size).toBe(got.length); // each pattern at most once
  const expected = [...patterns].filter(([, p]) => single(p)(doc)).map(([k]) => k).sort();
  expect([...got].sort()).toEqual(expected);
}

describe('PatternSet agrees with compilePattern', () => {
  it('on the conformance corpus, every pattern against every event', () => {
    const set = new PatternSet<string>();
    const patterns = new Map(matchCases.map((c, i) => [String(i), c.pattern]));
    set.setAll([...patterns].map(([k, p]) => [k, p, k] as const));
    for (const c of matchCases) expectAgreement(set, patterns, c.event);
  });

  it('for every operator on every value of the vocabulary, on one field (exhaustive)', () => {
    // One set holds every single-condition pattern the vocabulary allows on one field, so values
    // meet bounds exactly, case variants share trie nodes (k, K and KELVIN SIGN), and one
    // anything-but excludes what another does not.
    const values: unknown[] = [...STRINGS, ...NUMBERS, true, false, null];
    const conditions: unknown[] = [...values];
    for (const v of STRINGS) {
      conditions.push({ prefix: v }, { suffix: v }, { 'equals-ignore-case': v }, { prefix: { 'equals-ignore-case': v } }, { suffix: { 'equals-ignore-case': v } });
      conditions.push({ wildcard: v.replace(/\\/g, '\\\\') }, { 'anything-but': v }, { 'anything-but': { 'equals-ignore-case': v } });
      if (v !== '') conditions.push({ 'anything-but': { prefix: v } }, { 'anything-but': { suffix: v } });
    }
    for (const n of NUMBERS) {
      for (const op of ['>', '>=', '<', '<=', '=']) conditions.push({ numeric: [op, n] });
      conditions.push({ 'anything-but': n }, { numeric: ['>', n - 1, '<=', n] }, { numeric: ['>=', n, '<', n + 1] });
    }
    for (const c of ['10.0.0.0/8', '10.0.0.0/31', '0.0.0.0/0', '10.1.0.0/16', '2001:db8::/32', '::ffff:10.0.0.0/104', '10.0.0.1/30']) conditions.push({ cidr: c });
    conditions.push({ exists: true }, { exists: false }, { wildcard: '*' }, { wildcard: 'a*c' }, { wildcard: '*b*' }, { wildcard: 'S*E' });
    const patterns = new Map<string, unknown>();
    conditions.forEach((c, i) => {
      const p = { f: [c] };
      try {
        validate(p);
        patterns.set(`c${i}`, p);
      } catch {
        // the vocabulary also makes values an operator refuses
      }
    });
    expect(patterns.size).toBeGreaterThan(450);
    const set = new PatternSet<string>();
    set.setAll([...patterns].map(([k, p]) => [k, p, k] as const));
    const docs: unknown[] = [{}, { f: [] }, { f: {} }, { f: Infinity }, { f: -Infinity }];
    for (const v of values) docs.push({ f: v }, { f: [v, 'zzz'] }, { f: [[v]] });
    for (const a of STRINGS) for (const b of ['', 'x', 'e', 'SS', '\u212A']) docs.push({ f: a + b }, { f: b + a });
    for (const d of docs) expectAgreement(set, patterns, d);
  }, 180_000);

  it('for random patterns over every operator and random documents (property)', () => {
    fc.assert(
      fc.property(fc.array(patternArb, { minLength: 1, maxLength: 12 }), fc.array(docArb, { minLength: 1, maxLength: 6 }), (ps, docs) => {
        const patterns = new Map(ps.map((p, i) => [`p${i}`, p as unknown]));
        const set = new PatternSet<string>();
        set.setAll([...patterns].map(([k, p]) => [k, p, k] as const));
        for (const d of docs) expectAgreement(set, patterns, d);
      }),
      { numRuns: 300 },
    );
  }, 180_000);

  // Few values and keys, many arrays of objects: where array consistency, absence and the leading
  // exists:false rule decide.
  it('for patterns and documents shaped around arrays of objects (property)', () => {
    const v = fc.constantFrom('x', 'y', 1, null);
    const cond = fc.oneof(
      { weight: 3, arbitrary: v },
      fc.boolean().map((e) => ({ exists: e })),
      v.filter((x) => typeof x === 'string').map((x) => ({ 'anything-but': [x] })),
      fc.constant({ prefix: 'x' }),
      fc.constant({ numeric: ['>', 0] }),
    );
    const leafS = fc.array(cond, { minLength: 1, maxLength: 2 });
    const node: fc.Arbitrary<Obj> = fc.letrec<{ node: Obj }>((tie) => ({
      node: fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof({ maxDepth: 3 }, { weight: 3, arbitrary: leafS }, { weight: 1, arbitrary: tie('node') }), { minKeys: 1, maxKeys: 3 }),
    })).node;
    const pattern = fc
      .tuple(node, fc.option(fc.array(node, { minLength: 2, maxLength: 2 }), { freq: 3 }))
      .map(([n, or]) => (or ? { ...n, $or: or } : n))
      .filter((p) => {
        try {
          validate(p);
          return true;
        } catch {
          return false;
        }
      });
    const doc: fc.Arbitrary<Obj> = fc.letrec<{ val: unknown; obj: Obj }>((tie) => ({
      val: fc.oneof(
        { maxDepth: 4 },
        { weight: 3, arbitrary: v },
        { weight: 2, arbitrary: tie('obj') },
        { weight: 3, arbitrary: fc.array(fc.oneof(v, tie('obj'), fc.array(tie('obj'), { maxLength: 2 })), { maxLength: 3 }) },
      ),
      obj: fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('val'), { maxKeys: 3 }),
    })).obj;
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 8 }), fc.array(doc, { minLength: 1, maxLength: 6 }), (ps, docs) => {
        const patterns = new Map(ps.map((p, i) => [`p${i}`, p as unknown]));
        const set = new PatternSet<string>();
        set.setAll([...patterns].map(([k, p]) => [k, p, k] as const));
        for (const d of docs) expectAgreement(set, patterns, d);
      }),
      { numRuns: 300 },
    );
  }, 180_000);

  // Arrays of objects inside arrays of objects, where patterns share the outer array and differ on
  // the inner one: an element's serial must be found through the elements around it.
  it('for nested arrays of objects with fields spread over three levels (property)', () => {
    const cond = fc.constantFrom<unknown>(1, 2, { exists: true }, { exists: false }, { 'anything-but': [1] }, { numeric: ['>', 1] });
    const leafS = fc.array(cond, { minLength: 1, maxLength: 2 });
    const deepest = fc.dictionary(fc.constantFrom('x', 'y'), leafS, { minKeys: 1, maxKeys: 2 });
    const inner = fc.record({ x: leafS, y: leafS, n: deepest }, { requiredKeys: [] }).filter((o) => Object.keys(o).length > 0);
    const outer = fc.record({ x: leafS, y: leafS, m: inner }, { requiredKeys: [] }).filter((o) => Object.keys(o).length > 0);
    const pattern = fc.record({ a: outer, b: leafS }, { requiredKeys: ['a'] }).filter((p) => {
      try {
        validate(p);
        return true;
      } catch {
        return false;
      }
    });
    const v = fc.constantFrom<unknown>(1, 2, 'z', null);
    const obj = (keys: string[], extra: Record<string, fc.Arbitrary<unknown>> = {}) =>
      fc.record({ ...Object.fromEntries(keys.map((k) => [k, v])), ...extra }, { requiredKeys: [] });
    const deepestDoc = fc.oneof(obj(['x', 'y']), fc.array(obj(['x', 'y']), { maxLength: 3 }));
    const innerObj = obj(['x', 'y'], { n: deepestDoc });
    const innerDoc = fc.oneof(innerObj, fc.array(innerObj, { maxLength: 3 }));
    const outerObj = obj(['x', 'y'], { m: innerDoc });
    const doc = fc.record({ a: fc.oneof(outerObj, fc.array(outerObj, { maxLength: 3 }), fc.array(fc.array(outerObj, { maxLength: 2 }), { maxLength: 2 })), b: v }, { requiredKeys: [] });
    fc.assert(
      fc.property(fc.array(pattern, { minLength: 1, maxLength: 8 }), fc.array(doc, { minLength: 1, maxLength: 8 }), (ps, docs) => {
        const patterns = new Map(ps.map((p, i) => [`p${i}`, p as unknown]));
        const set = new PatternSet<string>();
        set.setAll([...patterns].map(([k, p]) => [k, p, k] as const));
        for (const d of docs) expectAgreement(set, patterns, d);
      }),
      { numRuns: 500 },
    );
  }, 180_000);

  it('after live additions, replacements and removals (property)', () => {
    const op = fc.oneof(
      fc.tuple(fc.constant('set' as const), fc.integer({ min: 0, max: 7 }), patternArb),
      fc.tuple(fc.constant('delete' as const), fc.integer({ min: 0, max: 7 }), fc.constant(undefined)),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 20 }), fc.array(docArb, { minLength: 1, maxLength: 4 }), (ops, docs) => {
        const set = new PatternSet<string>();
        const patterns = new Map<string, unknown>();
        for (const [kind, k, p] of ops) {
          const key = `k${k}`;
          if (kind === 'set') {
            set.set(key, p, key);
            patterns.set(key, p);
          } else {
            expect(set.delete(key)).toBe(patterns.delete(key));
          }
          expect(set.size).toBe(patterns.size);
          for (const d of docs) expectAgreement(set, patterns, d);
        }
        // Removing everything leaves nothing behind.
        for (const key of [...patterns.keys()]) set.delete(key);
        expect(set.stats()).toEqual({ patterns: 0, branches: 0, leaves: 0, conditions: 0, conditionUses: 0, paths: 0, trieNodes: 1 });
      }),
      { numRuns: 150 },
    );
  }, 180_000);

  it('from JSON text as from the parsed document', () => {
    fc.assert(
      fc.property(fc.array(patternArb, { minLength: 1, maxLength: 6 }), docArb, (ps, doc) => {
        const set = new PatternSet<string>();
        set.setAll(ps.map((p, i) => [`p${i}`, p, `p${i}`] as const));
        const text = JSON.stringify(doc);
        expect(set.matching(text).sort()).toEqual(set.matchingDoc(JSON.parse(text)).sort());
      }),
      { numRuns: 100 },
    );
  }, 180_000);
});

/** What matching(text) must do: what JSON.parse and matchingDoc do, or refuse what JSON.parse refuses. */
function expectTextAgreement(set: PatternSet<string>, text: string): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    expect(() => set.matching(text)).toThrow(InvalidEventTextError);
    return;
  }
  expect(set.matching(text).sort()).toEqual(set.matchingDoc(doc).sort());
}

const unicodeEscaped = (text: string): string => text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('PatternSet from event text', () => {
  it('reads text written any way as JSON.parse does: spaced, escaped, a key twice, not an object', () => {
    fc.assert(
      fc.property(fc.array(patternArb, { minLength: 1, maxLength: 6 }), docArb, fc.constantFrom(...KEYS), (ps, doc, key) => {
        const set = new PatternSet<string>();
        set.setAll(ps.map((p, i) => [`p${i}`, p, `p${i}`] as const));
        const text = JSON.stringify(doc);
        for (const t of [
          JSON.stringify(doc, null, 2),
          unicodeEscaped(text),
          text.replace(/"detail"/g, '"\\u0064etail"').replace(/"a"/g, '"\\u0061"'),
          // A key twice: JSON.parse keeps the last value.
          `{"${key}": "first", ${text.slice(1)}`.replace(', }', '}'),
          `{"${key}": {"x": "first"}, ${text.slice(1)}`.replace(', }', '}'),
          `[${text}]`,
          ` \n\t${text}\r\n `,
        ]) expectTextAgreement(set, t);
      }),
      { numRuns: 150 },
    );
  }, 180_000);

  it('refuses broken text exactly when JSON.parse does, and otherwise matches like it', () => {
    const edits = ['', '"', ',', ':', '{', '}', '[', ']', '\\', '\\u00', '\u0001', '\n', ' ', '0', '-', '.', 'e', '+', 'n', 'tru', 'x'];
    fc.assert(
      fc.property(fc.array(patternArb, { minLength: 1, maxLength: 4 }), docArb, fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.constantFrom(...edits)), { minLength: 1, maxLength: 3 }), (ps, doc, changes) => {
        const set = new PatternSet<string>();
        set.setAll(ps.map((p, i) => [`p${i}`, p, `p${i}`] as const));
        let text = JSON.stringify(doc);
        for (const [at, cut, insert] of changes) {
          const i = at % (text.length + 1);
          text = text.slice(0, i) + insert + text.slice(i + cut);
        }
        expectTextAgreement(set, text);
      }),
      { numRuns: 400 },
    );
  }, 180_000);

  it('reads 100,000 nested arrays of text without overflowing the stack', () => {
    const set = new PatternSet<string>();
    set.set('deep', { a: ['x'] }, 'deep');
    set.set('pair', { a: { b: ['x'], c: ['y'] } }, 'pair');
    const deep = (inner: string): string => `{"a": ${'['.repeat(100_000)}${inner}${']'.repeat(100_000)}}`;
    expect(set.matching(deep('"x"'))).toEqual(['deep']);
    expect(set.matching(deep('{"b": "x", "c": "y"}'))).toEqual(['pair']);
    expect(set.matching(deep('{"b": "x", "c": "z"}'))).toEqual([]);
  });
});

describe('PatternSet', () => {
  it('keeps answering right while one change at a time fills its trie with holes and lays it out afresh', () => {
    const set = new PatternSet<string>();
    const live = new Map<string, unknown>();
    const rand = (() => {
      let x = 7;
      return () => ((x = (x * 1103515245 + 12345) % 2147483648) / 2147483648);
    })();
    const pick = <V>(vs: readonly V[]): V => vs[Math.floor(rand() * vs.length)]!;
    const docs = Array.from({ length: 20 }, () => ({ a: pick(['x', 'y', 'z']), b: pick([1, 2, 3]), c: { x: pick(['k', 'v']), y: pick([5, 6]) }, detail: [{ x: pick(['k', 'v']) }, { y: 5 }] }));
    for (let step = 0; step < 1_500; step++) {
      const key = `p${Math.floor(rand() * 400)}`;
      if (live.has(key) && rand() < 0.5) {
        set.delete(key);
        live.delete(key);
      } else {
        const p = { a: [pick(['x', 'y', 'z']), `v${step % 50}`], b: [{ numeric: ['>=', pick([1, 2, 3])] }], c: { x: [pick(['k', 'v', `w${step % 30}`])] }, detail: { x: [pick(['k', 'v'])], y: [5] } };
        if (rand() < 0.5) delete (p as { detail?: unknown }).detail;
        set.set(key, p, key);
        live.set(key, p);
      }
      if (step % 50 === 0) for (const d of docs) expectAgreement(set, live, d);
    }
    for (const d of docs) expectAgreement(set, live, d);
  });

  it('matches nothing for a document that is not an object', () => {
    const set = new PatternSet<string>();
    set.set('any', { a: [{ exists: false }] }, 'any');
    expect(set.matchingDoc({})).toEqual(['any']);
    for (const doc of [[], null, 'x', 5, [{}]]) expect(set.matchingDoc(doc)).toEqual([]);
  });

  it('refuses text that is not JSON without quoting it', () => {
    const set = new PatternSet<string>();
    let err: unknown;
    try {
      set.matching('{"email": "someone@example.com" oops}');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidEventTextError);
    expect((err as Error).message).not.toContain('someone');
  });

  it('leaves the set unchanged when one pattern of a batch is invalid', () => {
    const set = new PatternSet<string>();
    set.set('a', { a: ['1'] }, 'a');
    expect(() => set.setAll([['b', { b: ['1'] }, 'b'], ['c', { c: 'not an array' }, 'c']])).toThrow(/\$\.c/);
    expect(set.size).toBe(1);
    expect(set.matchingDoc({ a: '1', b: '1' })).toEqual(['a']);
  });

  it('finds the outer array element of a value inside arrays nested three deep', () => {
    // Other patterns make `a.m` and `a.m.n` consistency nodes too, so the value 1 at a.m.n.x sits in
    // an element of n, inside an element of m, inside an element of a.
    const patterns = new Map<string, unknown>([
      ['outer', { a: { x: [1], m: { n: { x: [1] } } } }],
      ['middle', { a: { m: { y: [1], n: { x: [1] } } } }],
      ['inner', { a: { m: { n: { x: [1], y: [1] } } } }],
    ]);
    const set = new PatternSet<string>();
    set.setAll([...patterns].map(([k, p]) => [k, p, k] as const));
    const docs = [
      { a: [{ x: 1, m: [{ y: 1, n: [{ x: 1, y: 1 }, { y: 2 }] }, { y: 2 }] }, { x: 2 }] },
      { a: [{ x: 2, m: [{ y: 1, n: [{ x: 1 }, { y: 1 }] }, {}] }, { x: 1 }] },
      { a: [{ x: 1 }, { m: [{ n: [{ x: 1, y: 1 }, {}] }, { y: 1 }] }] },
    ];
    expect(docs.map((d) => set.matchingDoc(d).sort())).toEqual([['inner', 'middle', 'outer'], ['middle'], ['inner']]);
    for (const d of docs) expectAgreement(set, patterns, d);
  });

  it('evaluates one shared condition once however many patterns hold it', () => {
    const set = new PatternSet<number>();
    set.setAll(Array.from({ length: 1000 }, (_, i) => [`r${i}`, { source: ['baton.pos'], detail: { country: [['DE', 'FR'][i % 2]!], total: [{ numeric: ['>', i % 10] }] } }, i] as const));
    const s = set.stats();
    expect(s.patterns).toBe(1000);
    expect(s.leaves).toBe(1 + 2 + 10);
    expect(s.conditions).toBe(1 + 2 + 10);
    expect(set.matchingDoc({ source: 'baton.pos', detail: { country: 'DE', total: 5 } })).toHaveLength(300);
  });
});
