// fast-check arbitraries of events the catalog's schema accepts but that sit at its edges, each with
// the answer ingest owes it (applied, or quarantined with the reason named), for the extremes fuzz.
import fc from 'fast-check';
import { TIME_RANGE } from '../../events/catalog.ts';
import { MAX_EVENT_BYTES } from '../../events/validate.ts';

// ---- times -------------------------------------------------------------------------------------

/** A generated time: its text, and the instant it names (which may lie outside TIME_RANGE). */
interface Time {
  readonly text: string;
  readonly ms: number;
}
const EARLIEST = Date.parse(TIME_RANGE.earliest);
const LATEST = Date.parse(TIME_RANGE.latest);
const inRange = (t: Time) => t.ms >= EARLIEST && t.ms <= LATEST;

const leap = (y: number) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const daysIn = (y: number, m: number) => [31, leap(y) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]!;
const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/**
 * The instant computed apart from Date.parse (which the code under test uses): the wall-clock time
 * in the proleptic Gregorian calendar minus the offset; decimals past milliseconds are cut off.
 */
function instant(y: number, mo: number, d: number, h: number, mi: number, s: number, fraction: string, offsetMinutes: number): number {
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999
  date.setUTCHours(h, mi, s, Number(fraction.slice(0, 3).padEnd(3, '0')));
  return date.getTime() - offsetMinutes * 60_000;
}

const offsetArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant<number | 'Z'>('Z') },
  // Every offset the format allows, -23:59 to +23:59 (-00:00 included), and their extremes more often.
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom(-1, 1), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([sign, h, m]) => sign * (h * 60 + m) || (sign < 0 ? -0 : 0)) },
  { weight: 1, arbitrary: fc.constantFrom(-1439, 1439, -1, 1, -0, 0, -300, 330, 345, 840, -720) },
);
const fractionArb = fc.oneof(
  fc.constant(''),
  fc.tuple(fc.integer({ min: 1, max: 9 }), fc.nat(999_999_999)).map(([digits, n]) => String(n).padStart(9, '0').slice(0, digits)),
  fc.constantFrom('9', '999', '9999', '999999999', '000000001'),
);

