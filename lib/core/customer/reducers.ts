// One reducer per detail-type. Each describes what its event says as a small CustomerState and
// merges it into the current state with mergeCustomers, so applying events and merging profiles are
// the same operation and share one proof of order-insensitivity. Pure: no I/O, no clock.
import { CONTEXT_DETAIL_TYPES, sesEventTime, type BatonEvent, type Channel } from '../../../events/catalog.ts';
import { mergeCustomers, capCategories, addCategories } from './merge.ts';
import type { ContactTime } from '../channels/feedback.ts';
import {
  BOUNDS,
  CustomerStateError,
  MAX_THREAT_NAME_CHARS,
  PROFILE_FIELDS,
  clip,
  newCustomer,
  setOwn,
  single,
  stampId,
  toMinor,
  utc,
  type CounterKey,
  type CustomValue,
  type CustomerState,
  type Licence,
  type LicenceStatus,
  type Reg,
  type Stamp,
} from './state.ts';

/**
 * The events that describe a customer (Baton's own `baton`, `baton.segments`, `baton.journeys` and
 * `baton.loyalty` events change no state, nor do the business-context events).
 */
export type CustomerEvent = Exclude<BatonEvent, { source: 'baton' | 'baton.segments' | 'baton.journeys' | 'baton.loyalty' } | { 'detail-type': (typeof CONTEXT_DETAIL_TYPES)[number] }>;
export type Reducer<E extends CustomerEvent = CustomerEvent> = (state: CustomerState, event: E) => CustomerState;
type Describe<E extends CustomerEvent> = (delta: CustomerState, event: E, stamp: Stamp) => void;

type ByKey = { [E in CustomerEvent as `${E['source']}/${E['detail-type']}`]: E };
export type ReducerKey = keyof ByKey;

/** The time an event happened: `occurredAt`, or for SES the time of the thing it reports. */
export function eventTime(event: CustomerEvent): string {
  if (event.source !== 'aws.ses') return utc(event.detail.occurredAt, 'detail.occurredAt');
  const { at, field } = sesEventTime(event['detail-type'], event.detail);
  return utc(at, field);
}

const reg = <T>(v: T, s: Stamp): Reg<T> => ({ v, at: s.at, ev: s.ev });

// ---- crm ------------------------------------------------------------------------------------

const customerUpserted: Describe<ByKey['baton.crm/CustomerUpserted']> = (d, e, s) => {
  const p = e.detail.profile;
  for (const field of PROFILE_FIELDS) {
    const value = p[field];
    if (value !== undefined) d.profile[field] = reg(value, s);
  }
  // The CRM sends the whole tag list, so the newest list replaces the older one.
  if (p.tags !== undefined) d.profile.tags = reg([...new Set(p.tags)], s);
};

/** The `via` of the ConsentChanged Baton's own unsubscribe link publishes (lib/app/unsubscribe.ts). */
export const UNSUBSCRIBE_LINK_VIA = 'unsubscribe-link';

const consentChanged: Describe<ByKey['baton.crm/ConsentChanged']> = (d, e, s) => {
  d.consent[e.detail.channel] = { ...reg(e.detail.granted, s), via: e.detail.via };
  // A withdrawal through the link in a message is an unsubscribe, as SES's "unsubscribe from all" is.
  if (!e.detail.granted && e.detail.via === UNSUBSCRIBE_LINK_VIA) d.counters.unsubscribes = 1;
};

const customerErased: Describe<ByKey['baton.crm/CustomerErased']> = (d, _e, s) => {
  d.erased = { at: s.at, ev: s.ev };
};

/**
 * What the call centre reports of a call Baton booked: kept as the customer's `lastCallOutcome`,
 * `lastCallAt` and `lastCallTeam` (custom registers, last occurrence wins), so the next decision's
 * `if` reads it (docs/channels.md, "Calls").
 */
export const CALL_FIELDS = { outcome: 'lastCallOutcome', at: 'lastCallAt', team: 'lastCallTeam' } as const;

const callCompleted: Describe<ByKey['baton.crm/CallCompleted']> = (d, e, s) => {
  setOwn(d.custom, CALL_FIELDS.outcome, reg(e.detail.outcome, s));
  setOwn(d.custom, CALL_FIELDS.at, reg(s.at, s));
  setOwn(d.custom, CALL_FIELDS.team, reg(e.detail.team, s));
};

