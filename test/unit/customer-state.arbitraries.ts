// fast-check arbitraries of valid Baton events for one customer. Shared by the pure state tests and
// the DynamoDB property tests, so they produce only events parseEvent accepts (checked on the way out).
import fc from 'fast-check';
import { parseEvent } from '../../events/validate.ts';
import { REDUCERS, type CustomerEvent, type ReducerKey } from '../../lib/core/customer/index.ts';

/** The external ids every generated event carries (crmId is needed for CustomerUpserted). */
export interface CustomerIds {
  crmId: string;
  loyaltyCard?: string;
  email?: string;
}

export interface EventArbOptions {
  /** customerId put in SES tags (how feedback finds its customer). Default "cus-arb". */
  customerId?: string;
  /** Key pools. Small pools make keys collide: updates, refunds before sales, ties. */
  saleIds?: readonly string[];
  refundIds?: readonly string[];
  licenseIds?: readonly string[];
  deviceIds?: readonly string[];
  threatIds?: readonly string[];
  decisionIds?: readonly string[];
  categories?: readonly string[];
  /** Event times fall on whole hours in [start, start + days). */
  start?: string;
  days?: number;
  /** Detail-types to draw from; default all except CustomerErased. */
  types?: readonly ReducerKey[];
  /** Adds CustomerErased to the mix (rarely). */
  withErasure?: boolean;
  /**
   * Run every event through parseEvent (default true). Turn off only for very long streams where zod's
   * cost matters; the builders produce the same valid shapes either way (a property test checks it).
   */
  validate?: boolean;
}

// Hostile-looking keys are valid ids: the state must keep them as plain keys.
export const DEFAULT_POOLS = {
  saleIds: ['S-1', 'S-2', 'S-3', 'S-4', 'S-5', 'S-6', '__proto__', 'constructor'],
  refundIds: ['R-1', 'R-2', 'R-3', 'R-4'],
  licenseIds: ['LIC-1', 'LIC-2', 'LIC-3'],
  deviceIds: ['dev-1', 'dev-2', 'dev-3', 'toString'],
  threatIds: ['T-1', 'T-2', 'T-3', 'T-4', 'T-5'],
  decisionIds: ['dec-1', 'dec-2', 'dec-3', 'dec-4'],
  categories: ['software', 'accessories', 'hardware', 'services', '__proto__'],
} as const;

/** Every detail-type with a reducer, in the reducers' order, but CustomerErased (added on request). */
export const ALL_TYPES: readonly ReducerKey[] = (Object.keys(REDUCERS) as ReducerKey[]).filter((k) => k !== 'baton.crm/CustomerErased');

const HOUR = 3_600_000;
const OFFSETS = [0, 60, -300, 330]; // minutes east of UTC: Z, +01:00, -05:00, +05:30

