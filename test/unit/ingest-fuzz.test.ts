// Fuzz of the ingest path with hostile input (in-memory adapters): wrong schema, over 256 KB,
// `__proto__`/`constructor`/`prototype` as own keys, control characters, deep nesting, not JSON,
// unknown source or detail-type, and event ids reused with another payload. Every one must come back
// quarantined with a machine-readable code, with no thrown error, no unhandled rejection, and no
// change to the store.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { customerEventArb, type CustomerIds } from './customer-state.arbitraries.ts';
import type { IngestOutcome } from '../../lib/app/ingest.ts';
import { CATALOG } from '../../events/catalog.ts';
import { MAX_DEPTH, MAX_EVENT_BYTES, REJECTION_CODES, type RejectionCode } from '../../events/validate.ts';
import type { CustomerEvent, CustomerState, ReducerKey } from '../../lib/core/customer/index.ts';
import type { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { memoryIngest, unhandledRejections } from '../support/memory-ingest.ts';

const RUNS = 50;
const PER_RUN = 1_000; // 50 × 1,000 = 50,000 hostile events
const CUSTOMERS = 40;
const PREPARED_PER_CUSTOMER = 5;

const KNOWN_CODES: ReadonlySet<string> = new Set<RejectionCode | 'event-id-reused'>([...REJECTION_CODES, 'event-id-reused']);

/** One hostile record and what validation may answer (one code where it is certain). */
interface Hostile {
  readonly kind: string;
  readonly body: string;
  readonly codes: readonly string[];
}

const ids = (k: number): CustomerIds => ({ crmId: `CRM-fuzz-${k}`, loyaltyCard: `LC-fuzz-${k}` });
// No SES feedback (it needs a tagged customer) and no erasure among the base events.
const TYPES: readonly ReducerKey[] = [
  'baton.crm/CustomerUpserted',
  'baton.crm/ConsentChanged',
  'baton.erp/LicensePurchased',
  'baton.erp/LicenseRenewed',
  'baton.pos/SaleCompleted',
  'baton.pos/SaleRefunded',
  'baton.device/DeviceRegistered',
  'baton.device/ThreatDetected',
];
// Built once (an arbitrary is costly to build); not re-validated on the way out (ingest validates).
const EVENT_ARBS = Array.from({ length: CUSTOMERS }, (_, k) =>
  customerEventArb(ids(k), { licenseIds: [`LIC-fuzz-${k}`], deviceIds: [`dev-fuzz-${k}`], types: TYPES, validate: false }),
);
const eventArb = (k: number) => EVENT_ARBS[k]!;
const anyCustomerEventArb = fc.oneof(...EVENT_ARBS);

/** Valid events applied before the hostile ones: the ids that the reused-id attacks take. */
const PREPARED: readonly CustomerEvent[] = fc.sample(
  fc.tuple(...Array.from({ length: CUSTOMERS }, (_, k) => fc.array(eventArb(k), { minLength: PREPARED_PER_CUSTOMER, maxLength: PREPARED_PER_CUSTOMER }))),
  { seed: 4242, numRuns: 1 },
)[0]!.flat();

// ---- the hostile generators ---------------------------------------------------------------------
type Json = Record<string, unknown>;
const clone = (e: CustomerEvent): Json => JSON.parse(JSON.stringify(e)) as Json;

/** Every container (object or array) in a document, with its depth. */
function containers(root: unknown): { node: Json | unknown[]; depth: number }[] {
  const out: { node: Json | unknown[]; depth: number }[] = [];
  const walk = (v: unknown, depth: number) => {
    if (v === null || typeof v !== 'object') return;
    out.push({ node: v as Json, depth });
    for (const child of Object.values(v)) walk(child, depth + 1);
  };
  walk(root, 0);
  return out;
}
/** Every string leaf: its parent and key. */
function stringLeaves(root: unknown): { parent: Json; key: string }[] {
  const out: { parent: Json; key: string }[] = [];
  for (const { node } of containers(root)) for (const [key, v] of Object.entries(node)) if (typeof v === 'string') out.push({ parent: node as Json, key });
  return out;
}
const pickOf = <T>(items: readonly T[], n: number): T => items[n % items.length]!;

const wrongValue = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant('not a date'), fc.constant({}), fc.constant([1, 2]));

/** Schema errors in the envelope: exactly `invalid-envelope`. */
const badEnvelope = fc
  .tuple(anyCustomerEventArb, fc.constantFrom('id', 'time', 'source', 'detail-type'), fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.constant(''), fc.constant({ a: 1 })))
  .map(([e, field, value]): Hostile => {
    const o = clone(e);
    o[field] = field === 'time' && value === '' ? 'yesterday' : value;
    return { kind: 'envelope', body: JSON.stringify(o), codes: ['invalid-envelope'] };
  });

