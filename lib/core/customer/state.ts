// The customer state: the shape stored in DynamoDB and the small helpers every module of the
// domain core shares. Pure: no I/O, no clock. See docs/customer-state.md for the model.
import { TIME_EXPECTED, utcTime, type Channel } from '../../../events/catalog.ts';

/** Version of the state shape; bump when a field changes meaning so old items can be upgraded. */
export const STATE_VERSION = 1;

/**
 * Caps on every keyed history, chosen so that a profile at every cap with every string at its
 * schema maximum stays under DynamoDB's 400 KB item limit (a test checks it). When a history
 * overflows, the oldest entries by (time, key) go first; the totals in `dropped` keep them counted.
 */
export const BOUNDS = {
  sales: 100,
  /** Refunds kept per sale (a sale rarely has more; extra refunds still count in the totals). */
  refundsPerSale: 2,
  /** Categories kept per sale; the smaller ones are summed under OTHER_CATEGORY. */
  categoriesPerSale: 3,
  /** Categories kept in the totals of dropped sales; the smaller ones are summed under OTHER_CATEGORY. */
  categories: 50,
  licences: 25,
  devices: 25,
  threats: 100,
  contacts: 200,
  /** Marketer-defined fields set by rules (`setState`). */
  custom: 50,
} as const;

/** Where category amounts go once a cap is reached. */
export const OTHER_CATEGORY = 'other';

/**
 * Event ids are cut to this length inside stamps (UUIDs fit whole). Ties are broken by the
 * stored id and then the value, so cutting keeps the result deterministic; it only bounds size.
 */
export const MAX_STAMP_ID_CHARS = 64;
/**
 * Keys and labels taken from SES tags (decisionId, campaignId), which the catalog does not bound, are
 * cut to this length. Baton makes these ids itself and keeps them short; cutting only bounds size.
 */
export const MAX_TAG_CHARS = 64;
/** Threat names are kept to this length (enough for a template; the full name stays in the source). */
export const MAX_THREAT_NAME_CHARS = 128;

/** When a value was set: the event time (UTC ISO, millisecond precision) and the event id. */
export interface Stamp {
  at: string;
  ev: string;
}
/** A last-writer-wins register: the newest (at, ev, value) wins. */
export interface Reg<T> extends Stamp {
  v: T;
}

export const PROFILE_FIELDS = ['firstName', 'lastName', 'email', 'phone', 'locale', 'timeZone', 'country', 'tier'] as const;
export type ProfileField = (typeof PROFILE_FIELDS)[number];
export type Profile = { [K in ProfileField]?: Reg<string> } & { tags?: Reg<string[]> };

/** Consent on one channel; `via` says where it was given or withdrawn (web-form, bounce, complaint...). */
export interface Consent extends Reg<boolean> {
  via: string;
}

export interface SaleFacts {
  /** Sale total in hundredths of the currency unit (cents). */
  total: number;
  currency: string;
  /** Item amounts per category, in hundredths; at most BOUNDS.categoriesPerSale keys. */
  cat: Record<string, number>;
}
/** An entry of a keyed history. Histories are arrays sorted by `id` (cheap to copy, one order). */
export interface Keyed {
  id: string;
}

/** One sale; `id` is the saleId. A refund that arrives before its sale creates the entry without `sale`. */
export interface Sale extends Keyed {
  sale?: Reg<SaleFacts>;
  /** Refunds sorted by refundId; `v` is the amount in hundredths. */
  refunds?: Refund[];
}
export interface Refund extends Reg<number>, Keyed {}

export type LicenceStatus = 'active' | 'renewal-due' | 'expired';
/** One licence; `id` is the licenseId; each field is its own register. */
export interface Licence extends Keyed {
  product?: Reg<string>;
  seats?: Reg<number>;
  startsAt?: Reg<string>;
  expiresAt?: Reg<string>;
  status?: Reg<LicenceStatus>;
}

export type Platform = 'windows' | 'macos' | 'linux' | 'android' | 'ios';
export type DeviceStatus = 'protected' | 'at-risk' | 'unprotected';
/** One device; `id` is the deviceId. */
export interface Device extends Keyed {
  platform?: Reg<Platform>;
  status?: Reg<DeviceStatus>;
  agentVersion?: Reg<string>;
  pushEndpointArn?: Reg<string>;
  /** Newest time any event came from the device. */
  lastSeen: string;
  /** Threats of this device already dropped from `threats` (kept counted). */
  droppedThreats?: number;
}

export type Severity = 'low' | 'medium' | 'high' | 'critical';
export type ThreatAction = 'quarantined' | 'blocked' | 'removed' | 'none';
/** One threat; `id` is the threatId. */
export interface Threat extends Stamp, Keyed {
  deviceId: string;
  name: string;
  severity: Severity;
  action: ThreatAction;
}

/**
 * What happened to one message; `id` is the decisionId (or `msg:<messageId>` when SES has no decision
 * tag). Times are the first time each thing happened (a minimum), so the entry needs no tie-breaks.
 */
export interface Contact extends Keyed {
  channel: Channel;
  campaignId?: string;
  /** Sent (email) or displayed (device). */
  sentAt?: string;
  deliveredAt?: string;
  openedAt?: string;
  clickedAt?: string;
  bouncedAt?: string;
  /** True once any bounce for the message was permanent. */
  permanent?: boolean;
  complainedAt?: string;
  /** Rejected by SES or failed to render. */
  failedAt?: string;
  unsubscribedAt?: string;
}