// ---- erp ------------------------------------------------------------------------------------

type LicenceEvent = ByKey['baton.erp/LicensePurchased' | 'baton.erp/LicenseRenewalDue' | 'baton.erp/LicenseRenewed' | 'baton.erp/LicenseExpired'];

/** What every ERP licence event says: the product, when the licence ends, and its status. */
function licence(d: CustomerState, x: LicenceEvent['detail'], s: Stamp, ends: string, status: LicenceStatus, more: Partial<Licence> = {}): void {
  d.licences = [{ id: x.licenseId, product: reg(x.product, s), ...more, expiresAt: reg(ends, s), status: reg(status, s) }];
}

const licensePurchased: Describe<ByKey['baton.erp/LicensePurchased']> = (d, e, s) => {
  const x = e.detail;
  const startsAt = reg(utc(x.startsAt, 'detail.startsAt'), s);
  licence(d, x, s, utc(x.expiresAt, 'detail.expiresAt'), 'active', { seats: reg(x.seats, s), startsAt });
  d.counters.licencePurchases = 1;
  d.counters.licenceSpend = toMinor(x.amount);
  d.firstPurchaseAt = s.at;
};

const licenseRenewalDue: Describe<ByKey['baton.erp/LicenseRenewalDue']> = (d, e, s) => {
  licence(d, e.detail, s, utc(e.detail.expiresAt, 'detail.expiresAt'), 'renewal-due');
};

const licenseRenewed: Describe<ByKey['baton.erp/LicenseRenewed']> = (d, e, s) => {
  licence(d, e.detail, s, utc(e.detail.expiresAt, 'detail.expiresAt'), 'active');
  d.counters.renewals = 1;
  d.counters.licenceSpend = toMinor(e.detail.amount);
};

const licenseExpired: Describe<ByKey['baton.erp/LicenseExpired']> = (d, e, s) => {
  licence(d, e.detail, s, utc(e.detail.expiredAt, 'detail.expiredAt'), 'expired');
};

// ---- pos ------------------------------------------------------------------------------------

const saleCompleted: Describe<ByKey['baton.pos/SaleCompleted']> = (d, e, s) => {
  const x = e.detail;
  const cat: Record<string, number> = {};
  // Integer cents per unit times quantity: sums stay exact.
  for (const item of x.items) addCategories(cat, single(item.category, item.quantity * toMinor(item.unitPrice)));
  d.sales = [
    { id: x.saleId, sale: reg({ total: toMinor(x.total), currency: x.currency, cat: capCategories(cat, BOUNDS.categoriesPerSale) }, s) },
  ];
  d.firstPurchaseAt = s.at;
};

const saleRefunded: Describe<ByKey['baton.pos/SaleRefunded']> = (d, e, s) => {
  const x = e.detail;
  // Keyed by saleId even when the sale has not arrived yet: the entry waits for it.
  d.sales = [{ id: x.saleId, refunds: [{ id: x.refundId, ...reg(toMinor(x.amount), s) }] }];
};

// ---- device ---------------------------------------------------------------------------------

function seen(d: CustomerState, deviceId: string, at: string): void {
  d.devices = [{ id: deviceId, lastSeen: at }];
}

const deviceRegistered: Describe<ByKey['baton.device/DeviceRegistered']> = (d, e, s) => {
  const x = e.detail;
  d.devices = [
    {
      id: x.deviceId,
      platform: reg(x.platform, s),
    agentVersion: reg(x.agentVersion, s),
      ...(x.pushEndpointArn !== undefined ? { pushEndpointArn: reg(x.pushEndpointArn, s) } : {}),
      lastSeen: s.at,
    },
  ];
};

const deviceStatusReported: Describe<ByKey['baton.device/DeviceStatusReported']> = (d, e, s) => {
  const x = e.detail;
  d.devices = [{ id: x.deviceId, status: reg(x.status, s), agentVersion: reg(x.agentVersion, s), lastSeen: s.at }];
};

const threatDetected: Describe<ByKey['baton.device/ThreatDetected']> = (d, e, s) => {
  const x = e.detail;
  d.threats = [{ id: x.threatId, deviceId: x.deviceId, name: clip(x.threatName, MAX_THREAT_NAME_CHARS), severity: x.severity, action: x.action, at: s.at, ev: s.ev }];
  seen(d, x.deviceId, s.at);
};