/** `day` past the month's end falls on its last day: month ends (and 29 February) come up often. */
function timeArb(year: fc.Arbitrary<number>, month: fc.Arbitrary<number>, day: fc.Arbitrary<number>, hour: fc.Arbitrary<number>): fc.Arbitrary<Time> {
  const minute = fc.oneof(fc.constantFrom(0, 1, 30, 59), fc.integer({ min: 0, max: 59 }));
  return fc.tuple(year, month, day, hour, minute, minute, fractionArb, offsetArb).map(([y, mo, day, h, mi, s, fraction, offset]) => {
    const d = Math.min(day, daysIn(y, mo));
    const offsetMinutes = offset === 'Z' ? 0 : offset;
    const zone = offset === 'Z' ? 'Z' : `${offset < 0 || Object.is(offset, -0) ? '-' : '+'}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
    const text = `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}${fraction ? `.${fraction}` : ''}${zone}`;
    return { text, ms: instant(y, mo, d, h, mi, s, fraction, offsetMinutes) };
  });
}
/** The first day of year 0000 and the last of 9999: an offset the other way moves the time out. */
const calendarEdge = fc.oneof(
  timeArb(fc.constant(0), fc.constant(1), fc.constant(1), fc.constantFrom(0, 1, 2, 12, 23)),
  timeArb(fc.constant(9999), fc.constant(12), fc.constant(31), fc.constantFrom(0, 12, 21, 22, 23)),
);
/** Any day of the calendar, leap days and the ends of months included. */
const anyDate = timeArb(
  fc.oneof(fc.integer({ min: 0, max: 9999 }), fc.constantFrom(0, 1, 1969, 1970, 2000, 2038, 2400, 9998, 9999)),
  fc.integer({ min: 1, max: 12 }),
  fc.integer({ min: 1, max: 31 }),
  fc.integer({ min: 0, max: 23 }),
);
// Half at the very ends of the calendar (about half of those crossing out under their offset), half anywhere.
const anyTime = fc.oneof(calendarEdge, anyDate);
// The envelope's time: mostly ordinary, so the detail's times are reached.
const envelopeTime = fc.oneof({ weight: 19, arbitrary: anyDate }, { weight: 1, arbitrary: calendarEdge });

// ---- numbers and strings -----------------------------------------------------------------------

const money = fc.oneof(
  fc.constantFrom(0, -0, 1e9, -1e9, 5e-324, -5e-324, Number.EPSILON, 1e-9, 0.005, 0.015, 0.045, 999_999_999.995, -999_999_999.999, 123_456_789.123_456_78),
  fc.double({ min: -1e9, max: 1e9, noNaN: true }),
);
/** Mostly a few entries; now and then as many as the schema allows, or as few. */
const list = <T>(arb: fc.Arbitrary<T>, min: number, max: number): fc.Arbitrary<T[]> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.array(arb, { minLength: min, maxLength: Math.min(max, min + 3) }) },
    { weight: 1, arbitrary: fc.array(arb, { minLength: max, maxLength: max }) },
    { weight: 1, arbitrary: fc.array(arb, { minLength: min, maxLength: min }) },
  );
const int = (min: number, max: number) => fc.oneof(fc.constantFrom(min, max, min + 1, max - 1), fc.integer({ min, max }));

// Characters that break naive code: lone surrogates, combining marks, bidi overrides, zero-width and
// BOM, line and paragraph separators, C1 controls (allowed; only C0 are refused), noncharacters,
// astral letters, emoji ZWJ sequences, and quoting, escaping and template syntax.
const ODD = ['\uD800', '\uDFFF', 'e\u0301', '\u202E', '\u200B', '\uFEFF', '\u2028', '\u2029', '\u0085', '\u009F', '\uFFFE', '\uFFFF', '𝔘', '👩‍👩‍👧‍👦', '🇩🇪', '\t', '\n', '\r', '"', '\\', "'", '<', '&', '{{', '}}', '{%', '%}', '${', 'ß', 'İ', 'ﬃ', '٣', '␀'];
const oddUnit = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...ODD) }, { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) });

// eslint-disable-next-line no-control-regex
const C0 = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Strings the schema's `text(max)` accepts: 1 to max UTF-16 units, often long and odd. */
function textArb(max: number): fc.Arbitrary<string> {
  return fc
    .oneof(
      { weight: 3, arbitrary: fc.string({ unit: oddUnit, minLength: 1, maxLength: Math.min(max, 40) }) },
      // At the limit: one odd unit repeated (an astral one cut in half leaves a lone surrogate).
      { weight: 1, arbitrary: fc.constantFrom(...ODD).map((u) => u.repeat(max).slice(0, max)) },
      { weight: 1, arbitrary: fc.constantFrom('x', ' ', '0', '__proto__', 'constructor', 'toString', 'null', '[]', '{}') },
    )
    .map((s) => (s.length > max ? s.slice(0, max) : s))
    // C0 controls are refused before the schema (validate.ts): they belong to the hostile fuzz.
    .filter((s) => s.length >= 1 && !C0.test(s));
}
// Drawn once (a seeded sample) and then picked: building odd strings anew for every field of 50,000
// events would cost more than ingesting them.
function pooled(arb: fc.Arbitrary<string>, seed: number): fc.Arbitrary<string> {
  const pool = fc.sample(arb, { numRuns: 600, seed });
  return fc.nat(pool.length - 1).map((i) => pool[i]!);
}
const pools = new Map<string, fc.Arbitrary<string>>();
const cached = (key: string, make: () => fc.Arbitrary<string>) => pools.get(key) ?? pools.set(key, make()).get(key)!;
/** Strings the schema's `text(max)` accepts. */
const text = (max: number) => cached(`text ${max}`, () => pooled(textArb(max), max));
/** Strings a format of the schema accepts. */
const matching = (format: RegExp) => cached(String(format), () => pooled(fc.stringMatching(format), format.source.length));

/** Unknown extra fields: the catalog keeps them; nothing may trip over their values. */
const extraValue = fc.oneof(
  fc.constantFrom(1e308, -1e308, 5e-324, -0, Number.MAX_SAFE_INTEGER + 2, 0, [], {}, [[]], { a: {} }, '', true, null),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text(64),
);
const extras = fc.dictionary(fc.constantFrom('note', 'x_1', 'meta', 'ids2', 'occurredAtLocal', 'total2'), extraValue, { maxKeys: 3 });

// ---- customers ---------------------------------------------------------------------------------

// Customer ids that look hostile or odd, four customers each (so states stay small enough to be
// quick); each customer has its own ids, so no two profiles merge.
const ODD_IDS = ['CRM-1', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', 'e\u0301e\u0301', '\u202Eevil', '\uD800', 'ß-İ', '👩‍👩‍👧‍👦', 'x'.repeat(120), ' ', '0', 'null', '{{ customer.email }}'];
const CRM_IDS = ODD_IDS.flatMap((id) => [id, `${id}·2`, `${id}·3`, `${id}·4`]);
export const CUSTOMERS = CRM_IDS.length;
/** These customers get most events, so their histories reach their caps and are trimmed. */
const HEAVY: ReadonlySet<string> = new Set(['__proto__', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢', '\uD800', '👩‍👩‍👧‍👦']);
export const customerOf = (k: number) => ({ crmId: CRM_IDS[k]!, licenseId: `${CRM_IDS[k]!}-lic`, deviceId: `${CRM_IDS[k]!}-dev` });

const EMAILS = ['a@b.co', 'maria.keller@example.com', `${'x'.repeat(64)}@${'d'.repeat(60)}.example.com`, 'o\'brien+tag@example.org'];
const emailArb = fc.constantFrom(...EMAILS);

/** One schema-valid event and what ingest must answer. */
export interface Case {
  readonly body: string;
  readonly expect: { status: 'applied' } | { status: 'quarantined'; code: string; mentions: readonly string[]; withRange: boolean };
}

type Times = Record<string, Time>;
interface Built {
  readonly source: string;
  readonly detailType: string;
  readonly detail: Record<string, unknown>;
  /** Each time field of the detail by its path in a reason (`detail.occurredAt`...). */
  readonly times: Times;
  /** When ingest finds no customer for it (an SES event without a customerId tag). */
  readonly noCustomer?: boolean;
}

const baseIds = (k: number, required: readonly ('licenseId' | 'deviceId')[]) =>
  fc.record({ loyaltyCard: fc.option(text(60).map((s) => `${k}:${s}`), { nil: undefined }), email: fc.option(emailArb, { nil: undefined }) }).map((optional) => {
    const c = customerOf(k);
    const ids: Record<string, string> = { crmId: c.crmId };
    for (const r of required) ids[r] = c[r];
    if (optional.loyaltyCard !== undefined) ids.loyaltyCard = optional.loyaltyCard.slice(0, 64);
    if (optional.email !== undefined && k === 0) ids.email = optional.email; // one owner per email
    return ids;
  });

function customerEvent(k: number, customerId: () => string): fc.Arbitrary<Built> {
  const c = customerOf(k);
  const at = (extra: Record<string, fc.Arbitrary<unknown>>, required: readonly ('licenseId' | 'deviceId')[] = []) =>
    fc.record({ ids: baseIds(k, required), occurredAt: anyTime, extras, ...extra });
  const build = (source: string, detailType: string, arb: fc.Arbitrary<Record<string, unknown>>, timeFields: readonly string[] = []): fc.Arbitrary<Built> =>
    arb.map(({ occurredAt, extras: more, ...rest }) => {
      const times: Times = { 'detail.occurredAt': occurredAt as Time };
      const detail: Record<string, unknown> = { ...(more as object), ...rest, occurredAt: (occurredAt as Time).text };
      for (const f of timeFields) {
        times[`detail.${f}`] = rest[f] as Time;
        detail[f] = (rest[f] as Time).text;
      }
      return { source, detailType, detail, times };
    });

  const crm = [
    build(
      'baton.crm',
      'CustomerUpserted',
      at({
        profile: fc.record(
          {
            firstName: text(100),
            lastName: text(100),
            // A profile's address is an id too (lookupIdsOf): one owner per odd address, as in ids.
            email: k === 0 ? emailArb : fc.constant(`customer-${k}@example.com`),
            phone: matching(/^\+[1-9]\d{6,14}$/),
            locale: matching(/^[a-z]{2}(-[A-Z]{2})?$/),
            // Any text: the view and quiet hours must cope with a zone that is no IANA zone.
            timeZone: fc.oneof(text(64), fc.constantFrom('Europe/Berlin', 'Pacific/Kiritimati', 'Etc/GMT+12', 'UTC', 'America/St_Johns')),
            country: matching(/^[A-Z]{2}$/),
            tier: text(32),
            tags: list(text(64), 0, 50),
          },
          { requiredKeys: [] },
        ),
      }),
    ),
    build('baton.crm', 'ConsentChanged', at({ channel: fc.constantFrom('email', 'sms', 'push', 'device'), granted: fc.boolean(), via: text(64) })),
  ];
  const erp = [
    build('baton.erp', 'LicensePurchased', at({ licenseId: fc.constant(c.licenseId), product: text(128), seats: int(1, 1_000_000), startsAt: anyTime, expiresAt: anyTime, amount: money, currency: matching(/^[A-Z]{3}$/) }, ['licenseId']), ['startsAt', 'expiresAt']),
    build('baton.erp', 'LicenseRenewalDue', at({ licenseId: fc.constant(c.licenseId), product: text(128), expiresAt: anyTime, daysLeft: int(-3650, 3650) }, ['licenseId']), ['expiresAt']),
    build('baton.erp', 'LicenseRenewed', at({ licenseId: fc.constant(c.licenseId), product: text(128), expiresAt: anyTime, amount: money, currency: fc.constant('EUR') }, ['licenseId']), ['expiresAt']),
    build('baton.erp', 'LicenseExpired', at({ licenseId: fc.constant(c.licenseId), product: text(128), expiredAt: anyTime }, ['licenseId']), ['expiredAt']),
  ];
  const item = fc.record({ sku: text(64), category: text(64), quantity: int(1, 10_000), unitPrice: money });
  const pos = [
    build(
      'baton.pos',
      'SaleCompleted',
      at({
        saleId: text(128),
        storeId: text(64),
        // 1 to 500 items (the schema's bounds); long lists of short odd strings stay under 256 KB.
        items: fc.oneof({ weight: 199, arbitrary: fc.array(item, { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(fc.record({ sku: fc.constant('s'), category: text(3), quantity: int(1, 10_000), unitPrice: money }), { minLength: 400, maxLength: 500 }) }),
        total: money,
        currency: fc.constant('EUR'),
        offerCodes: fc.option(list(text(64), 0, 20), { nil: undefined }),
      }),
    ),
    build('baton.pos', 'SaleRefunded', at({ saleId: text(128), refundId: text(128), amount: money, currency: fc.constant('USD'), reason: fc.option(text(256), { nil: undefined }) })),
  ];
  const device = [
    build('baton.device', 'DeviceRegistered', at({ deviceId: fc.constant(c.deviceId), platform: fc.constantFrom('windows', 'macos', 'linux', 'android', 'ios'), agentVersion: text(32), pushEndpointArn: fc.option(text(500).map((s) => `arn:${s}`), { nil: undefined }) }, ['deviceId'])),
    build('baton.device', 'DeviceStatusReported', at({ deviceId: fc.constant(c.deviceId), status: fc.constantFrom('protected', 'at-risk', 'unprotected'), agentVersion: text(32) }, ['deviceId'])),
    build('baton.device', 'ThreatDetected', at({ deviceId: fc.constant(c.deviceId), threatId: text(128), threatName: text(256), severity: fc.constantFrom('low', 'medium', 'high', 'critical'), action: fc.constantFrom('quarantined', 'blocked', 'removed', 'none') }, ['deviceId'])),
    build('baton.device', 'MessageDisplayed', at({ deviceId: fc.constant(c.deviceId), decisionId: text(128) }, ['deviceId'])),
    build('baton.device', 'MessageClicked', at({ deviceId: fc.constant(c.deviceId), decisionId: text(128), link: fc.option(fc.constantFrom('https://example.com/', `https://example.com/${'a'.repeat(2000)}`, 'https://xn--bcher-kva.example/ä?q=%F0%9F%98%80#'), { nil: undefined }) }, ['deviceId'])),
  ];

  // SES feedback: tagged with the customer's id (sometimes with empty tags: then no customer is found).
  const tags = fc.oneof(
    { weight: 12, arbitrary: fc.record({ decisionId: fc.option(text(128), { nil: undefined }), campaignId: fc.option(text(128), { nil: undefined }) }).map((t) => ({ customerId: [customerId()], ...(t.decisionId ? { decisionId: [t.decisionId] } : {}), ...(t.campaignId ? { campaignId: [t.campaignId] } : {}) })) },
    { weight: 1, arbitrary: fc.constantFrom({}, { customerId: [] as string[] }, { decisionId: ['d'] }) },
  );
  const ses = (detailType: string, eventType: string, inner?: { key: string; extra?: fc.Arbitrary<Record<string, unknown>> }): fc.Arbitrary<Built> =>
    fc
      .record({ sent: anyTime, at: anyTime, tags, messageId: text(256), destination: list(fc.oneof(emailArb, text(64)), 1, 50), extra: inner?.extra ?? fc.constant({}), more: extras })
      .map(({ sent, at: happened, tags: t, messageId, destination, extra, more }) => {
        const times: Times = { 'detail.mail.timestamp': sent };
        const detail: Record<string, unknown> = { ...more, eventType, mail: { timestamp: sent.text, messageId, destination, tags: t } };
        if (inner) {
          detail[inner.key] = { ...extra, timestamp: happened.text };
          times[`detail.${inner.key}.timestamp`] = happened;
        }
        return { source: 'aws.ses', detailType, detail, times, noCustomer: !(t as { customerId?: string[] }).customerId?.length };
      });
  const sesEvents = [
    ses('Email Sent', 'Send'),
    ses('Email Delivered', 'Delivery', { key: 'delivery' }),
    ses('Email Opened', 'Open', { key: 'open' }),
    ses('Email Clicked', 'Click', { key: 'click', extra: fc.record({ link: fc.oneof(fc.constant(''), text(2048)) }) }),
    ses('Email Bounced', 'Bounce', { key: 'bounce', extra: fc.record({ bounceType: fc.constantFrom('Permanent', 'Transient', 'Undetermined') }) }),
    ses('Email Complaint Received', 'Complaint', { key: 'complaint' }),
    ses('Email Delivery Delayed', 'DeliveryDelay', { key: 'deliveryDelay' }),
    ses('Email Subscribed', 'Subscription', { key: 'subscription', extra: fc.record({ newTopicPreferences: fc.oneof(fc.constantFrom({}, [], null, { unsubscribeAll: true }, { unsubscribeAll: 'true' }), extraValue) }) }),
    // Reject and Rendering Failure carry no time of their own: only the send time.
    ses('Email Rejected', 'Reject').map((b) => ({ ...b, detail: { ...b.detail, reject: { reason: '' } } })),
    ses('Email Rendering Failed', 'Rendering Failure').map((b) => ({ ...b, detail: { ...b.detail, failure: {} } })),
  ];
  return fc.oneof(...crm, ...erp, ...pos, ...device, ...sesEvents);
}

