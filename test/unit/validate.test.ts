// parseEvent turns anything that arrives on the bus into a typed event or a rejection with a code
// and a reason a person can act on; it never throws, and reasons never repeat detail values.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadSample } from '../../events/samples.ts';
import { MAX_DEPTH, MAX_EVENT_BYTES, REJECTION_CODES, parseEvent, type RejectionCode } from '../../events/validate.ts';

const CODES: readonly RejectionCode[] = REJECTION_CODES;

type Event = Record<string, unknown> & { detail: Record<string, unknown> };
const customer = (): Event => loadSample('baton.crm/CustomerUpserted');
const profileOf = (event: Event) => event.detail.profile as Record<string, unknown>;

/** The sample with `change` applied to a fresh copy. */
function customerWith(change: (event: Event) => void): Event {
  const event = customer();
  change(event);
  return event;
}

function nested(depth: number, leaf: unknown, wrap: (inner: unknown) => unknown): unknown {
  let value = leaf;
  for (let i = 0; i < depth; i++) value = wrap(value);
  return value;
}

/** A JSON text of exactly `bytes` UTF-8 bytes: the sample with a padding field in detail. */
function eventOfBytes(bytes: number, pad = 'x'): string {
  const base = JSON.stringify({ ...customer(), detail: { ...customer().detail, padding: '' } });
  const room = bytes - Buffer.byteLength(base);
  const unit = Buffer.byteLength(pad);
  if (room < 0 || room % unit !== 0) throw new Error(`cannot pad to ${bytes} bytes with "${pad}"`);
  const text = JSON.stringify({ ...customer(), detail: { ...customer().detail, padding: pad.repeat(room / unit) } });
  expect(Buffer.byteLength(text)).toBe(bytes);
  return text;
}

/** A body whose detail carries a key that JSON.parse makes an own property (object spread would not). */
const withRawKey = (json: string) => JSON.stringify(customer()).replace('"detail":{', `"detail":{${json},`);

interface Case {
  readonly name: string;
  readonly input: () => unknown;
  readonly code: RejectionCode;
  /** Text the reason must contain: the field, path or key it is about. */
  readonly names: string;
}