const messageDisplayed: Describe<ByKey['baton.device/MessageDisplayed']> = (d, e, s) => {
  d.contacts = [{ id: `${clip(e.detail.decisionId)}/device`, channel: 'device', sentAt: s.at }];
  d.lastContact.device = s.at;
  d.counters.displayed = 1;
  seen(d, e.detail.deviceId, s.at);
};

const messageClicked: Describe<ByKey['baton.device/MessageClicked']> = (d, e, s) => {
  d.contacts = [{ id: `${clip(e.detail.decisionId)}/device`, channel: 'device', clickedAt: s.at }];
  d.counters.clicks = 1;
  seen(d, e.detail.deviceId, s.at);
};

// ---- ses ------------------------------------------------------------------------------------

type SesEvent = Extract<CustomerEvent, { source: 'aws.ses' }>;

/**
 * Every SES event carries the send time in `mail.timestamp`, so the contact entry gets a stable
 * `sentAt` whichever of its events arrives first, and lastContact follows from any of them.
 */
function sesContact(d: CustomerState, e: SesEvent, sent: boolean): Record<string, unknown> {
  const mail = e.detail.mail;
  const decisionId = mail.tags?.['decisionId']?.[0];
  const campaignId = mail.tags?.['campaignId']?.[0];
  // Keyed per decision *and* channel: one decision may also have a device message with its own feedback.
  const key = decisionId ? `${clip(decisionId)}/email` : `msg:${clip(mail.messageId)}`;
  const mailAt = utc(mail.timestamp, 'detail.mail.timestamp');
  const contact = {
    id: key,
    channel: 'email' as Channel,
    ...(campaignId ? { campaignId: clip(campaignId) } : {}),
    ...(sent ? { sentAt: mailAt } : {}),
  };
  d.contacts = [contact];
  if (sent) d.lastContact.email = mailAt;
  return contact;
}

const withdrawEmail = (d: CustomerState, s: Stamp, via: string): void => {
  d.consent.email = { ...reg(false, s), via };
};

/** An SES event that stamps one time on the message's contact entry and counts it. */
const sesOutcome =
  (time: ContactTime, counter: CounterKey, sent = true): Describe<SesEvent> =>
  (d, e, s) => {
    Object.assign(sesContact(d, e, sent), { [time]: s.at });
    d.counters[counter] = 1;
  };

const emailSent: Describe<ByKey['aws.ses/Email Sent']> = (d, e) => {
  sesContact(d, e, true);
  d.counters.sent = 1;
};
const emailDelivered = sesOutcome('deliveredAt', 'delivered');
const emailOpened = sesOutcome('openedAt', 'opens');
const emailClicked = sesOutcome('clickedAt', 'clicks');
const emailBounced: Describe<ByKey['aws.ses/Email Bounced']> = (d, e, s) => {
  const permanent = e.detail.bounce.bounceType === 'Permanent';
  Object.assign(sesContact(d, e, true), { bouncedAt: s.at, ...(permanent ? { permanent: true } : {}) });
  d.counters.bounces = 1;
  // A transient (mailbox full) or undetermined bounce says nothing about the address; a permanent one does.
  if (permanent) withdrawEmail(d, s, 'bounce');
};
const complained = sesOutcome('complainedAt', 'complaints');
const emailComplaint: Describe<ByKey['aws.ses/Email Complaint Received']> = (d, e, s) => {
  complained(d, e, s);
  withdrawEmail(d, s, 'complaint');
};
const emailDelayed: Describe<ByKey['aws.ses/Email Delivery Delayed']> = (d, e) => {
  sesContact(d, e, true);
};
// Rejected and unrendered messages never reached the customer: no sentAt, no lastContact.
const emailFailed = sesOutcome('failedAt', 'failed', false);
const emailSubscribed: Describe<ByKey['aws.ses/Email Subscribed']> = (d, e, s) => {
  const contact = sesContact(d, e, true);
  // Only "unsubscribe from everything" withdraws email consent; a topic change is the list's business.
  const prefs = e.detail.subscription['newTopicPreferences'];
  const all = typeof prefs === 'object' && prefs !== null && (prefs as Record<string, unknown>)['unsubscribeAll'] === true;
  if (all) {
    Object.assign(contact, { unsubscribedAt: s.at });
    d.counters.unsubscribes = 1;
    withdrawEmail(d, s, 'unsubscribe');
  }
};