/** The answer ingest owes: the first refusal parseEvent reaches, in its own order. */
function expected(body: string, envelope: Time, built: Built): Case['expect'] {
  if (Buffer.byteLength(body) > MAX_EVENT_BYTES) return { status: 'quarantined', code: 'too-large', mentions: [], withRange: false };
  if (!inRange(envelope)) return { status: 'quarantined', code: 'invalid-envelope', mentions: ['time:'], withRange: true };
  const outside = Object.entries(built.times).filter(([, t]) => !inRange(t));
  if (outside.length) return { status: 'quarantined', code: 'invalid-detail', mentions: outside.map(([path]) => `${path}:`), withRange: true };
  if (built.noCustomer) return { status: 'quarantined', code: 'invalid-detail', mentions: ['no customer reference'], withRange: false };
  return { status: 'applied' };
}

/** One event of any of the customers (whose profiles exist under `customerIds`), and its answer. */
export function extremeCaseArb(customerIds: readonly string[]): fc.Arbitrary<Case> {
  let serial = 0;
  return fc
    .tuple(fc.oneof(...Array.from({ length: CUSTOMERS }, (_, k) => ({ arbitrary: customerEvent(k, () => customerIds[k]!), weight: HEAVY.has(CRM_IDS[k]!) ? 6 : 1 }))), envelopeTime)
    .map(([built, time]): Case => {
      const body = JSON.stringify({ version: '0', id: `ext-${serial++}`, source: built.source, 'detail-type': built.detailType, account: '123456789012', time: time.text, region: 'eu-west-1', resources: [], detail: built.detail });
      return { body, expect: expected(body, time, built) };
    });
}