/** Schema errors in the detail: a required field of the wrong type, no ids, or a random document. */
const badDetail = fc.oneof(
  fc.tuple(anyCustomerEventArb, wrongValue).map(([e, v]): Hostile => {
    const o = clone(e);
    (o.detail as Json).occurredAt = v;
    return { kind: 'detail-field', body: JSON.stringify(o), codes: ['invalid-detail'] };
  }),
  fc.tuple(anyCustomerEventArb, fc.constantFrom({}, { crmId: 7 }, { crmId: '' }, { email: 'x'.repeat(400) }, 'CRM-1', null)).map(([e, v]): Hostile => {
    const o = clone(e);
    (o.detail as Json).ids = v;
    return { kind: 'detail-ids', body: JSON.stringify(o), codes: ['invalid-detail'] };
  }),
  // A random document: it may also hold control characters, forbidden keys or be deep.
  fc.tuple(anyCustomerEventArb, fc.jsonValue({ maxDepth: 4 })).map(([e, v]): Hostile => {
    const o = clone(e);
    o.detail = v;
    return { kind: 'detail-random', body: JSON.stringify(o), codes: ['invalid-detail', 'control-character', 'forbidden-key', 'too-deep'] };
  }),
);

/** A forbidden key as an own key (as JSON.parse makes it) at any level of the document. */
const forbiddenKey = fc
  .tuple(anyCustomerEventArb, fc.constantFrom('__proto__', 'constructor', 'prototype'), fc.nat(), fc.jsonValue({ maxDepth: 1 }))
  .map(([e, key, at, value]): Hostile => {
    const o = clone(e);
    const objects = containers(o).filter((c) => !Array.isArray(c.node));
    Object.defineProperty(pickOf(objects, at).node, key, { value: key === '__proto__' ? { polluted: true } : value, enumerable: true, configurable: true, writable: true });
    const body = JSON.stringify(o);
    if (!body.includes(`"${key}":`)) throw new Error(`the ${key} key did not make it into the JSON text`);
    return { kind: `key-${key}`, body, codes: ['forbidden-key'] };
  });

// C0 controls other than tab, newline and carriage return, and DEL.
const controlChar = fc.constantFrom(...[...Array.from({ length: 32 }, (_, i) => i).filter((i) => ![9, 10, 13].includes(i)), 127].map((i) => String.fromCharCode(i)));
const controlCharacter = fc.oneof(
  fc.tuple(anyCustomerEventArb, controlChar, fc.nat(), fc.nat()).map(([e, c, at, pos]): Hostile => {
    const o = clone(e);
    const { parent, key } = pickOf(stringLeaves(o), at);
    const s = parent[key] as string;
    const i = pos % (s.length + 1);
    parent[key] = s.slice(0, i) + c + s.slice(i);
    return { kind: 'control-in-value', body: JSON.stringify(o), codes: ['control-character'] };
  }),
  fc.tuple(anyCustomerEventArb, controlChar, fc.nat()).map(([e, c, at]): Hostile => {
    const o = clone(e);
    const objects = containers(o).filter((x) => !Array.isArray(x.node));
    (pickOf(objects, at).node as Json)[`note${c}`] = 'x';
    return { kind: 'control-in-key', body: JSON.stringify(o), codes: ['control-character'] };
  }),
);

/** Nesting past MAX_DEPTH somewhere in the detail (and now and then far past it). */
const deepNesting = fc
  .tuple(anyCustomerEventArb, fc.oneof(fc.integer({ min: MAX_DEPTH, max: 200 }), fc.constantFrom(1_000, 10_000)), fc.boolean())
  .map(([e, depth, arrays]): Hostile => {
    const text = JSON.stringify(e);
    const open = arrays ? '['.repeat(depth) : '{"a":'.repeat(depth);
    const close = arrays ? ']'.repeat(depth) : '}'.repeat(depth);
    return { kind: 'deep', body: text.replace('"detail":{', `"detail":{"nested":${open}1${close},`), codes: ['too-deep'] };
  });