// ---- the map --------------------------------------------------------------------------------

const DESCRIBE: { [K in ReducerKey]: Describe<ByKey[K]> } = {
  'baton.crm/CustomerUpserted': customerUpserted,
  'baton.crm/ConsentChanged': consentChanged,
  'baton.crm/CustomerErased': customerErased,
  'baton.crm/CallCompleted': callCompleted,
  // The case itself is the CRM's; rules read it from the event (`when`), the profile keeps nothing of it.
  'baton.crm/CaseOpened': () => undefined,
  'baton.erp/LicensePurchased': licensePurchased,
  'baton.erp/LicenseRenewalDue': licenseRenewalDue,
  'baton.erp/LicenseRenewed': licenseRenewed,
  'baton.erp/LicenseExpired': licenseExpired,
  'baton.pos/SaleCompleted': saleCompleted,
  'baton.pos/SaleRefunded': saleRefunded,
  'baton.device/DeviceRegistered': deviceRegistered,
  'baton.device/DeviceStatusReported': deviceStatusReported,
  'baton.device/ThreatDetected': threatDetected,
  'baton.device/MessageDisplayed': messageDisplayed,
  'baton.device/MessageClicked': messageClicked,
  'aws.ses/Email Sent': emailSent,
  'aws.ses/Email Delivered': emailDelivered,
  'aws.ses/Email Opened': emailOpened,
  'aws.ses/Email Clicked': emailClicked,
  'aws.ses/Email Bounced': emailBounced,
  'aws.ses/Email Complaint Received': emailComplaint,
  'aws.ses/Email Delivery Delayed': emailDelayed,
  'aws.ses/Email Rejected': emailFailed,
  'aws.ses/Email Rendering Failed': emailFailed,
  'aws.ses/Email Subscribed': emailSubscribed,
  // Loyalty (docs/loyalty.md): the ledger keeps membership and points; the profile only sees the customer.
  'baton.crm/MemberEnrolled': () => undefined,
  'baton.partners/PartnerSaleCompleted': () => undefined,
  'baton.partners/PartnerSaleRefunded': () => undefined,
};

/**
 * Reducers that give the same state when the same event is applied twice (LWW registers, min/max
 * times, histories keyed by saleId/refundId/threatId). The others add to counters and rely on the
 * lead's event-id marker; `aws.ses/Email Subscribed` is idempotent unless it unsubscribes from all,
 * `baton.crm/ConsentChanged` unless it is a withdrawal through the unsubscribe link.
 * Keyed idempotence holds while the entry is in its history and the profile is not erased.
 */
export const IDEMPOTENT_REDUCERS: ReadonlySet<ReducerKey> = new Set<ReducerKey>([
  'baton.crm/CustomerUpserted',
  'baton.crm/CustomerErased',
  'baton.crm/CallCompleted',
  'baton.crm/CaseOpened',
  'baton.erp/LicenseRenewalDue',
  'baton.erp/LicenseExpired',
  'baton.pos/SaleCompleted',
  'baton.pos/SaleRefunded',
  'baton.device/DeviceRegistered',
  'baton.device/DeviceStatusReported',
  'baton.device/ThreatDetected',
  'aws.ses/Email Delivery Delayed',
  'baton.crm/MemberEnrolled',
  'baton.partners/PartnerSaleCompleted',
  'baton.partners/PartnerSaleRefunded',
]);

/**
 * The state one event describes on its own (a "delta"): applying the event is merging this into the
 * current state. Exported because the lead's provisional-profile path and tests reuse it.
 */
export function describeEvent(customerId: string, event: CustomerEvent): CustomerState {
  const describe = DESCRIBE[keyOf(event)] as Describe<CustomerEvent>;
  const delta = newCustomer(customerId);
  const stamp: Stamp = { at: eventTime(event), ev: stampId(event.id) };
  delta.firstSeen = stamp.at;
  delta.lastSeen = stamp.at;
  describe(delta, event, stamp);
  return delta;
}

function keyOf(event: CustomerEvent): ReducerKey {
  return `${event.source}/${event['detail-type']}` as ReducerKey;
}