/** Additive counters; they commute, and survive trimming and erasure. Money in hundredths. */
export interface Counters {
  sent: number;
  delivered: number;
  displayed: number;
  opens: number;
  clicks: number;
  bounces: number;
  complaints: number;
  /** Rejected or failed to render. */
  failed: number;
  unsubscribes: number;
  licencePurchases: number;
  renewals: number;
  licenceSpend: number;
}
export const COUNTER_KEYS = [
  'sent',
  'delivered',
  'displayed',
  'opens',
  'clicks',
  'bounces',
  'complaints',
  'failed',
  'unsubscribes',
  'licencePurchases',
  'renewals',
  'licenceSpend',
] as const satisfies readonly (keyof Counters)[];

/** Totals of entries no longer held in the bounded histories (trimmed, or folded in by erasure). */
export interface Dropped {
  sales: number;
  /** Gross of those sales, hundredths. */
  gross: number;
  refunds: number;
  /** Refunded amount, hundredths. */
  refunded: number;
  cat: Record<string, number>;
  threats: number;
  /** Newest dropped sale; absent after erasure. */
  lastSaleAt?: string;
}

export interface CustomerState {
  v: typeof STATE_VERSION;
  customerId: string;
  /** Set by CustomerErased: the profile then holds only anonymous aggregates. */
  erased?: Stamp;
  /** Oldest and newest event time seen for this customer. */
  firstSeen?: string;
  lastSeen?: string;
  /** Oldest purchase (sale or licence start); kept when sales are trimmed. */
  firstPurchaseAt?: string;
  profile: Profile;
  consent: { [C in Channel]?: Consent };
  sales: Sale[];
  licences: Licence[];
  devices: Device[];
  threats: Threat[];
  contacts: Contact[];
  /** Newest time Baton contacted the customer per channel. */
  lastContact: { [C in Channel]?: string };
  counters: Counters;
  dropped: Dropped;
  /** Marketer-defined attributes from rules (`setState`). */
  custom: Record<string, Reg<CustomValue>>;
}
export type CustomValue = string | number | boolean;

export function zeroCounters(): Counters {
  return {
    sent: 0,
    delivered: 0,
    displayed: 0,
    opens: 0,
    clicks: 0,
    bounces: 0,
    complaints: 0,
    failed: 0,
    unsubscribes: 0,
    licencePurchases: 0,
    renewals: 0,
    licenceSpend: 0,
  };
}

export function zeroDropped(): Dropped {
  return { sales: 0, gross: 0, refunds: 0, refunded: 0, cat: {}, threats: 0 };
}

/** The empty profile of a customer nothing is known about yet. */
export function newCustomer(customerId: string): CustomerState {
  return {
    v: STATE_VERSION,
    customerId,
    profile: {},
    consent: {},
    sales: [],
    licences: [],
    devices: [],
    threats: [],
    contacts: [],
    lastContact: {},
    counters: zeroCounters(),
    dropped: zeroDropped(),
    custom: {},
  };
}

/** A fault in the domain core. Messages name fields and codes, never values (they may be personal). */
export class CustomerStateError extends Error {
  override readonly name = 'CustomerStateError';
  constructor(
    readonly code: 'invalid-time' | 'invalid-custom-field' | 'invalid-contact',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// ---- helpers shared by reducers, merge and view -------------------------------------------

/**
 * Normalises an ISO time with any offset to UTC with milliseconds, so times compare as strings.
 * The catalog refuses times outside TIME_RANGE, so for events this never throws; `what` names the
 * field for the error, the value itself is never echoed.
 */
export function utc(time: string, what: string): string {
  const iso = utcTime(time);
  if (iso === undefined) throw new CustomerStateError('invalid-time', `${what} is not ${TIME_EXPECTED}`);
  return iso;
}

/** Amount in the currency's major unit to integer hundredths. */
export function toMinor(amount: number): number {
  return Math.round(amount * 100);
}

export function stampId(eventId: string): string {
  return eventId.length > MAX_STAMP_ID_CHARS ? eventId.slice(0, MAX_STAMP_ID_CHARS) : eventId;
}

export function clip(text: string, max = MAX_TAG_CHARS): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** Own property or undefined: external ids such as "__proto__" or "constructor" are plain keys here. */
export function own<T>(map: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(map, key) ? map[key] : undefined;
}

/** Sets an own, enumerable property even for keys like "__proto__" (plain assignment would not). */
export function setOwn<T>(map: Record<string, T>, key: string, value: T): void {
  // Only "__proto__" has a setter on Object.prototype; defineProperty is slow, so keep it for that key.
  if (key === '__proto__') Object.defineProperty(map, key, { value, writable: true, enumerable: true, configurable: true });
  else map[key] = value;
}

/** A one-entry map, safe for any key. */
export function single<T>(key: string, value: T): Record<string, T> {
  const map: Record<string, T> = {};
  setOwn(map, key, value);
  return map;
}

export function minTime(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a <= b ? a : b;
}

export function maxTime(a: string | undefined, b: string | undefined): string | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return a >= b ? a : b;
}

/** JSON with sorted keys: a total order on values for the last tie-break, whatever the key order. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** Orders registers by (at, ev, value); positive when `a` wins. */
export function compareRegs(a: Stamp, b: Stamp): number {
  if (a.at !== b.at) return a.at > b.at ? 1 : -1;
  if (a.ev !== b.ev) return a.ev > b.ev ? 1 : -1;
  const ca = canonical(a);
  const cb = canonical(b);
  return ca === cb ? 0 : ca > cb ? 1 : -1;
}

/** The winning register of two: newest by (at, ev), then by value so equal stamps still agree. */
export function lww<R extends Stamp>(a: R | undefined, b: R | undefined): R | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return compareRegs(a, b) >= 0 ? a : b;
}