/** Not JSON: a cut-off event (never valid), or any text (which may happen to be JSON of another shape). */
const notJson = fc.oneof(
  fc.tuple(anyCustomerEventArb, fc.nat()).map(([e, n]): Hostile => {
    const text = JSON.stringify(e);
    return { kind: 'truncated', body: text.slice(0, n % text.length), codes: ['not-json'] };
  }),
  fc.constantFrom('', 'undefined', 'NaN', "{'single': 'quotes'}", '{"a":1,}', '\uFEFF{}', '[', '{"id":"x"', '\u{1F600}\u0000', '\uD800').map((body): Hostile => ({ kind: 'garbage', body, codes: ['not-json'] })),
  fc.string({ unit: 'binary-ascii', maxLength: 80 }).map((body): Hostile => ({ kind: 'random-text', body, codes: ['not-json', 'invalid-envelope', 'control-character'] })),
);

const KNOWN_SOURCES = new Set(Object.keys(CATALOG));
/** Sources and detail-types not in the catalog, including names of Object.prototype members. */
const unknownType = fc.oneof(
  fc
    .tuple(anyCustomerEventArb, fc.oneof(fc.constantFrom('toString', 'hasOwnProperty', 'valueOf', 'baton.CRM', 'aws.ses ', 'baton.crm.v2'), fc.stringMatching(/^[a-z][a-z0-9.]{0,30}$/)))
    .filter(([, source]) => !KNOWN_SOURCES.has(source))
    .map(([e, source]): Hostile => ({ kind: 'unknown-source', body: JSON.stringify({ ...e, source }), codes: ['unknown-source'] })),
  fc
    .tuple(anyCustomerEventArb, fc.oneof(fc.constantFrom('toString', 'hasOwnProperty', 'customerupserted', 'Email sent'), fc.stringMatching(/^[A-Z][A-Za-z ]{0,30}$/)))
    .filter(([e, detailType]) => !Object.hasOwn((CATALOG as Record<string, object>)[e.source]!, detailType))
    .map(([e, detailType]): Hostile => ({ kind: 'unknown-detail-type', body: JSON.stringify({ ...e, 'detail-type': detailType }), codes: ['unknown-detail-type'] })),
);

/** A valid event that takes the id of one applied before, with another payload. */
const reusedId = fc
  .tuple(fc.nat(PREPARED.length - 1), anyCustomerEventArb)
  .map(([i, other]) => ({ original: PREPARED[i]!, body: JSON.stringify({ ...other, id: PREPARED[i]!.id }) }))
  .filter(({ original, body }) => body !== JSON.stringify(original))
  .map(({ body }): Hostile => ({ kind: 'reused-id', body, codes: ['event-id-reused'] }));

// Over 256 KB: built from two shared strings (each case costs a copy), so only now and then.
const PAD_ASCII = 'x'.repeat(MAX_EVENT_BYTES);
const PAD_UTF8 = 'é'.repeat(MAX_EVENT_BYTES / 2 + 1); // fewer characters than the limit, more bytes
const tooLarge = fc.tuple(anyCustomerEventArb, fc.boolean()).map(([e, utf8]): Hostile => {
  const text = JSON.stringify(e);
  return { kind: utf8 ? 'too-large-utf8' : 'too-large', body: text.replace('"detail":{', `"detail":{"pad":"${utf8 ? PAD_UTF8 : PAD_ASCII}",`), codes: ['too-large'] };
});

const hostileArb: fc.Arbitrary<Hostile> = fc.oneof(
  { arbitrary: badEnvelope, weight: 10 },
  { arbitrary: badDetail, weight: 15 },
  { arbitrary: forbiddenKey, weight: 12 },
  { arbitrary: controlCharacter, weight: 12 },
  { arbitrary: deepNesting, weight: 8 },
  { arbitrary: notJson, weight: 12 },
  { arbitrary: unknownType, weight: 10 },
  { arbitrary: reusedId, weight: 12 },
  { arbitrary: tooLarge, weight: 1 },
);

// ---- the test ------------------------------------------------------------------------------------
/** Everything the store holds, as text: equal text means not one thing changed. */
function snapshot(store: MemoryCustomerRepository<CustomerState>): string {
  return JSON.stringify({
    profiles: [...store.profiles],
    identities: [...store.identities],
    markers: [...store.markers],
    tombstones: [...store.tombstones],
    decisions: [...store.decisions],
    counters: [...store.counters],
    erased: store.erasedCounters,
  });
}