const cases: Case[] = [
  { name: 'plain text', input: () => 'hello there', code: 'not-json', names: 'not JSON' },
  { name: 'a truncated document', input: () => JSON.stringify(customer()).slice(0, 80), code: 'not-json', names: 'not JSON' },
  { name: 'an empty body', input: () => '', code: 'not-json', names: 'not JSON' },
  { name: 'one byte over 256 KB', input: () => eventOfBytes(MAX_EVENT_BYTES + 1), code: 'too-large', names: `${MAX_EVENT_BYTES + 1} bytes` },
  // 'ü' is two bytes: fewer characters than the limit, more bytes.
  { name: 'over 256 KB in UTF-8 bytes, not characters', input: () => eventOfBytes(MAX_EVENT_BYTES + 2, 'ü'), code: 'too-large', names: `${MAX_EVENT_BYTES + 2} bytes` },
  {
    name: '40 nested objects in detail',
    input: () => customerWith((e) => (e.detail.deep = nested(40, 'x', (v) => ({ a: v })))),
    code: 'too-deep',
    names: '$.detail.deep.a.a',
  },
  {
    name: '40 nested arrays in detail',
    input: () => customerWith((e) => (e.detail.deep = nested(40, 1, (v) => [v]))),
    code: 'too-deep',
    names: '$.detail.deep[0][0]',
  },
  { name: '__proto__ at the root', input: () => JSON.stringify(customer()).replace('{', '{"__proto__":{"admin":true},'), code: 'forbidden-key', names: '$ has the key "__proto__"' },
  { name: '__proto__ in detail', input: () => withRawKey('"__proto__":{"polluted":true}'), code: 'forbidden-key', names: '$.detail has the key "__proto__"' },
  {
    name: '__proto__ deep in an array',
    input: () => JSON.stringify(customer()).replace('"tags":[', '"tags":[{"x":{"__proto__":{}}},'),
    code: 'forbidden-key',
    names: '$.detail.profile.tags[0].x has the key "__proto__"',
  },
  { name: 'constructor in detail', input: () => withRawKey('"constructor":{"prototype":{}}'), code: 'forbidden-key', names: 'has the key "constructor"' },
  { name: 'prototype in ids', input: () => customerWith((e) => ((e.detail.ids as Record<string, unknown>).prototype = 'x')), code: 'forbidden-key', names: '$.detail.ids has the key "prototype"' },
  { name: 'a control character in a value', input: () => customerWith((e) => (profileOf(e).firstName = 'Ma\u0007ria')), code: 'control-character', names: '$.detail.profile.firstName contains a control character' },
  { name: 'DEL in a value', input: () => customerWith((e) => (profileOf(e).lastName = 'Kel\u007fler')), code: 'control-character', names: '$.detail.profile.lastName' },
  { name: 'a control character in a key', input: () => customerWith((e) => (profileOf(e)['nick\u0000name'] = 'x')), code: 'control-character', names: '$.detail.profile has a key with a control character' },
  { name: 'a missing id', input: () => customerWith((e) => delete e.id), code: 'invalid-envelope', names: 'id:' },
  { name: 'a missing source', input: () => customerWith((e) => delete e.source), code: 'invalid-envelope', names: 'source:' },
  { name: 'a missing detail-type', input: () => customerWith((e) => delete e['detail-type']), code: 'invalid-envelope', names: 'detail-type:' },
  { name: 'a missing time', input: () => customerWith((e) => delete e.time), code: 'invalid-envelope', names: 'time:' },
  { name: 'a time that is no timestamp', input: () => customerWith((e) => (e.time = 'yesterday')), code: 'invalid-envelope', names: 'time:' },
  { name: 'a missing detail', input: () => customerWith((e) => delete (e as Partial<Event>).detail), code: 'invalid-envelope', names: 'detail:' },
  { name: 'an array instead of an event', input: () => [customer()], code: 'invalid-envelope', names: '(root)' },
  { name: 'an unknown source', input: () => customerWith((e) => (e.source = 'baton.billing')), code: 'unknown-source', names: 'source "baton.billing"' },
  { name: 'a source named like an Object.prototype member', input: () => customerWith((e) => (e.source = 'constructor')), code: 'unknown-source', names: 'source "constructor"' },
  { name: 'an unknown detail-type', input: () => customerWith((e) => (e['detail-type'] = 'CustomerMerged')), code: 'unknown-detail-type', names: 'detail-type "CustomerMerged"' },
  { name: 'a detail-type named like an Object.prototype member', input: () => customerWith((e) => (e['detail-type'] = 'toString')), code: 'unknown-detail-type', names: 'detail-type "toString"' },
  { name: 'a bad email', input: () => customerWith((e) => (profileOf(e).email = 'maria.keller.example.com')), code: 'invalid-detail', names: 'detail.profile.email:' },
  { name: 'a bad email id', input: () => customerWith((e) => (e.detail.ids = { crmId: 'CRM-1', email: 'maria@' })), code: 'invalid-detail', names: 'detail.ids.email:' },
  { name: 'a phone that is not E.164', input: () => customerWith((e) => (profileOf(e).phone = '0151 12345678')), code: 'invalid-detail', names: 'detail.profile.phone: an E.164 phone number' },
  {
    name: 'a lowercase currency',
    input: () => ({ ...loadSample('baton.pos/SaleCompleted'), detail: { ...loadSample('baton.pos/SaleCompleted').detail, currency: 'eur' } }),
    code: 'invalid-detail',
    names: 'detail.currency: an ISO 4217 code',
  },
  { name: 'an occurredAt without offset', input: () => customerWith((e) => (e.detail.occurredAt = '2026-11-02 08:15')), code: 'invalid-detail', names: 'detail.occurredAt:' },
  { name: 'ids without the crmId CustomerUpserted needs', input: () => customerWith((e) => (e.detail.ids = { loyaltyCard: 'LC-1' })), code: 'invalid-detail', names: 'detail.ids: ids must include crmId' },
  { name: 'no customer id at all', input: () => customerWith((e) => (e.detail.ids = {})), code: 'invalid-detail', names: 'detail.ids: at least one customer id' },
];

describe('parseEvent rejections', () => {
  it.each(cases)('$name → $code', ({ input, code, names }) => {
    const value = input();

    const result = parseEvent(value);

    expect(result).toMatchObject({ ok: false, code });
    if (result.ok) return;
    expect(result.reason).toContain(names);
  });

  it.each(CODES)('the table covers %s', (code) => {
    expect(cases.filter((c) => c.code === code).length).toBeGreaterThan(0);
  });

  it('accepts an event of exactly 256 KB', () => {
    const result = parseEvent(eventOfBytes(MAX_EVENT_BYTES));

    expect(result).toMatchObject({ ok: true });
  });

  it(`accepts ${MAX_DEPTH} levels of objects and refuses ${MAX_DEPTH + 1}`, () => {
    // The root and detail are two levels; `extra` adds n more objects.
    const withLevels = (levels: number) => customerWith((e) => (e.detail.extra = nested(levels - 2, 'x', (v) => ({ a: v }))));

    expect(parseEvent(withLevels(MAX_DEPTH))).toMatchObject({ ok: true });
    expect(parseEvent(withLevels(MAX_DEPTH + 1))).toMatchObject({ ok: false, code: 'too-deep' });
  });

  it('allows tab, newline and carriage return in values', () => {
    const event = customerWith((e) => (profileOf(e).tier = 'gold\tplus\r\n'));

    const result = parseEvent(event);

    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect((result.event.detail as { profile: { tier: string } }).profile.tier).toBe('gold\tplus\r\n');
  });

  it('reads the same event from a string and from a parsed value', () => {
    const event = customer();

    expect(parseEvent(JSON.stringify(event))).toEqual(parseEvent(event));
    expect(parseEvent(event)).toMatchObject({ ok: true, event: { detail: { ids: { crmId: 'CRM-100234' } } } });
  });
});

