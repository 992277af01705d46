import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  compilePattern,
  indexKeys,
  InvalidPatternError,
  matches,
  validate,
} from '../../lib/core/event-pattern/index.ts';
import { BatonError } from '../../lib/contract/errors.ts';
import { invalidCases, matchCases } from './event-pattern.cases.ts';

describe('event-pattern conformance corpus', () => {
  it.each(matchCases)('$name', ({ pattern, event, expected }) => {
    expect(compilePattern(pattern)(event)).toBe(expected);
    // The one-off API must agree with the compiled form.
    expect(matches(pattern, event)).toBe(expected);
  });

  it('every case names its source', () => {
    for (const c of [...matchCases, ...invalidCases]) expect(c.source.length).toBeGreaterThan(5);
  });
});

describe('invalid patterns', () => {
  it.each(invalidCases)('$name', ({ pattern, messageIncludes }) => {
    let err: unknown;
    try {
      validate(pattern);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidPatternError);
    const e = err as InvalidPatternError;
    expect(e.message).toContain(messageIncludes);
    expect(e.path.startsWith('$')).toBe(true);
    expect(() => compilePattern(pattern)).toThrow(InvalidPatternError);
  });

  it('is one of Baton\'s errors, with a code a program can branch on', () => {
    const err = (() => {
      try {
        validate({ a: 'x' });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BatonError);
    expect(err).toMatchObject({ code: 'invalid-pattern', name: 'InvalidPatternError', path: '$.a' });
  });

  it('reports the JSON path of the offending element', () => {
    try {
      validate({ detail: { count: [1, { numeric: ['>', 'x'] }] } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidPatternError);
      expect((e as InvalidPatternError).path).toBe('$.detail.count[1].numeric[1]');
      expect((e as InvalidPatternError).message).toContain('received string "x"');
    }
  });

  it('quotes unusual keys in the path', () => {
    try {
      validate({ 'detail-type': 'x' });
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidPatternError).path).toBe('$.detail-type');
    }
    try {
      validate({ 'a b': { c: 5 } });
      expect.unreachable();
    } catch (e) {
      expect((e as InvalidPatternError).path).toBe('$["a b"].c');
    }
  });

  it('accepts reserved names as ordinary fields outside $or', () => {
    expect(() => validate({ prefix: ['x'], numeric: { exists: [1] } })).not.toThrow();
    expect(matches({ prefix: ['x'] }, { prefix: 'x' })).toBe(true);
  });
});

describe('compiled metadata and indexKeys', () => {
  it('lists tested paths and branch count', () => {
    const c = compilePattern({
      source: ['a'],
      detail: { state: ['on'], $or: [{ n: [1] }, { m: [{ exists: true }] }] },
    });
    expect(c.paths).toEqual(['detail.m', 'detail.n', 'detail.state', 'source']);
    expect(c.branches).toBe(2);
  });

  it('returns exact string values for exact-only fields', () => {
    const p = { source: ['baton.erp', 'baton.crm'], 'detail-type': ['LicenseRenewalDue'], detail: { n: [{ numeric: ['<', 3] }] } };
    expect([...(indexKeys(p, 'source') ?? [])].sort()).toEqual(['baton.crm', 'baton.erp']);
    expect([...(indexKeys(p, 'detail-type') ?? [])]).toEqual(['LicenseRenewalDue']);
    expect(indexKeys(p, 'region')).toBeUndefined();
    expect(indexKeys(p, ['detail', 'n'])).toBeUndefined();
  });

  it('is undefined when any alternative is not an exact string', () => {
    expect(indexKeys({ source: ['a', { prefix: 'b' }] }, 'source')).toBeUndefined();
    expect(indexKeys({ source: ['a', 5] }, 'source')).toBeUndefined();
    expect(indexKeys({ source: ['a', null] }, 'source')).toBeUndefined();
    expect(indexKeys({ source: ['10.0.0.1'] }, 'source')).toBeUndefined();
  });

  it('unions across $or branches and fails if one branch leaves the path open', () => {
    const both = { $or: [{ source: ['a'] }, { source: ['b'], x: ['1'] }] };
    expect([...(indexKeys(both, 'source') ?? [])].sort()).toEqual(['a', 'b']);
    const open = { $or: [{ source: ['a'] }, { x: ['1'] }] };
    expect(indexKeys(open, 'source')).toBeUndefined();
  });
});

describe('robustness', () => {
  it('does not read inherited properties of the document', () => {
    expect(matches({ constructor: [{ exists: true }] }, {})).toBe(false);
    expect(matches({ toString: [{ exists: false }] }, {})).toBe(true);
    const protoPattern = JSON.parse('{"__proto__": {"x": [{"exists": true}]}}') as unknown;
    expect(matches(protoPattern, JSON.parse('{"__proto__": {"x": 1}}'))).toBe(true);
    expect(matches(protoPattern, {})).toBe(false);
  });

  it('treats non-JSON values in the document as missing', () => {
    expect(matches({ a: [{ exists: false }] }, { a: undefined })).toBe(true);
    expect(matches({ a: [{ exists: true }] }, { a: () => 1 })).toBe(false);
  });

  it('does not mutate the pattern', () => {
    const p = { source: ['a'], $or: [{ x: ['1'] }, { y: ['2'] }] };
    const copy = JSON.parse(JSON.stringify(p));
    compilePattern(p);
    expect(p).toEqual(copy);
  });

  it('wildcard matching stays linear on adversarial input', () => {
    const c = compilePattern({ s: [{ wildcard: `${'*a'.repeat(15)}*b` }] });
    const input = 'a'.repeat(50_000);
    const t0 = performance.now();
    expect(c({ s: input })).toBe(false);
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});

describe('properties', () => {
  const jsonString = fc.string({ unit: 'grapheme', maxLength: 20 });

  it('{ f: [v] } matches a document whose f is v, for any string v', () => {
    fc.assert(fc.property(jsonString, (v) => matches({ f: [v] }, { f: v })));
  });

  it('{ f: [v] } matches an array containing v', () => {
    fc.assert(fc.property(jsonString, fc.array(jsonString), (v, others) =>
      matches({ f: [v] }, { f: [...others, v] })));
  });

  it('anything-but [v] is the negation of exact [v] on string fields', () => {
    fc.assert(fc.property(jsonString, jsonString, (v, x) => {
      const exact = compilePattern({ f: [v] });
      const notV = compilePattern({ f: [{ 'anything-but': [v] }] });
      return notV({ f: x }) === !exact({ f: x });
    }));
  });

  it('numeric equality does not depend on how the number is written', () => {
    fc.assert(fc.property(fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.integer({ min: 0, max: 3 }), (n, zeros) => {
      const written = [String(n), `${n}.${'0'.repeat(zeros + 1)}`, `${n / 100}e2`, `${n}e0`];
      const pExact = compilePattern({ f: [n] });
      const pNum = compilePattern({ f: [{ numeric: ['=', n] }] });
      return written.every((w) => {
        const doc = JSON.parse(`{"f": ${w}}`) as unknown;
        return pExact(doc) && pNum(doc);
      });
    }));
  });

  it('prefix, suffix and wildcard agree with the string built around them', () => {
    fc.assert(fc.property(jsonString, jsonString, jsonString, (a, b, c) => {
      const s = a + b + c;
      const esc = (x: string): string => x.replace(/[\\*]/g, '\\$&');
      return matches({ f: [{ prefix: a }] }, { f: s })
        && matches({ f: [{ suffix: c }] }, { f: s })
        && matches({ f: [{ wildcard: `${esc(a)}*${esc(c)}` }] }, { f: s })
        && (b === '' || matches({ f: [{ wildcard: `*${esc(b)}*` }] }, { f: s }));
    }));
  });

  it('equals-ignore-case accepts the upper- and lower-cased ASCII forms', () => {
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'abcXYZ09-_.'), maxLength: 30 }), (v) =>
      matches({ f: [{ 'equals-ignore-case': v }] }, { f: v.toUpperCase() })
      && matches({ f: [{ 'equals-ignore-case': v.toUpperCase() }] }, { f: v.toLowerCase() })));
  });

  it('numeric ranges agree with plain comparisons', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.double({ noNaN: true, noDefaultInfinity: true }), (a, b, x) => {
        fc.pre(a < b);
        return matches({ f: [{ numeric: ['>', a, '<=', b] }] }, { f: x }) === (x > a && x <= b);
      }));
  });

  it('IPv4 cidr agrees with integer arithmetic', () => {
    fc.assert(fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 31 }), (base, ip, bits) => {
      const toInt = (s: string): number => s.split('.').reduce((acc, p) => acc * 256 + Number(p), 0);
      const norm = (s: string): string => s.split('.').map((p) => String(Number(p))).join('.');
      const size = 2 ** (32 - bits);
      const lo = Math.floor(toInt(base) / size) * size;
      const inRange = toInt(ip) >= lo && toInt(ip) < lo + size;
      return matches({ f: [{ cidr: `${norm(base)}/${bits}` }] }, { f: norm(ip) }) === inRange;
    }));
  });

  it('compiling and matching never throw on arbitrary JSON documents', () => {
    const pattern = compilePattern({
      a: [{ prefix: 'x' }, { numeric: ['>', 1] }, { exists: false }],
      b: { c: [{ 'anything-but': { wildcard: '*z*' } }] },
      $or: [{ d: [null] }, { e: [{ cidr: '10.0.0.0/8' }] }],
    });
    fc.assert(fc.property(fc.jsonValue(), (doc) => typeof pattern(doc) === 'boolean'));
  });
});
