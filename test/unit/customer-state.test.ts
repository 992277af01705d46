// The pure customer state core: each reducer on its sample, then properties over random streams
// (order-insensitivity, merge, idempotence, no mutation, bounds) against a reference computation.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { loadSample, listSamples } from '../../events/samples.ts';
import { parseEvent } from '../../events/validate.ts';
import { catalogEntries, CHANNELS, CONTEXT_DETAIL_TYPES } from '../../events/catalog.ts';
import {
  BOUNDS,
  CustomerStateError,
  IDEMPOTENT_REDUCERS,
  REDUCERS,
  anonymousCounters,
  applyEvent,
  applyRuleState,
  customerView,
  foldEvents,
  mergeCustomers,
  newCustomer,
  recordContact,
  type CustomerEvent,
  type CustomerState,
  type ReducerKey,
} from '../../lib/core/customer/index.ts';
import {
  ALL_TYPES,
  customerEventArb,
  eventStreamArb,
  permutedStreamArb,
  type CustomerIds,
} from './customer-state.arbitraries.ts';

const IDS: CustomerIds = { crmId: 'CRM-1', loyaltyCard: 'LC-1' };
const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');
const NOW = new Date(START + 130 * DAY);

function sample(name: string, patch: (raw: Record<string, any>) => void = () => {}): CustomerEvent {
  const raw = loadSample(name) as Record<string, any>;
  patch(raw);
  const result = parseEvent(raw);
  if (!result.ok) throw new Error(`sample ${name} does not parse: ${result.reason}`);
  return result.event as CustomerEvent;
}

const fold = (events: readonly CustomerEvent[], customerId = 'cus-1'): CustomerState => foldEvents(newCustomer(customerId), events);
const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value), 'utf8');

const entry = <E extends { id: string }>(list: readonly E[], id: string): E | undefined => list.find((e) => e.id === id);