describe('ingest fuzz: hostile events', () => {
  const rejections = unhandledRejections();

  it('quarantines every one of 50,000 hostile events with a known code, throws nothing and changes nothing', async () => {
    // Prepare: customers with applied events (whose ids the reused-id attacks take).
    const { ingest, store, quarantine, metrics } = memoryIngest();
    for (const e of PREPARED) expect((await ingest(JSON.stringify(e))).status).toBe('applied');
    expect(store.profiles.size).toBe(CUSTOMERS);
    const before = snapshot(store);
    const applied = metrics.counts.EventsApplied;

    const thrown: string[] = [];
    const wrong: string[] = [];
    const kinds = new Map<string, number>();
    const codes = new Map<string, number>();
    let sent = 0;

    // Act: the hostile events, a thousand per run.
    await fc.assert(
      fc.asyncProperty(fc.array(hostileArb, { minLength: PER_RUN, maxLength: PER_RUN }), async (batch) => {
        quarantine.entries.length = 0; // the big bodies of the last run can go
        const outcomes: (IngestOutcome | undefined)[] = [];
        for (const h of batch) {
          sent++;
          kinds.set(h.kind, (kinds.get(h.kind) ?? 0) + 1);
          try {
            outcomes.push(await ingest(h.body));
          } catch (err) {
            outcomes.push(undefined);
            thrown.push(`${h.kind}: ${String(err)}`);
          }
        }
        // Assess each: quarantined with a known code (the expected one), a reason, the original body stored.
        batch.forEach((h, i) => {
          const o = outcomes[i];
          if (!o) return;
          if (o.status !== 'quarantined' || !KNOWN_CODES.has(o.code) || !h.codes.includes(o.code) || o.reason.trim().length < 10) {
            wrong.push(`${h.kind} (expected ${h.codes.join('|')}) got ${JSON.stringify(o)} for ${h.body.slice(0, 200)}`);
            return;
          }
          codes.set(o.code, (codes.get(o.code) ?? 0) + 1);
        });
        const stored = quarantine.entries.map((e) => [e.code, e.reason, e.body] as const);
        const expected = outcomes.flatMap((o, i) => (o?.status === 'quarantined' ? [[o.code, o.reason, batch[i]!.body] as const] : []));
        if (stored.length !== expected.length || stored.some((s, i) => s[0] !== expected[i]![0] || s[1] !== expected[i]![1] || s[2] !== expected[i]![2])) {
          wrong.push(`quarantine store holds ${stored.length} entries for ${expected.length} quarantined events, or not the same ones`);
        }
        return thrown.length === 0 && wrong.length === 0;
      }),
      { numRuns: RUNS, seed: 1_337, endOnFailure: true },
    );
    await new Promise((r) => setImmediate(r)); // a rejection nobody handled is reported on a later turn

    expect(thrown).toEqual([]);
    expect(wrong.slice(0, 5)).toEqual([]);
    expect(rejections).toEqual([]);
    expect(sent).toBe(RUNS * PER_RUN);
    // 0 state changes: not a profile, link, marker, tombstone or decision more or different.
    expect(snapshot(store)).toBe(before);
    expect(metrics.counts.EventsApplied).toBe(applied);
    expect(metrics.counts.EventsQuarantined).toBe(RUNS * PER_RUN);
    // Every kind of attack really was sent, and every code really came out.
    for (const kind of ['envelope', 'detail-field', 'detail-ids', 'detail-random', 'key-__proto__', 'key-constructor', 'key-prototype', 'control-in-value', 'control-in-key', 'deep', 'truncated', 'garbage', 'random-text', 'unknown-source', 'unknown-detail-type', 'reused-id', 'too-large', 'too-large-utf8']) {
      expect(kinds.get(kind) ?? 0, `hostile events of kind ${kind}`).toBeGreaterThan(5);
    }
    for (const code of KNOWN_CODES) expect(codes.get(code) ?? 0, `events quarantined as ${code}`).toBeGreaterThan(5);
  }, 600_000);

  it('an erasure that reuses the id of an applied event is quarantined and erases nothing', async () => {
    // Prepare: a customer with an applied event.
    const { ingest, store } = memoryIngest();
    const [first] = fc.sample(eventArb(0), { seed: 7, numRuns: 1 });
    const [erasure] = fc.sample(customerEventArb(ids(0), { types: [], withErasure: true }), { seed: 8, numRuns: 1 });
    expect((await ingest(JSON.stringify(first))).status).toBe('applied');
    const before = snapshot(store);

    // Act: a CustomerErased under the same event id.
    const outcome = await ingest(JSON.stringify({ ...erasure!, id: first!.id }));

    // Assess: quarantined as a reused id, and not half applied (no tombstones for a profile still there).
    expect(outcome).toMatchObject({ status: 'quarantined', code: 'event-id-reused' });
    expect(snapshot(store)).toBe(before);
    // The customer's next event still applies (a tombstone would refuse it and freeze the profile).
    const [next] = fc.sample(eventArb(0), { seed: 9, numRuns: 1 });
    expect((await ingest(JSON.stringify(next))).status).toBe('applied');
  });
});
