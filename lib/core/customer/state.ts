// The customer state: the shape stored in DynamoDB and the small helpers every module of the
// domain core shares. Pure: no I/O, no clock. See docs/customer-state.md for the model.
import { TIME_EXPECTED, utcTime, type Channel } from '../../../events/catalog.ts';
import type { ContactTime } from '../channels/feedback.ts';
import { BatonError } from '../../contract/errors.ts';

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
/** The registers of a licence, each merged on its own. */
export const LICENCE_REGISTERS = ['product', 'seats', 'startsAt', 'expiresAt', 'status'] as const satisfies readonly (keyof Licence)[];

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
/** The registers of a device, each merged on its own. */
export const DEVICE_REGISTERS = ['platform', 'status', 'agentVersion', 'pushEndpointArn'] as const satisfies readonly (keyof Device)[];

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
 * tag). Times (CONTACT_TIMES) are the first time each thing happened (a minimum), so the entry needs
 * no tie-breaks.
 */
export interface Contact extends Keyed, Partial<Record<ContactTime, string>> {
  channel: Channel;
  campaignId?: string;
  /** True once any bounce for the message was permanent. */
  permanent?: boolean;
}

/**
 * The additive counters, the one list every use derives from: they commute, and survive trimming
 * and erasure (money in hundredths). `shown`: the customer view shows the counter as it is under its
 * own name; `kept`: only the state and the anonymous aggregates hold it.
 */
export const COUNTERS = {
  sent: 'shown',
  delivered: 'shown',
  displayed: 'shown',
  opens: 'shown',
  clicks: 'shown',
  bounces: 'shown',
  complaints: 'shown',
  /** Rejected or failed to render. */
  failed: 'kept',
  unsubscribes: 'shown',
  licencePurchases: 'kept',
  renewals: 'kept',
  /** The view shows it in the currency's major unit, among the licence fields. */
  licenceSpend: 'kept',
} as const satisfies Record<string, 'shown' | 'kept'>;
export type CounterKey = keyof typeof COUNTERS;
export type Counters = Record<CounterKey, number>;
export const COUNTER_KEYS = Object.keys(COUNTERS) as readonly CounterKey[];
/** The counters the customer view shows as they are. */
export type ShownCounter = { [K in CounterKey]: (typeof COUNTERS)[K] extends 'shown' ? K : never }[CounterKey];
export const SHOWN_COUNTERS = COUNTER_KEYS.filter((k): k is ShownCounter => COUNTERS[k] === 'shown');

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

const ZERO_COUNTERS = Object.freeze(Object.fromEntries(COUNTER_KEYS.map((k) => [k, 0])) as Counters);
export function zeroCounters(): Counters {
  return { ...ZERO_COUNTERS };
}

/** Exactly the counters of `from`, in their order, whatever else an old item holds. */
export function countersOf<K extends CounterKey>(from: Counters, keys: readonly K[] = COUNTER_KEYS as readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const key of keys) out[key] = from[key];
  return out;
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

export type CustomerStateCode = 'invalid-time' | 'invalid-custom-field' | 'invalid-contact';
/** A fault in the domain core. Messages name fields and codes, never values (they may be personal). */
export class CustomerStateError extends BatonError<CustomerStateCode> {
  override readonly name = 'CustomerStateError';
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