/** Paths holding what DynamoDB's document client or JSON would not keep as is. */
function jsonProblems(value: unknown, path = '$'): string[] {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return [];
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${path}: non-finite number`];
  if (Array.isArray(value)) return value.flatMap((v, i) => jsonProblems(v, `${path}[${i}]`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.keys(value).flatMap((k) => jsonProblems((value as Record<string, unknown>)[k], `${path}.${k}`));
  }
  return [`${path}: ${typeof value === 'object' ? Object.prototype.toString.call(value) : typeof value}`];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

// ---- each reducer on its sample -------------------------------------------------------------

describe('reducers on the catalog samples', () => {
  it('has one reducer for every customer detail-type in the catalog, and none for Baton’s own events', () => {
    const expected = catalogEntries()
      .filter((e) => e.source !== 'baton' && e.source !== 'baton.segments' && e.source !== 'baton.journeys' && e.source !== 'baton.loyalty')
      .filter((e) => !(CONTEXT_DETAIL_TYPES as readonly string[]).includes(e.detailType))
      .map((e) => `${e.source}/${e.detailType}`)
      .sort();
    expect(Object.keys(REDUCERS).sort()).toEqual(expected);
    // Samples beyond those: the journeys' timer event, the seven loyalty events and the business-context events, which change no state.
    expect(listSamples().length).toBe(expected.length + 1 + 7 + CONTEXT_DETAIL_TYPES.length);
  });

  it('CustomerUpserted sets every profile field with the event time and id', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('baton.crm/CustomerUpserted'));
    expect(s.profile.firstName).toEqual({ v: 'Maria', at: '2026-11-02T08:15:00.000Z', ev: '4c7e2f1a-0b3d-4e5f-9a8b-000000000001' });
    const v = customerView(s, NOW);
    expect([v.firstName, v.lastName, v.email, v.phone, v.locale, v.timeZone, v.country, v.tier]).toEqual([
      'Maria',
      'Keller',
      'maria.keller@example.com',
      '+4915112345678',
      'de-DE',
      'Europe/Berlin',
      'DE',
      'gold',
    ]);
    expect(v.tags).toEqual(['newsletter', 'family-plan']);
    expect(v.lifecycle).toBe('prospect');
  });

  it('CustomerUpserted leaves fields the event does not carry untouched', () => {
    const first = sample('baton.crm/CustomerUpserted');
    const later = sample('baton.crm/CustomerUpserted', (r) => {
      r.id = 'evt-later';
      r.detail.occurredAt = '2026-12-01T00:00:00Z';
      r.detail.profile = { tier: 'platinum' };
    });
    const v = customerView(fold([later, first]), NOW);
    expect(v.tier).toBe('platinum');
    expect(v.firstName).toBe('Maria');
  });

  it('ConsentChanged records the channel, flag, source and time', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('baton.crm/ConsentChanged'));
    expect(s.consent.email).toEqual({ v: true, via: 'web-form', at: '2026-11-02T08:16:00.000Z', ev: '4c7e2f1a-0b3d-4e5f-9a8b-000000000002' });
    expect(customerView(s, NOW).consent).toEqual({ email: true, sms: false, push: false, device: false, call: false });
  });

  it('CustomerErased keeps only anonymous aggregates and no personal data', () => {
    const events = [
      'baton.crm/CustomerUpserted',
      'baton.crm/ConsentChanged',
      'baton.pos/SaleCompleted',
      'baton.erp/LicensePurchased',
      'baton.device/DeviceRegistered',
      'baton.device/ThreatDetected',
      'aws.ses/EmailSent',
      'aws.ses/EmailOpened',
    ].map((n) => sample(n));
    const s = fold([...events, sample('baton.crm/CustomerErased')]);
    const text = JSON.stringify(s);
    for (const personal of ['Maria', 'Keller', 'maria.keller', '+4915112345678', 'CRM-100234', 'LC-4400', 'LIC-7F3K', 'dev-5e1f9a2c', 'S-0042', 'dec-01JD3Q2W8K', 'Trojan', 'Europe/Berlin', 'renewals-2026']) {
      expect(text).not.toContain(personal);
    }
    const v = customerView(s, NOW);
    expect(v.erased).toBe(true);
    expect(v.lifecycle).toBe('erased');
    expect(v.consent).toEqual({ email: false, sms: false, push: false, device: false, call: false });
    expect([v.purchaseCount, v.lifetimeSpend, v.threatCount, v.opens, v.sent]).toEqual([1, 104.99, 1, 1, 1]);
    expect(s.erased).toEqual({ at: '2026-11-20T10:00:00.000Z', ev: '4c7e2f1a-0b3d-4e5f-9a8b-000000000003' });
  });

  it('events after an erasure do not bring personal data back, but still count anonymously', () => {
    const erased = fold([sample('baton.crm/CustomerErased')]);
    const s = foldEvents(erased, [sample('baton.crm/CustomerUpserted'), sample('baton.pos/SaleCompleted')]);
    expect(s.profile).toEqual({});
    expect(s.sales).toEqual([]);
    expect(JSON.stringify(s)).not.toContain('Maria');
    expect(customerView(s, NOW).purchaseCount).toBe(1);
  });

  it('LicensePurchased adds an active licence, its spend and the first purchase', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('baton.erp/LicensePurchased'));
    const v = customerView(s, new Date('2027-01-01T09:00:00Z'));
    expect(v.licences).toEqual([
      {
        licenseId: 'LIC-7F3K-22Q9',
        product: 'total-security',
        seats: 5,
        startsAt: '2026-11-02T09:00:00.000Z',
        expiresAt: '2027-11-02T09:00:00.000Z',
        status: 'active',
        daysLeft: 305,
      },
    ]);
    expect(v.products).toEqual(['total-security']);
    expect(v.daysToNextLicenseExpiry).toBe(305);
    expect(v.licenceSpend).toBe(79.99);
    expect(v.lifecycle).toBe('new');
    expect(s.counters.licencePurchases).toBe(1);
  });

  it('LicenseRenewalDue marks the licence due for renewal', () => {
    const s = fold([sample('baton.erp/LicensePurchased'), sample('baton.erp/LicenseRenewalDue')]);
    const v = customerView(s, new Date('2027-10-03T06:00:00Z'));
    expect(v.licences[0]?.status).toBe('renewal-due');
    expect(v.daysToNextLicenseExpiry).toBe(30);
    expect(v.lifecycle).toBe('renewal-due');
  });

  it('LicenseRenewed moves the expiry and makes the licence active again, in any order', () => {
    const events = [sample('baton.erp/LicensePurchased'), sample('baton.erp/LicenseRenewalDue'), sample('baton.erp/LicenseRenewed')];
    const s = fold(events);
    expect(fold([...events].reverse())).toEqual(s);
    const v = customerView(s, new Date('2027-10-21T00:00:00Z'));
    expect(v.licences[0]).toMatchObject({ status: 'active', expiresAt: '2028-11-02T09:00:00.000Z' });
    expect(v.licenceSpend).toBe(149.98);
    expect(s.counters.renewals).toBe(1);
  });

  it('LicenseExpired marks the licence expired and removes it from products', () => {
    const s = fold([sample('baton.erp/LicensePurchased'), sample('baton.erp/LicenseExpired')]);
    const v = customerView(s, new Date('2027-11-03T00:00:00Z'));
    expect(v.licences[0]?.status).toBe('expired');
    expect(v.products).toEqual([]);
    expect(v.daysToNextLicenseExpiry).toBeUndefined();
    expect(v.lifecycle).toBe('lapsed');
  });

  it('SaleCompleted counts the sale, its spend per category, and normalises the offset time', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('baton.pos/SaleCompleted'));
    const sale = entry(s.sales, 'S-0042-20261114-0193');
    expect(sale?.sale?.at).toBe('2026-11-14T15:42:10.000Z');
    expect(sale?.sale?.v).toEqual({ total: 10499, currency: 'EUR', cat: { 'security-software': 7999, accessories: 2500 } });
    const v = customerView(s, new Date('2026-11-20T00:00:00Z'));
    expect([v.purchaseCount, v.lifetimeSpend, v.spend30d, v.spend90d, v.daysSinceLastPurchase, v.currency]).toEqual([1, 104.99, 104.99, 104.99, 5, 'EUR']);
    expect(v.spendByCategory).toEqual({ 'security-software': 79.99, accessories: 25 });
    expect(v.lastPurchaseAt).toBe('2026-11-14T15:42:10.000Z');
  });

  it('SaleRefunded subtracts the refund, also when it arrives before its sale', () => {
    const sale = sample('baton.pos/SaleCompleted');
    const refund = sample('baton.pos/SaleRefunded');
    const early = applyEvent(newCustomer('cus-1'), refund);
    expect(customerView(early, NOW).lifetimeSpend).toBe(-25);
    const s = applyEvent(early, sale);
    expect(s).toEqual(fold([sale, refund]));
    const v = customerView(s, new Date('2026-11-20T00:00:00Z'));
    expect([v.purchaseCount, v.refundCount, v.lifetimeSpend, v.spend30d]).toEqual([1, 1, 79.99, 79.99]);
  });

  it('DeviceRegistered adds the device with platform, agent and last seen', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('baton.device/DeviceRegistered'));
    expect(customerView(s, NOW).devices).toEqual([
      { deviceId: 'dev-5e1f9a2c', platform: 'windows', status: 'unknown', agentVersion: '24.6.1', lastSeen: '2026-11-02T09:20:00.000Z', threats: 0, push: false },
    ]);
  });

  it('DeviceStatusReported sets status and agent version and moves last seen', () => {
    const s = fold([sample('baton.device/DeviceRegistered'), sample('baton.device/DeviceStatusReported')]);
    expect(customerView(s, NOW).devices[0]).toMatchObject({ status: 'at-risk', platform: 'windows', lastSeen: '2026-11-21T07:00:00.000Z' });
  });

  it('ThreatDetected records the threat once per threatId and counts it on its device', () => {
    const threat = sample('baton.device/ThreatDetected');
    const s = fold([sample('baton.device/DeviceRegistered'), threat]);
    expect(entry(s.threats, 'THR-88213')).toMatchObject({ deviceId: 'dev-5e1f9a2c', name: 'Trojan.GenericKD.4711', severity: 'high', action: 'quarantined' });
    expect(applyEvent(s, threat)).toEqual(s);
    const v = customerView(s, NOW);
    expect([v.threatCount, v.devices[0]?.threats]).toEqual([1, 1]);
  });

  it('MessageDisplayed records a device contact and the last contact on the device channel', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('baton.device/MessageDisplayed'));
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/device')).toEqual({ id: 'dec-01JD3Q2W8K/device', channel: 'device', sentAt: '2026-11-21T07:05:00.000Z' });
    const v = customerView(s, new Date('2026-11-23T08:00:00Z'));
    expect(v.lastContact).toEqual({ device: '2026-11-21T07:05:00.000Z' });
    expect(v.daysSinceLastContact).toEqual({ device: 2 });
    expect(v.displayed).toBe(1);
  });

  it('keeps email and device feedback of one decision apart', () => {
    // Both samples name decision dec-01JD3Q2W8K: one decision sent an email and a device message.
    const s = foldEvents(newCustomer('cus-1'), [sample('aws.ses/EmailClicked'), sample('baton.device/MessageDisplayed')]);
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/email')?.channel).toBe('email');
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/device')?.channel).toBe('device');
  });

  it('MessageClicked records the click on the device contact', () => {
    const s = fold([sample('baton.device/MessageDisplayed'), sample('baton.device/MessageClicked')]);
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/device')).toEqual({ id: 'dec-01JD3Q2W8K/device', channel: 'device', sentAt: '2026-11-21T07:05:00.000Z', clickedAt: '2026-11-21T07:05:40.000Z' });
    expect(customerView(s, NOW).clicks).toBe(1);
  });

  it('Email Sent records the contact by decisionId and the last email contact', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('aws.ses/EmailSent'));
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/email')).toEqual({ id: 'dec-01JD3Q2W8K/email', channel: 'email', campaignId: 'renewals-2026', sentAt: '2026-11-21T08:00:00.000Z' });
    expect(s.lastContact).toEqual({ email: '2026-11-21T08:00:00.000Z' });
    expect(s.counters.sent).toBe(1);
  });

  it('Email Delivered, Opened and Clicked record their times on the same contact', () => {
    const s = fold(['aws.ses/EmailClicked', 'aws.ses/EmailOpened', 'aws.ses/EmailDelivered'].map((n) => sample(n)));
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/email')).toEqual({
      id: 'dec-01JD3Q2W8K/email',
      channel: 'email',
      campaignId: 'renewals-2026',
      sentAt: '2026-11-21T08:00:00.000Z',
      deliveredAt: '2026-11-21T08:00:02.000Z',
      openedAt: '2026-11-21T08:30:00.000Z',
      clickedAt: '2026-11-21T08:31:00.000Z',
    });
    const v = customerView(s, NOW);
    expect([v.delivered, v.opens, v.clicks, v.lastContact.email]).toEqual([1, 1, 1, '2026-11-21T08:00:00.000Z']);
  });

  it('a permanent Email Bounced withdraws email consent at the bounce time', () => {
    const consent = sample('baton.crm/ConsentChanged');
    const s = fold([consent, sample('aws.ses/EmailBounced')]);
    expect(s.consent.email).toEqual({ v: false, via: 'bounce', at: '2026-11-21T08:00:03.000Z', ev: '4c7e2f1a-0b3d-4e5f-9a8b-000000000017' });
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/email')).toMatchObject({ bouncedAt: '2026-11-21T08:00:03.000Z', permanent: true });
    expect(customerView(s, NOW).bounces).toBe(1);
  });

  it('a transient Email Bounced counts but keeps consent', () => {
    const bounce = sample('aws.ses/EmailBounced', (r) => (r.detail.bounce.bounceType = 'Transient'));
    const s = fold([sample('baton.crm/ConsentChanged'), bounce]);
    expect(s.consent.email?.v).toBe(true);
    expect(s.counters.bounces).toBe(1);
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/email')?.permanent).toBeUndefined();
  });

  it('a consent given after a bounce wins over the bounce, by event time', () => {
    const regrant = sample('baton.crm/ConsentChanged', (r) => {
      r.id = 'evt-regrant';
      r.detail.occurredAt = '2026-12-01T00:00:00Z';
    });
    expect(fold([regrant, sample('aws.ses/EmailBounced')]).consent.email?.v).toBe(true);
  });

  it('Email Complaint Received withdraws email consent via complaint', () => {
    const s = fold([sample('baton.crm/ConsentChanged'), sample('aws.ses/EmailComplaintReceived')]);
    expect(s.consent.email).toMatchObject({ v: false, via: 'complaint', at: '2026-11-21T09:10:00.000Z' });
    expect(s.counters.complaints).toBe(1);
  });

  it('Email Delivery Delayed records the contact without changing counters', () => {
    const s = applyEvent(newCustomer('cus-1'), sample('aws.ses/EmailDeliveryDelayed'));
    expect(entry(s.contacts, 'dec-01JD3Q2W8K/email')?.sentAt).toBe('2026-11-21T08:00:00.000Z');
    expect(Object.values(s.counters).every((n) => n === 0)).toBe(true);
  });

  it('Email Rejected and Email Rendering Failed count as failed and are not a contact', () => {
    for (const name of ['aws.ses/EmailRejected', 'aws.ses/EmailRenderingFailed']) {
      const s = applyEvent(newCustomer('cus-1'), sample(name));
      expect(entry(s.contacts, 'dec-01JD3Q2W8K/email')).toEqual({ id: 'dec-01JD3Q2W8K/email', channel: 'email', campaignId: 'renewals-2026', failedAt: '2026-11-21T08:00:00.000Z' });
      expect(s.lastContact).toEqual({});
      expect(s.counters.failed).toBe(1);
    }
  });

  it('Email Subscribed withdraws email consent only when the customer unsubscribed from everything', () => {
    const topicOnly = fold([sample('baton.crm/ConsentChanged'), sample('aws.ses/EmailSubscribed')]);
    expect(topicOnly.consent.email?.v).toBe(true);
    const all = sample('aws.ses/EmailSubscribed', (r) => (r.detail.subscription.newTopicPreferences = { unsubscribeAll: true }));
    const s = fold([sample('baton.crm/ConsentChanged'), all]);
    expect(s.consent.email).toMatchObject({ v: false, via: 'unsubscribe', at: '2026-11-21T10:00:00.000Z' });
    expect(customerView(s, NOW).unsubscribes).toBe(1);
  });

  it('a Baton ActionRequested event changes nothing', () => {
    const s = fold([sample('baton.crm/CustomerUpserted')]);
    const action = { source: 'baton', 'detail-type': 'ActionRequested', id: 'a', time: '2026-01-01T00:00:00Z', detail: {} };
    expect(applyEvent(s, action as never)).toEqual(s);
  });
});

// ---- lifecycle, rule state, contacts, errors ------------------------------------------------

describe('derived fields and rule state', () => {
  it('lifecycle: new within 90 days of the first purchase, active within a year of the last, then lapsed', () => {
    const s = fold([sample('baton.pos/SaleCompleted')]);
    const at = (iso: string) => customerView(s, new Date(iso)).lifecycle;
    expect([at('2026-12-01T00:00:00Z'), at('2027-03-01T00:00:00Z'), at('2027-11-15T00:00:00Z')]).toEqual(['new', 'active', 'lapsed']);
  });

  it('applyRuleState sets custom fields by event time; they show at top level unless they clash', () => {
    const base = fold([sample('baton.crm/CustomerUpserted')]);
    const s1 = applyRuleState(base, { vipFlag: true, tier: 'diamond', score: 7 }, '2026-11-05T00:00:00Z', 'evt-b');
    const s2 = applyRuleState(s1, { score: 3 }, '2026-11-04T00:00:00Z', 'evt-a'); // older: loses
    const v = customerView(s2, NOW);
    expect([v['vipFlag'], v['score'], v.tier]).toEqual([true, 7, 'gold']);
    expect(v.custom).toEqual({ vipFlag: true, tier: 'diamond', score: 7 });
  });

  it('a lifecycle set by a rule overrides the derived stage until a rule sets it to auto', () => {
    const s = applyRuleState(newCustomer('cus-1'), { lifecycle: 'renewal-pending' }, '2026-11-05T00:00:00Z', 'e1');
    expect([customerView(s, NOW).lifecycle, customerView(s, NOW).lifecycleStage]).toEqual(['renewal-pending', 'prospect']);
    const back = applyRuleState(s, { lifecycle: 'auto' }, '2026-11-06T00:00:00Z', 'e2');
    expect(customerView(back, NOW).lifecycle).toBe('prospect');
  });

  it('applyRuleState rejects bad names and values without echoing the value', () => {
    const s = newCustomer('cus-1');
    const bad = () => applyRuleState(s, { note: `secret.person@example.com${'x'.repeat(300)}` }, '2026-11-05T00:00:00Z', 'e');
    expect(bad).toThrow(CustomerStateError);
    expect(bad).toThrow(/note/);
    expect(bad).not.toThrow(/secret\.person/);
    expect(() => applyRuleState(s, { __proto__x: 1 } as never, '2026-11-05T00:00:00Z', 'e')).toThrow(/name is not allowed/);
    expect(() => applyRuleState(s, { constructor: 1 } as never, '2026-11-05T00:00:00Z', 'e')).toThrow(CustomerStateError);
  });

  it('a bad time throws a typed error naming the field, not the value', () => {
    let error: unknown;
    try {
      applyRuleState(newCustomer('cus-1'), { a: 1 }, 'maria.keller@example.com', 'e');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CustomerStateError);
    expect((error as CustomerStateError).code).toBe('invalid-time');
    expect((error as Error).message).not.toContain('maria');
  });

  it('recordContact sets lastContact for channels without feedback events', () => {
    const s = recordContact(newCustomer('cus-1'), { channel: 'sms', decisionId: 'dec-9', at: '2026-11-05T10:00:00+01:00' });
    expect(s.lastContact).toEqual({ sms: '2026-11-05T09:00:00.000Z' });
    expect(entry(s.contacts, 'dec-9')).toEqual({ id: 'dec-9', channel: 'sms', sentAt: '2026-11-05T09:00:00.000Z' });
  });

  it('state and view survive a JSON round trip unchanged (no undefined, Map, Set or Date)', () => {
    fc.assert(
      fc.property(eventStreamArb(IDS, { maxLength: 30 }), (events) => {
        const s = applyRuleState(fold(events), { flag: true }, '2026-02-01T00:00:00Z', 'rule-evt');
        expect(jsonProblems(s)).toEqual([]);
        expect(JSON.parse(JSON.stringify(s))).toEqual(s);
        const v = customerView(s, NOW);
        expect(jsonProblems(v)).toEqual([]);
        expect(JSON.parse(JSON.stringify(v))).toEqual(v);
      }),
      { numRuns: 100 },
    );
  });
});

// ---- properties -----------------------------------------------------------------------------

describe('properties', () => {
  it('the arbitraries only produce events the catalog accepts', () => {
    fc.assert(
      fc.property(customerEventArb(IDS, { withErasure: true, validate: false }), (event) => {
        const parsed = parseEvent(JSON.stringify(event));
        expect(parsed.ok).toBe(true);
        // Unvalidated events already have the parsed shape, so the big streams may skip zod.
        expect(parsed.ok && parsed.event).toEqual(event);
      }),
      { numRuns: 500 },
    );
  });

  it('any permutation of an event stream gives a deep-equal state', () => {
    fc.assert(
      fc.property(permutedStreamArb(IDS, { maxLength: 60 }), ([events, shuffled]) => {
        expect(fold(shuffled)).toEqual(fold(events));
      }),
      { numRuns: 300 },
    );
  });

  it('order-insensitivity holds with many ties (few hours, shared keys)', () => {
    fc.assert(
      fc.property(permutedStreamArb(IDS, { maxLength: 40, days: 1 }), ([events, shuffled]) => {
        expect(fold(shuffled)).toEqual(fold(events));
      }),
      { numRuns: 300 },
    );
  });

  it('order-insensitivity holds with an erasure in the stream (one event per sale, refund and threat key)', () => {
    fc.assert(
      fc.property(permutedStreamArb(IDS, { maxLength: 40, withErasure: true }), ([events, shuffled]) => {
        const keep = uniqueKeys(events);
        expect(fold(shuffled.filter((e) => keep.has(e.id)))).toEqual(fold(events.filter((e) => keep.has(e.id))));
      }),
      { numRuns: 300 },
    );
  });

  it('applyEvent never mutates its input', () => {
    fc.assert(
      fc.property(eventStreamArb(IDS, { maxLength: 30, withErasure: true }), customerEventArb(IDS), (events, next) => {
        const state = fold(events);
        const snapshot = structuredClone(state);
        const eventSnapshot = structuredClone(next);
        deepFreeze(state);
        deepFreeze(next);
        applyEvent(state, next);
        expect(state).toEqual(snapshot);
        expect(next).toEqual(eventSnapshot);
      }),
      { numRuns: 300 },
    );
  });

  it('reducers marked idempotent give the same state when applied twice; the others do not', () => {
    fc.assert(
      fc.property(eventStreamArb(IDS, { maxLength: 20 }), customerEventArb(IDS), (events, event) => {
        const key = `${event.source}/${event['detail-type']}` as ReducerKey;
        const once = applyEvent(fold(events), event);
        const twice = applyEvent(once, event);
        if (IDEMPOTENT_REDUCERS.has(key)) expect(twice).toEqual(once);
        // These two add to a counter only when they unsubscribe (from all; through the link).
        else if (key !== 'aws.ses/Email Subscribed' && key !== 'baton.crm/ConsentChanged') expect(twice.counters).not.toEqual(once.counters);
        else if (event.detail.ids && 'via' in event.detail && event.detail.via === 'unsubscribe-link' && !event.detail.granted) {
          expect(twice.counters.unsubscribes).toBe(once.counters.unsubscribes + 1);
        } else if (key === 'baton.crm/ConsentChanged') expect(twice).toEqual(once);
      }),
      { numRuns: 500 },
    );
  });

  it('merge is commutative and associative', () => {
    const arb = (maxLength: number) => eventStreamArb(IDS, { maxLength });
    fc.assert(
      fc.property(arb(25), arb(25), arb(25), (a, b, c) => {
        const [sa, sb, sc] = [fold(a, 'cus-a'), fold(b, 'cus-b'), fold(c, 'cus-c')];
        expect(mergeCustomers(sa, sb)).toEqual(mergeCustomers(sb, sa));
        expect(mergeCustomers(mergeCustomers(sa, sb), sc)).toEqual(mergeCustomers(sa, mergeCustomers(sb, sc)));
      }),
      { numRuns: 200 },
    );
  });

  it('merge(fold(A), fold(B)) equals fold(A ∪ B): nothing lost when a provisional profile merges', () => {
    fc.assert(
      fc.property(eventStreamArb(IDS, { maxLength: 40 }), fc.nat(), (events, cut) => {
        const split = events.length ? cut % (events.length + 1) : 0;
        const [a, b] = [events.slice(0, split), events.slice(split)];
        const merged = mergeCustomers(fold(a, 'prov-1'), fold(b, 'cus-1'), { customerId: 'cus-1' });
        expect(merged).toEqual(fold(events, 'cus-1'));
        expect(customerView(merged, NOW)).toEqual(customerView(fold(events, 'cus-1'), NOW));
      }),
      { numRuns: 300 },
    );
  });

  it('merging with an erased profile keeps the totals and no personal data', () => {
    fc.assert(
      fc.property(eventStreamArb(IDS, { maxLength: 30 }), (events) => {
        const erased = fold([sample('baton.crm/CustomerErased')], 'cus-a');
        const live = fold(events, 'cus-b');
        const merged = mergeCustomers(live, erased);
        expect(merged.profile).toEqual({});
        expect(merged.erased).toBeDefined();
        expect(anonymousCounters(merged)).toEqual(anonymousCounters(live));
      }),
      { numRuns: 200 },
    );
  });

  it('view derived fields equal a simple reference computation from the events', () => {
    fc.assert(
      fc.property(eventStreamArb(IDS, { maxLength: 60 }), (events) => {
        const v = customerView(fold(events), NOW);
        const r = reference(events, NOW.getTime());
        expect({
          firstName: v.firstName,
          tier: v.tier,
          tags: v.tags,
          consent: v.consent,
          purchaseCount: v.purchaseCount,
          refundCount: v.refundCount,
          lifetimeSpend: v.lifetimeSpend,
          spend30d: v.spend30d,
          spend90d: v.spend90d,
          spendByCategory: v.spendByCategory,
          daysSinceLastPurchase: v.daysSinceLastPurchase,
          daysToNextLicenseExpiry: v.daysToNextLicenseExpiry,
          opens: v.opens,
          clicks: v.clicks,
          bounces: v.bounces,
          complaints: v.complaints,
          lastContact: v.lastContact,
          threatCount: v.threatCount,
          devices: v.devices.map((d) => [d.deviceId, d.status, d.threats]).sort(),
          lifecycle: v.lifecycle,
        }).toEqual(r);
      }),
      { numRuns: 300 },
    );
  });

  it('anonymous counters hold only numbers under fixed or category keys', () => {
    fc.assert(
      fc.property(eventStreamArb(IDS, { maxLength: 40, withErasure: true }), (events) => {
        const counters = anonymousCounters(fold(events));
        for (const [key, value] of Object.entries(counters)) {
          expect(typeof value).toBe('number');
          expect(key).toMatch(/^(category\..*|[a-zA-Z]+)$/);
        }
      }),
      { numRuns: 100 },
    );
  });
});

// ---- bounds ---------------------------------------------------------------------------------

describe('bounds', () => {
  const saleEvent = (i: number): CustomerEvent =>
    sample('baton.pos/SaleCompleted', (r) => {
      r.id = `evt-sale-${i}`;
      r.detail.saleId = `S-${String(i).padStart(4, '0')}`;
      r.detail.occurredAt = new Date(START + (i % 97) * DAY + i * 1000).toISOString();
      r.detail.total = (i % 50) + 0.25;
      r.detail.items = [{ sku: 'X', category: `c${i % 7}`, quantity: 1, unitPrice: (i % 50) + 0.25 }];
    });

  it('beyond the sales bound, the newest sales stay, totals stay exact, and order still does not matter', () => {
    const events = Array.from({ length: 250 }, (_, i) => saleEvent(i));
    const expectedMinor = events.reduce((sum, _e, i) => sum + ((i % 50) * 100 + 25), 0);
    const newest = [...events]
      .map((e) => [new Date((e.detail as { occurredAt: string }).occurredAt).toISOString(), (e.detail as { saleId: string }).saleId] as const)
      .sort((x, y) => (x[0] === y[0] ? (x[1] < y[1] ? -1 : 1) : x[0] < y[0] ? -1 : 1))
      .slice(-BOUNDS.sales)
      .map(([, id]) => id)
      .sort();
    fc.assert(
      fc.property(fc.shuffledSubarray(events, { minLength: 250, maxLength: 250 }), (shuffled) => {
        const s = fold(shuffled);
        expect(s.sales.map((e) => e.id)).toEqual(newest);
        const v = customerView(s, NOW);
        expect(v.purchaseCount).toBe(250);
        expect(Math.round(v.lifetimeSpend * 100)).toBe(expectedMinor);
        expect(s).toEqual(fold(events));
      }),
      { numRuns: 20 },
    );
  });

  it('no history exceeds its bound', () => {
    const pools = {
      saleIds: Array.from({ length: 300 }, (_, i) => `S-${i}`),
      threatIds: Array.from({ length: 300 }, (_, i) => `T-${i}`),
      decisionIds: Array.from({ length: 500 }, (_, i) => `D-${i}`),
      deviceIds: Array.from({ length: 60 }, (_, i) => `dev-${i}`),
      licenseIds: Array.from({ length: 60 }, (_, i) => `L-${i}`),
    };
    fc.assert(
      fc.property(eventStreamArb(IDS, { ...pools, minLength: 300, maxLength: 600 }), (events) => {
        const s = fold(events);
        expect(s.sales.length).toBeLessThanOrEqual(BOUNDS.sales);
        expect(s.threats.length).toBeLessThanOrEqual(BOUNDS.threats);
        expect(s.contacts.length).toBeLessThanOrEqual(BOUNDS.contacts);
        expect(s.devices.length).toBeLessThanOrEqual(BOUNDS.devices);
        expect(s.licences.length).toBeLessThanOrEqual(BOUNDS.licences);
        // Threats are exact even when dropped: every distinct threatId counts once.
        const threatIds = new Set(events.flatMap((e) => (e['detail-type'] === 'ThreatDetected' ? [(e.detail as { threatId: string }).threatId] : [])));
        expect(customerView(s, NOW).threatCount).toBe(threatIds.size);
      }),
      { numRuns: 10 },
    );
  });

  it('a profile after 100,000 random events stays under 100 KB of JSON with exact counters', () => {
    const many = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
    const events = fc.sample(
      customerEventArb(IDS, {
        days: 730,
        saleIds: many('S', 20_000),
        refundIds: many('R', 3),
        threatIds: many('THR', 20_000),
        decisionIds: many('dec', 20_000),
        deviceIds: many('dev', 40),
        licenseIds: many('LIC', 40),
        categories: many('cat', 60),
        validate: false,
      }),
      { numRuns: 100_000, seed: 20_261_121 },
    );
    const s = fold(events);
    expect(jsonBytes(s)).toBeLessThan(100_000);
    const count = (type: string) => events.filter((e) => e['detail-type'] === type).length;
    expect(s.counters.opens).toBe(count('Email Opened'));
    expect(s.counters.clicks).toBe(count('Email Clicked') + count('MessageClicked'));
    expect(s.contacts.length).toBe(BOUNDS.contacts);
  }, 300_000);

  it('a profile at every bound with every string at its schema maximum stays under 350 KB', () => {
    const long = (prefix: string, n: number) => (prefix + '-' + 'x'.repeat(n)).slice(0, n);
    const evId = (i: number) => long(`evt-${i}`, 128);
    const raws: Record<string, any>[] = [];
    let n = 0;
    const push = (name: string, patch: (r: Record<string, any>) => void) => {
      const r = loadSample(name) as Record<string, any>;
      r.id = evId(n++);
      patch(r);
      raws.push(r);
    };
    const when = (i: number) => new Date(START + i * 60_000).toISOString();
    push('baton.crm/CustomerUpserted', (r) => {
      r.detail.profile = {
        firstName: long('F', 100),
        lastName: long('L', 100),
        email: `${'e'.repeat(64)}@${'d'.repeat(180)}.com`,
        phone: '+491511234567890',
        locale: 'de-DE',
        timeZone: long('Z', 64),
        country: 'DE',
        tier: long('T', 32),
        tags: Array.from({ length: 50 }, (_, i) => long(`tag${i}`, 64)),
      };
    });
    for (const channel of CHANNELS) push('baton.crm/ConsentChanged', (r) => Object.assign(r.detail, { channel, via: long('via', 64) }));
    for (let i = 0; i < BOUNDS.sales + 5; i++) {
      const saleId = long(`sale${i}`, 128);
      push('baton.pos/SaleCompleted', (r) => {
        r.detail.saleId = saleId;
        r.detail.occurredAt = when(i);
        r.detail.items = Array.from({ length: 20 }, (_, k) => ({ sku: 'X', category: long(`cat${i}-${k}`, 64), quantity: 1, unitPrice: 1 }));
      });
      for (let k = 0; k < BOUNDS.refundsPerSale + 1; k++) {
        push('baton.pos/SaleRefunded', (r) => Object.assign(r.detail, { saleId, refundId: long(`ref${i}-${k}`, 128), occurredAt: when(i + 1) }));
      }
    }
    for (let i = 0; i < BOUNDS.licences + 5; i++) {
      push('baton.erp/LicensePurchased', (r) => Object.assign(r.detail, { licenseId: long(`lic${i}`, 128), product: long('prod', 128), occurredAt: when(i) }));
    }
    for (let i = 0; i < BOUNDS.devices + 5; i++) {
      const deviceId = long(`dev${i}`, 128);
      // Later than the threats, so the devices kept are the fully described ones.
      push('baton.device/DeviceRegistered', (r) =>
        Object.assign(r.detail, { deviceId, ids: { deviceId }, agentVersion: long('a', 32), pushEndpointArn: long('arn:x', 512), occurredAt: when(1000 + i) }),
      );
      push('baton.device/DeviceStatusReported', (r) =>
        Object.assign(r.detail, { deviceId, ids: { deviceId }, agentVersion: long('b', 32), occurredAt: when(1001 + i) }),
      );
    }
    for (let i = 0; i < BOUNDS.threats + 5; i++) {
      const deviceId = long(`dev${i % BOUNDS.devices}`, 128);
      push('baton.device/ThreatDetected', (r) =>
        Object.assign(r.detail, { deviceId, ids: { deviceId }, threatId: long(`thr${i}`, 128), threatName: long('name', 256), occurredAt: when(i) }),
      );
    }
    for (let i = 0; i < BOUNDS.contacts + 5; i++) {
      push('aws.ses/EmailBounced', (r) => {
        r.detail.mail.timestamp = when(i);
        r.detail.mail.messageId = long(`m${i}`, 256);
        r.detail.mail.tags = { decisionId: [long(`dec${i}`, 500)], campaignId: [long('camp', 500)] };
      });
      for (const name of ['aws.ses/EmailDelivered', 'aws.ses/EmailOpened', 'aws.ses/EmailClicked', 'aws.ses/EmailComplaintReceived']) {
        push(name, (r) => {
          r.detail.mail.timestamp = when(i);
          r.detail.mail.tags = { decisionId: [long(`dec${i}`, 500)], campaignId: [long('camp', 500)] };
        });
      }
    }
    const events = raws.map((raw) => {
      const result = parseEvent(raw);
      if (!result.ok) throw new Error(result.reason);
      return result.event;
    });
    let s = foldEvents(newCustomer(long('cus', 128)), events);
    for (let i = 0; i < BOUNDS.custom + 5; i++) s = applyRuleState(s, { [long(`f${i}`, 64)]: long('v', 256) }, when(i), evId(i));
    expect(s.sales.length).toBe(BOUNDS.sales);
    expect(s.contacts.length).toBe(BOUNDS.contacts);
    expect(Object.keys(s.custom).length).toBe(BOUNDS.custom);
    expect(jsonBytes(s)).toBeLessThan(350_000);
  });
});

// ---- the reference ----------------------------------------------------------------------------

/** Keeps the first event per sale, refund and threat key (what erasure's exactness needs). */
function uniqueKeys(events: readonly CustomerEvent[]): Set<string> {
  const seen = new Set<string>();
  const keep = new Set<string>();
  for (const e of events) {
    const d = e.detail as Record<string, unknown>;
    const key =
      e['detail-type'] === 'SaleCompleted'
        ? `sale:${d['saleId']}`
        : e['detail-type'] === 'SaleRefunded'
          ? `refund:${d['saleId']}:${d['refundId']}`
          : e['detail-type'] === 'ThreatDetected'
            ? `threat:${d['threatId']}`
            : `event:${e.id}`;
    if (!seen.has(key)) {
      seen.add(key);
      keep.add(e.id);
    }
  }
  return keep;
}

/** Derived fields computed the simple way: sort by (time, id), overwrite, count. */
function reference(events: readonly CustomerEvent[], now: number) {
  const d = (e: CustomerEvent) => e.detail as Record<string, any>;
  const time = (e: CustomerEvent): number => {
    const x = d(e);
    if (e.source !== 'aws.ses') return Date.parse(x['occurredAt']);
    const inner = { Delivery: 'delivery', Bounce: 'bounce', Complaint: 'complaint', Open: 'open', Click: 'click', DeliveryDelay: 'deliveryDelay', Subscription: 'subscription' }[
      x['eventType'] as string
    ];
    return Date.parse(inner ? x[inner].timestamp : x['mail'].timestamp);
  };
  const sorted = [...events].sort((a, b) => time(a) - time(b) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const cents = (amount: number) => Math.round(amount * 100);
  const days = (from: number, to: number) => Math.floor((to - from) / DAY);

  const profile: Record<string, unknown> = {};
  const consent: Record<string, boolean> = { email: false, sms: false, push: false, device: false, call: false };
  const sales = new Map<string, { at: number; total: number; items: { category: string; quantity: number; unitPrice: number }[] }>();
  const refunds = new Map<string, { saleId: string; at: number; amount: number }>();
  const licences = new Map<string, { exp?: number; status?: string }>();
  const devices = new Map<string, string>();
  const threats = new Map<string, string>();
  const lastContact: Record<string, string> = {};
  let opens = 0;
  let clicks = 0;
  let bounces = 0;
  let complaints = 0;
  let firstPurchase: number | undefined;

  for (const e of sorted) {
    const x = d(e);
    const t = time(e);
    switch (e['detail-type']) {
      case 'CustomerUpserted':
        Object.assign(profile, x['profile']);
        break;
      case 'ConsentChanged':
        consent[x['channel']] = x['granted'];
        break;
      case 'SaleCompleted':
        sales.set(x['saleId'], { at: t, total: cents(x['total']), items: x['items'] });
        firstPurchase = Math.min(firstPurchase ?? t, t);
        break;
      case 'SaleRefunded':
        refunds.set(`${x['saleId']}\u0000${x['refundId']}`, { saleId: x['saleId'], at: t, amount: cents(x['amount']) });
        break;
      case 'LicensePurchased':
        firstPurchase = Math.min(firstPurchase ?? t, t);
        licences.set(x['licenseId'], { exp: Date.parse(x['expiresAt']), status: 'active' });
        break;
      case 'LicenseRenewed':
        licences.set(x['licenseId'], { exp: Date.parse(x['expiresAt']), status: 'active' });
        break;
      case 'LicenseRenewalDue':
        licences.set(x['licenseId'], { exp: Date.parse(x['expiresAt']), status: 'renewal-due' });
        break;
      case 'LicenseExpired':
        licences.set(x['licenseId'], { exp: Date.parse(x['expiredAt']), status: 'expired' });
        break;
      case 'DeviceStatusReported':
        devices.set(x['deviceId'], x['status']);
        break;
      case 'DeviceRegistered':
      case 'MessageDisplayed':
      case 'MessageClicked':
        if (!devices.has(x['deviceId'])) devices.set(x['deviceId'], 'unknown');
        if (e['detail-type'] === 'MessageClicked') clicks += 1;
        if (e['detail-type'] === 'MessageDisplayed' && (!lastContact['device'] || new Date(t).toISOString() > lastContact['device'])) {
          lastContact['device'] = new Date(t).toISOString();
        }
        break;
      case 'ThreatDetected':
        if (!devices.has(x['deviceId'])) devices.set(x['deviceId'], 'unknown');
        threats.set(x['threatId'], x['deviceId']);
        break;
      case 'CaseOpened':
      case 'CallCompleted':
        // A case changes nothing derived; a call's outcome is a custom field (lastCallOutcome), not derived.
        break;
      case 'MemberEnrolled':
      case 'PartnerSaleCompleted':
      case 'PartnerSaleRefunded':
        // Loyalty: the ledger keeps them; the profile only sees the customer.
        break;
      default: {
        // SES
        const sent = new Date(Date.parse(x['mail'].timestamp)).toISOString();
        if (x['eventType'] !== 'Reject' && x['eventType'] !== 'Rendering Failure' && (!lastContact['email'] || sent > lastContact['email'])) {
          lastContact['email'] = sent;
        }
        if (x['eventType'] === 'Open') opens += 1;
        if (x['eventType'] === 'Click') clicks += 1;
        if (x['eventType'] === 'Bounce') {
          bounces += 1;
          if (x['bounce'].bounceType === 'Permanent') consent['email'] = false;
        }
        if (x['eventType'] === 'Complaint') {
          complaints += 1;
          consent['email'] = false;
        }
        if (x['eventType'] === 'Subscription' && x['subscription'].newTopicPreferences?.unsubscribeAll === true) consent['email'] = false;
      }
    }
  }

  let net = 0;
  const byCategory: Record<string, number> = {};
  const entryTime = new Map<string, number>();
  const entryNet = new Map<string, number>();
  for (const [saleId, sale] of sales) {
    net += sale.total;
    entryTime.set(saleId, sale.at);
    entryNet.set(saleId, sale.total);
    for (const item of sale.items) {
      Object.defineProperty(byCategory, item.category, {
        value: (Object.hasOwn(byCategory, item.category) ? byCategory[item.category]! : 0) + item.quantity * cents(item.unitPrice),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
  }
  for (const r of refunds.values()) {
    net -= r.amount;
    if (!sales.has(r.saleId)) entryTime.set(r.saleId, Math.min(entryTime.get(r.saleId) ?? r.at, r.at));
    entryNet.set(r.saleId, (entryNet.get(r.saleId) ?? 0) - r.amount);
  }
  const spendSince = (since: number) => [...entryNet].reduce((sum, [id, value]) => ((entryTime.get(id) ?? 0) > since ? sum + value : sum), 0) / 100;
  for (const k of Object.keys(byCategory)) byCategory[k] = byCategory[k]! / 100;

  const lastSale = sales.size ? Math.max(...[...sales.values()].map((s) => s.at)) : undefined;
  const live = [...licences.values()].filter((l) => l.status !== 'expired' && l.exp !== undefined && l.exp > now);
  const daysLeft = live.map((l) => days(now, l.exp!));
  const threatsPerDevice = (id: string) => [...threats.values()].filter((dev) => dev === id).length;

  let lifecycle: string;
  if (firstPurchase === undefined) lifecycle = 'prospect';
  else if (live.some((l) => l.status === 'renewal-due' || days(now, l.exp!) <= 30)) lifecycle = 'renewal-due';
  else if (days(firstPurchase, now) < 90) lifecycle = 'new';
  else if (live.length > 0 || (lastSale !== undefined && days(lastSale, now) < 365)) lifecycle = 'active';
  else lifecycle = 'lapsed';

  return {
    firstName: profile['firstName'],
    tier: profile['tier'],
    tags: (profile['tags'] as string[] | undefined) ?? [],
    consent,
    purchaseCount: sales.size,
    refundCount: refunds.size,
    lifetimeSpend: net / 100,
    spend30d: spendSince(now - 30 * DAY),
    spend90d: spendSince(now - 90 * DAY),
    spendByCategory: byCategory,
    daysSinceLastPurchase: lastSale === undefined ? undefined : days(lastSale, now),
    daysToNextLicenseExpiry: daysLeft.length ? Math.min(...daysLeft) : undefined,
    opens,
    clicks,
    bounces,
    complaints,
    lastContact,
    threatCount: threats.size,
    devices: [...devices].map(([id, status]) => [id, status, threatsPerDevice(id)]).sort(),
    lifecycle,
  };
}

// Keep the list of generated types honest: every customer type except erasure is drawn by default.
it('the default arbitrary covers every reducer except CustomerErased', () => {
  expect([...ALL_TYPES, 'baton.crm/CustomerErased'].sort()).toEqual(Object.keys(REDUCERS).sort());
});