describe('parseEvent properties', () => {
  const isKnownOutcome = (result: ReturnType<typeof parseEvent>) =>
    result.ok || (CODES.includes(result.code) && typeof result.reason === 'string' && result.reason.length > 0);

  it('never throws on any JSON value, given parsed or as text', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        expect(isKnownOutcome(parseEvent(value))).toBe(true);
        expect(isKnownOutcome(parseEvent(JSON.stringify(value)))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (text) => {
        expect(isKnownOutcome(parseEvent(text))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on envelopes of known types with arbitrary details', () => {
    const sample = customer();
    const envelope = fc.record({
      source: fc.constantFrom('baton.crm', 'baton.pos', 'aws.ses', 'baton', 'baton.unknown'),
      'detail-type': fc.constantFrom('CustomerUpserted', 'SaleCompleted', 'Email Bounced', 'ActionRequested', 'hasOwnProperty'),
      detail: fc.oneof(fc.jsonValue(), fc.dictionary(fc.constantFrom('ids', 'occurredAt', 'profile', 'eventType', 'mail'), fc.jsonValue())),
    });
    const seen = new Set<string>();

    fc.assert(
      fc.property(envelope, (overrides) => {
        const result = parseEvent({ ...sample, ...overrides });
        expect(isKnownOutcome(result)).toBe(true);
        seen.add(result.ok ? 'ok' : result.code);
      }),
      { numRuns: 500 },
    );

    // The generator reaches the schema checks, not only the envelope.
    expect(seen).toContain('invalid-detail');
    expect(seen).toContain('unknown-detail-type');
  });

  /** Ways to break a CustomerUpserted elsewhere than where the marker sits. */
  const breakages: Record<string, (event: Event) => void> = {
    'occurredAt is no timestamp': (e) => (e.detail.occurredAt = 'last tuesday'),
    'ids lacks crmId': (e) => (e.detail.ids = { loyaltyCard: 'LC-1' }),
    'phone is not E.164': (e) => (profileOf(e).phone = '12345'),
    'country is lowercase': (e) => (profileOf(e).country = 'de'),
    'locale is malformed': (e) => (profileOf(e).locale = 'German'),
    'too many tags': (e) => (profileOf(e).tags = Array.from({ length: 51 }, (_, i) => `t${i}`)),
    'profile is a string': (e) => (e.detail.profile = 'none'),
    'time is no timestamp': (e) => (e.time = 'soon'),
    'detail-type is unknown': (e) => (e['detail-type'] = 'CustomerMerged'),
    'source is unknown': (e) => (e.source = 'baton.billing'),
  };
  /** Places for the marker: personal data a source sends, valid or itself invalid. */
  const placements: Record<string, (event: Event, marker: string) => void> = {
    firstName: (e, m) => (profileOf(e).firstName = m),
    lastName: (e, m) => (profileOf(e).lastName = m),
    'email (valid)': (e, m) => (profileOf(e).email = `${m}@example.com`),
    'email (invalid)': (e, m) => (profileOf(e).email = m),
    'phone (invalid)': (e, m) => (profileOf(e).phone = m),
    'tier (too long)': (e, m) => (profileOf(e).tier = m.repeat(10)),
    'ids.crmId': (e, m) => ((e.detail.ids as Record<string, unknown>).crmId = m),
    'ids.email (invalid)': (e, m) => ((e.detail.ids as Record<string, unknown>).email = m),
    tags: (e, m) => (profileOf(e).tags = [m]),
    'occurredAt (invalid)': (e, m) => (e.detail.occurredAt = m),
  };

  it('never repeats a detail value in the reason', () => {
    const marker = fc.stringMatching(/^[A-Za-z0-9]{8,16}$/).map((s) => `Pii${s}`);
    const outcomes = new Set<string>();

    fc.assert(
      fc.property(
        marker,
        fc.subarray(Object.keys(placements), { minLength: 1 }),
        fc.constantFrom(...Object.keys(breakages)),
        fc.boolean(),
        (m, places, breakage, asText) => {
          const event = customer();
          for (const place of places) placements[place]!(event, m);
          breakages[breakage]!(event);

          const result = parseEvent(asText ? JSON.stringify(event) : event);

          expect(result.ok).toBe(false);
          if (result.ok) return;
          outcomes.add(result.code);
          expect(result.reason).not.toContain(m);
        },
      ),
      { numRuns: 400 },
    );

    expect([...outcomes].sort()).toEqual(['invalid-detail', 'invalid-envelope', 'unknown-detail-type', 'unknown-source']);
  });

  it('never repeats a detail value in the reason of a truncated body', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z0-9]{8,16}$/), fc.nat(), (s, cut) => {
        const m = `Pii${s}`;
        const text = JSON.stringify(customerWith((e) => (profileOf(e).firstName = m)));
        const body = text.slice(0, cut % text.length);

        const result = parseEvent(body);

        expect(result).toMatchObject({ ok: false, code: 'not-json' });
        if (result.ok) return;
        expect(result.reason).not.toContain(m);
      }),
      { numRuns: 300 },
    );
  });
});