/** ISO time with a UTC offset, as a source system in that zone would write it. */
export function isoWithOffset(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString().replace('.000Z', 'Z');
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

type Raw = { 'detail-type': string; source: string; detail: Record<string, unknown> };

/** One valid event for the customer with `ids`. */
export function customerEventArb(ids: CustomerIds, options: EventArbOptions = {}): fc.Arbitrary<CustomerEvent> {
  const pools = { ...DEFAULT_POOLS, ...stripUndefined(options) };
  const start = Date.parse(options.start ?? '2026-01-01T00:00:00Z');
  const days = options.days ?? 120;
  const customerId = options.customerId ?? 'cus-arb';
  const types = [...(options.types ?? ALL_TYPES), ...(options.withErasure ? (['baton.crm/CustomerErased'] as const) : [])];

  const time = fc.record({ hour: fc.integer({ min: 0, max: days * 24 - 1 }), offset: fc.constantFrom(...OFFSETS) });
  const at = (t: { hour: number; offset: number }) => isoWithOffset(start + t.hour * HOUR, t.offset);
  const money = fc.integer({ min: 1, max: 50_000 }).map((c) => c / 100);
  const pick = (pool: readonly string[]) => fc.constantFrom(...pool);
  const base = (t: { hour: number; offset: number }, extra: Record<string, string> = {}) => ({
    ids: { ...stripUndefined(ids), ...extra },
    occurredAt: at(t),
  });

  const build: Record<string, fc.Arbitrary<Raw>> = {
    'baton.crm/CustomerUpserted': fc
      .record({
        t: time,
        profile: fc.record(
          {
            firstName: fc.constantFrom('Ana', 'Ben', 'Chloé'),
            lastName: fc.constantFrom('Ito', 'Keller'),
            email: fc.constantFrom('ana@example.com', 'ben@example.org'),
            phone: fc.constantFrom('+4915112345678', '+14155550100'),
            locale: fc.constantFrom('en', 'de-DE'),
            timeZone: fc.constantFrom('Europe/Berlin', 'America/New_York'),
            country: fc.constantFrom('DE', 'US'),
            tier: fc.constantFrom('silver', 'gold', 'platinum'),
            tags: fc.uniqueArray(fc.constantFrom('newsletter', 'family-plan', 'vip'), { maxLength: 3 }),
          },
          { requiredKeys: [] },
        ),
      })
      .map(({ t, profile }) => crm('CustomerUpserted', { ...base(t), profile })),
    'baton.crm/ConsentChanged': fc
      .record({ t: time, channel: fc.constantFrom('email', 'sms', 'push', 'device'), granted: fc.boolean(), via: fc.constantFrom('web-form', 'call-centre', 'unsubscribe-link') })
      .map(({ t, ...rest }) => crm('ConsentChanged', { ...base(t), ...rest })),
    'baton.crm/CustomerErased': time.map((t) => crm('CustomerErased', { ...base(t), requestId: 'DSR-1' })),
    'baton.erp/LicensePurchased': fc
      .record({ t: time, licenseId: pick(pools.licenseIds), product: fc.constantFrom('total-security', 'vpn'), seats: fc.integer({ min: 1, max: 10 }), years: fc.integer({ min: 1, max: 2 }), amount: money })
      .map(({ t, licenseId, years, ...rest }) =>
        erp('LicensePurchased', {
          ...base(t, { licenseId }),
          licenseId,
          ...rest,
          startsAt: at(t),
          expiresAt: at({ hour: t.hour + years * 365 * 24, offset: 0 }),
          currency: 'EUR',
        }),
      ),
    'baton.erp/LicenseRenewalDue': fc
      .record({ t: time, licenseId: pick(pools.licenseIds), product: fc.constantFrom('total-security', 'vpn'), daysLeft: fc.integer({ min: 0, max: 60 }) })
      .map(({ t, licenseId, daysLeft, product }) =>
        erp('LicenseRenewalDue', { ...base(t, { licenseId }), licenseId, product, daysLeft, expiresAt: at({ hour: t.hour + daysLeft * 24, offset: 0 }) }),
      ),
    'baton.erp/LicenseRenewed': fc
      .record({ t: time, licenseId: pick(pools.licenseIds), product: fc.constantFrom('total-security', 'vpn'), amount: money })
      .map(({ t, licenseId, ...rest }) =>
        erp('LicenseRenewed', { ...base(t, { licenseId }), licenseId, ...rest, expiresAt: at({ hour: t.hour + 365 * 24, offset: 0 }), currency: 'EUR' }),
      ),
    'baton.erp/LicenseExpired': fc
      .record({ t: time, licenseId: pick(pools.licenseIds), product: fc.constantFrom('total-security', 'vpn') })
      .map(({ t, licenseId, product }) => erp('LicenseExpired', { ...base(t, { licenseId }), licenseId, product, expiredAt: at(t) })),
    'baton.pos/SaleCompleted': fc
      .record({
        t: time,
        saleId: pick(pools.saleIds),
        items: fc.array(
          fc.record({ sku: fc.constantFrom('TS-1Y', 'USB-C', 'CASE'), category: pick(pools.categories), quantity: fc.integer({ min: 1, max: 3 }), unitPrice: money }),
          { minLength: 1, maxLength: 3 },
        ),
        discount: fc.integer({ min: 0, max: 500 }),
      })
      .map(({ t, saleId, items, discount }) => {
        const gross = items.reduce((sum, i) => sum + i.quantity * Math.round(i.unitPrice * 100), 0);
        return pos('SaleCompleted', {
          ...base(t),
          saleId,
          storeId: 'store-1',
          items,
          total: Math.max(0, gross - discount) / 100,
          currency: 'EUR',
        });
      }),
    'baton.pos/SaleRefunded': fc
      .record({ t: time, saleId: pick(pools.saleIds), refundId: pick(pools.refundIds), amount: money })
      .map(({ t, ...rest }) => pos('SaleRefunded', { ...base(t), ...rest, currency: 'EUR' })),
    'baton.device/DeviceRegistered': fc
      .record({
        t: time,
        deviceId: pick(pools.deviceIds),
        platform: fc.constantFrom('windows', 'macos', 'android'),
        agentVersion: fc.constantFrom('24.6.1', '24.7.0'),
        push: fc.boolean(),
      })
      .map(({ t, deviceId, push, ...rest }) =>
        device('DeviceRegistered', {
          ...base(t, { deviceId }),
          deviceId,
          ...rest,
          ...(push ? { pushEndpointArn: `arn:aws:sns:eu-west-1:123456789012:endpoint/GCM/baton/${deviceId.length}` } : {}),
        }),
      ),
    'baton.device/DeviceStatusReported': fc
      .record({ t: time, deviceId: pick(pools.deviceIds), status: fc.constantFrom('protected', 'at-risk', 'unprotected'), agentVersion: fc.constantFrom('24.6.1', '24.7.0') })
      .map(({ t, deviceId, ...rest }) => device('DeviceStatusReported', { ...base(t, { deviceId }), deviceId, ...rest })),
    'baton.device/ThreatDetected': fc
      .record({
        t: time,
        deviceId: pick(pools.deviceIds),
        threatId: pick(pools.threatIds),
        threatName: fc.constantFrom('Trojan.A', 'Worm.B'),
        severity: fc.constantFrom('low', 'medium', 'high', 'critical'),
        action: fc.constantFrom('quarantined', 'blocked', 'removed', 'none'),
      })
      .map(({ t, deviceId, ...rest }) => device('ThreatDetected', { ...base(t, { deviceId }), deviceId, ...rest })),
    'baton.device/MessageDisplayed': fc
      .record({ t: time, deviceId: pick(pools.deviceIds), decisionId: pick(pools.decisionIds).map((d) => `${d}-dev`) })
      .map(({ t, deviceId, decisionId }) => device('MessageDisplayed', { ...base(t, { deviceId }), deviceId, decisionId })),
    'baton.device/MessageClicked': fc
      .record({ t: time, deviceId: pick(pools.deviceIds), decisionId: pick(pools.decisionIds).map((d) => `${d}-dev`) })
      .map(({ t, deviceId, decisionId }) => device('MessageClicked', { ...base(t, { deviceId }), deviceId, decisionId, link: 'https://shop.example.com/x' })),
  };

  const mail = fc.record({ t: time, decisionId: pick(pools.decisionIds), campaignId: fc.constantFrom('renewals', 'winback'), after: fc.integer({ min: 0, max: 72 }) });
  const ses = (
    detailType: string,
    eventType: string,
    extra: (m: { sentMs: number; laterIso: string }) => Record<string, unknown>,
  ): fc.Arbitrary<Raw> =>
    mail.map(({ t, decisionId, campaignId, after }): Raw => {
      const sentMs = start + t.hour * HOUR;
      return {
        source: 'aws.ses',
        'detail-type': detailType,
        detail: {
          eventType,
          mail: {
            timestamp: new Date(sentMs).toISOString(),
            source: 'offers@example.com',
            messageId: `msg-${decisionId}`,
            destination: ['customer@example.com'],
            tags: { decisionId: [decisionId], customerId: [customerId], campaignId: [campaignId] },
          },
          ...extra({ sentMs, laterIso: new Date(sentMs + after * HOUR).toISOString() }),
        },
      };
    });
  // A call's outcome (channel `call`) and a service case: the first sets last-call registers, the second nothing.
  build['baton.crm/CallCompleted'] = fc
    .record({ t: time, decisionId: pick(pools.decisionIds).map((d) => `${d}-call`), outcome: fc.constantFrom('reached', 'no-answer', 'callback'), team: fc.constantFrom('customer-service', 'sales') })
    .map(({ t, ...rest }) => crm('CallCompleted', { ...base(t), ...rest }));
  build['baton.crm/CaseOpened'] = fc
    .record({ t: time, caseId: fc.constantFrom('CASE-1', 'CASE-2'), sentiment: fc.constantFrom('negative', 'neutral', 'positive') })
    .map(({ t, ...rest }) => crm('CaseOpened', { ...base(t), ...rest, category: 'billing' }));
  // Loyalty events change no profile state; they are here so every catalog type is exercised.
  build['baton.crm/MemberEnrolled'] = time.map((t) => crm('MemberEnrolled', { ...base(t), programmeId: 'city-rewards' }));
  build['baton.partners/PartnerSaleCompleted'] = build['baton.pos/SaleCompleted']!.map((r) => ({ ...r, source: 'baton.partners', 'detail-type': 'PartnerSaleCompleted', detail: { ...r.detail, partnerId: 'corner-cafe' } }));
  build['baton.partners/PartnerSaleRefunded'] = build['baton.pos/SaleRefunded']!.map((r) => ({ ...r, source: 'baton.partners', 'detail-type': 'PartnerSaleRefunded', detail: { ...r.detail, partnerId: 'corner-cafe' } }));
  build['aws.ses/Email Sent'] = ses('Email Sent', 'Send', () => ({ send: {} }));
  build['aws.ses/Email Delivered'] = ses('Email Delivered', 'Delivery', ({ laterIso }) => ({ delivery: { timestamp: laterIso } }));
  build['aws.ses/Email Opened'] = ses('Email Opened', 'Open', ({ laterIso }) => ({ open: { timestamp: laterIso } }));
  build['aws.ses/Email Clicked'] = ses('Email Clicked', 'Click', ({ laterIso }) => ({ click: { timestamp: laterIso, link: 'https://shop.example.com/y' } }));
  build['aws.ses/Email Complaint Received'] = ses('Email Complaint Received', 'Complaint', ({ laterIso }) => ({ complaint: { timestamp: laterIso } }));
  build['aws.ses/Email Delivery Delayed'] = ses('Email Delivery Delayed', 'DeliveryDelay', ({ laterIso }) => ({ deliveryDelay: { timestamp: laterIso } }));
  build['aws.ses/Email Rejected'] = ses('Email Rejected', 'Reject', () => ({ reject: { reason: 'Bad content' } }));
  build['aws.ses/Email Rendering Failed'] = ses('Email Rendering Failed', 'Rendering Failure', () => ({ failure: {} }));
  build['aws.ses/Email Bounced'] = fc
    .tuple(fc.constantFrom('Permanent', 'Transient', 'Undetermined'), ses('Email Bounced', 'Bounce', ({ laterIso }) => ({ bounce: { timestamp: laterIso } })))
    .map(([bounceType, raw]) => ({ ...raw, detail: { ...raw.detail, bounce: { ...(raw.detail['bounce'] as object), bounceType } } }));
  build['aws.ses/Email Subscribed'] = fc
    .tuple(fc.boolean(), ses('Email Subscribed', 'Subscription', ({ laterIso }) => ({ subscription: { timestamp: laterIso, contactList: 'offers' } })))
    .map(([all, raw]) => ({
      ...raw,
      detail: { ...raw.detail, subscription: { ...(raw.detail['subscription'] as object), newTopicPreferences: { unsubscribeAll: all } } },
    }));

  const chosen = types.map((type) => {
    const arb = build[type];
    if (!arb) throw new Error(`no arbitrary for ${type}`);
    return arb;
  });
  const validate = options.validate ?? true;
  return fc.tuple(fc.oneof(...chosen), fc.uuid()).map(([raw, id]) => {
    const envelope = { version: '0', id, time: '2026-01-01T00:00:00Z', account: '123456789012', region: 'eu-west-1', resources: [], ...raw };
    if (!validate) return envelope as unknown as CustomerEvent;
    const result = parseEvent(envelope);
    if (!result.ok) throw new Error(`arbitrary built an invalid ${raw.source} ${raw['detail-type']}: ${result.reason}`);
    return result.event as CustomerEvent;
  });
}

/** A stream of events with distinct event ids (what the lead's at-most-once marker guarantees). */
export function eventStreamArb(
  ids: CustomerIds,
  options: EventArbOptions & { minLength?: number; maxLength?: number } = {},
): fc.Arbitrary<CustomerEvent[]> {
  const { minLength = 0, maxLength = 40, ...rest } = options;
  return fc.uniqueArray(customerEventArb(ids, rest), { selector: (e) => e.id, minLength, maxLength });
}

/** A stream and a permutation of it. */
export function permutedStreamArb(ids: CustomerIds, options: EventArbOptions & { minLength?: number; maxLength?: number } = {}) {
  return eventStreamArb(ids, options).chain((events) =>
    fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length })),
  );
}

const crm = (detailType: string, detail: Record<string, unknown>): Raw => ({ source: 'baton.crm', 'detail-type': detailType, detail });
const erp = (detailType: string, detail: Record<string, unknown>): Raw => ({ source: 'baton.erp', 'detail-type': detailType, detail });
const pos = (detailType: string, detail: Record<string, unknown>): Raw => ({ source: 'baton.pos', 'detail-type': detailType, detail });
const device = (detailType: string, detail: Record<string, unknown>): Raw => ({ source: 'baton.device', 'detail-type': detailType, detail });

function stripUndefined<T extends object>(o: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