/** One reducer per `${source}/${detail-type}`; each returns a new state and never mutates its input. */
export const REDUCERS: { readonly [K in ReducerKey]: Reducer<ByKey[K]> } = Object.fromEntries(
  (Object.keys(DESCRIBE) as ReducerKey[]).map((key) => [
    key,
    (state: CustomerState, event: CustomerEvent) =>
      mergeCustomers(state, describeEvent(state.customerId, event), { customerId: state.customerId }),
  ]),
) as unknown as { readonly [K in ReducerKey]: Reducer<ByKey[K]> };

const CONTEXT_TYPES: ReadonlySet<string> = new Set(CONTEXT_DETAIL_TYPES);
export function isCustomerEvent(event: BatonEvent): event is CustomerEvent {
  return event.source !== 'baton' && event.source !== 'baton.segments' && event.source !== 'baton.journeys' && event.source !== 'baton.loyalty' && !CONTEXT_TYPES.has(event['detail-type']);
}

/**
 * Applies one validated event to a state and returns the new state (the input is left untouched).
 * Baton's own `baton` and `baton.segments` events and detail-types without a reducer change nothing.
 */
export function applyEvent(state: CustomerState, event: BatonEvent): CustomerState {
  if (!isCustomerEvent(event)) return { ...state };
  const key = keyOf(event);
  if (!Object.hasOwn(REDUCERS, key)) return { ...state };
  return (REDUCERS[key] as Reducer)(state, event);
}

/** Applies events in the order given; the result is the same for any order (see docs). */
export function foldEvents(state: CustomerState, events: Iterable<BatonEvent>): CustomerState {
  let s = state;
  for (const e of events) s = applyEvent(s, e);
  return s;
}

// ---- rule state and contacts Baton makes itself ------------------------------------------

/** Names a rule may set: start with a letter, then letters, digits, `_`, `-` or `.`, at most 64. */
export const CUSTOM_FIELD_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const MAX_CUSTOM_STRING = 256;

/**
 * Sets marketer-defined attributes from a rule's `setState`, last-writer-wins like every field.
 * `at` is the time of the event the rule fired on (so a replay gives the same answer), `eventId` its id.
 * Throws CustomerStateError (naming the field, never the value) for an invalid name or value.
 */
export function applyRuleState(
  state: CustomerState,
  fields: Record<string, CustomValue>,
  at: string,
  eventId: string,
): CustomerState {
  const stamp: Stamp = { at: utc(at, 'at'), ev: stampId(eventId) };
  const delta = newCustomer(state.customerId);
  for (const [name, value] of Object.entries(fields)) {
    if (!CUSTOM_FIELD_NAME.test(name) || name === 'constructor' || name === 'prototype') {
      throw new CustomerStateError('invalid-custom-field', `setState field name is not allowed; expected ${CUSTOM_FIELD_NAME}`);
    }
    const ok =
      typeof value === 'boolean' ||
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.length <= MAX_CUSTOM_STRING);
    if (!ok) {
      throw new CustomerStateError(
        'invalid-custom-field',
        `setState field "${name}" has an invalid value; expected a boolean, a finite number or a string of at most ${MAX_CUSTOM_STRING} characters`,
      );
    }
    setOwn(delta.custom, name, reg(value, stamp));
  }
  if (Object.keys(delta.custom).length === 0) return { ...state };
  return mergeCustomers(state, delta, { customerId: state.customerId });
}

/**
 * Records a contact Baton made itself (e.g. an SMS or push handed to SNS, for which no feedback event
 * exists), so `lastContact` and the contact history see it when the decision commits.
 */
export function recordContact(
  state: CustomerState,
  contact: { channel: Channel; decisionId: string; at: string; campaignId?: string },
): CustomerState {
  if (contact.decisionId.length === 0) throw new CustomerStateError('invalid-contact', 'decisionId is empty');
  const at = utc(contact.at, 'at');
  const delta = newCustomer(state.customerId);
  delta.contacts = [
    {
      id: clip(contact.decisionId),
      channel: contact.channel,
      sentAt: at,
      ...(contact.campaignId ? { campaignId: clip(contact.campaignId) } : {}),
    },
  ];
  delta.lastContact[contact.channel] = at;
  return mergeCustomers(state, delta, { customerId: state.customerId });
}
