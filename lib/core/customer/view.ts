// The customer view: the flat JSON object rules' `if` patterns and message templates read. Derived
// fields are computed here from the state and the clock, never stored, so they cannot go stale.
import { CHANNELS, type Channel } from '../../../events/catalog.ts';
import { addCategories, capCategories } from './merge.ts';
import {
  BOUNDS,
  PROFILE_FIELDS,
  SHOWN_COUNTERS,
  countersOf,
  maxTime,
  minTime,
  own,
  setOwn,
  type Counters,
  type CustomValue,
  type CustomerState,
  type ShownCounter,
  type DeviceStatus,
  type LicenceStatus,
  type Platform,
} from './state.ts';

const DAY_MS = 86_400_000;
/** A licence within this many days of expiry is due for renewal. */
export const RENEWAL_WINDOW_DAYS = 30;
/** A customer whose first purchase is this recent is new. */
export const NEW_CUSTOMER_DAYS = 90;
/** A customer who bought within this many days (or holds an active licence) is active. */
export const ACTIVE_DAYS = 365;

/** Lifecycle stages, in the order they are tested (see docs/customer-state.md). */
export const LIFECYCLE_STAGES = ['erased', 'prospect', 'renewal-due', 'new', 'active', 'lapsed'] as const;
export type LifecycleStage = (typeof LIFECYCLE_STAGES)[number];
/** The value a rule sets to hand `lifecycle` back to the derived stage. */
export const LIFECYCLE_AUTO = 'auto';

export interface LicenceView {
  licenseId: string;
  product?: string;
  seats?: number;
  startsAt?: string;
  expiresAt?: string;
  /** From the newest ERP event and the clock: an expiry date in the past means expired. */
  status: LicenceStatus;
  /** Whole days until expiry (0 = within 24 hours); absent once expired or when unknown. */
  daysLeft?: number;
}

export interface DeviceView {
  deviceId: string;
  platform?: Platform;
  status: DeviceStatus | 'unknown';
  agentVersion?: string;
  lastSeen: string;
  /** Threats detected on the device, including those dropped from the history. */
  threats: number;
  /** Whether the device has a mobile push endpoint (the ARN itself stays in the state). */
  push: boolean;
}

/** The fields Baton derives; a custom field with one of these names is only visible under `custom`. */
export interface CoreView extends Pick<Counters, ShownCounter> {
  customerId: string;
  erased: boolean;
  firstName?: string;
  lastName?: string;
  email?: string;
  phone?: string;
  locale?: string;
  timeZone?: string;
  country?: string;
  tier?: string;
  tags: string[];
  consent: Record<Channel, boolean>;
  /** The stage rules see: a rule's `setState: {lifecycle}` override, else the derived stage. */
  lifecycle: string;
  /** Always the derived stage. */
  lifecycleStage: LifecycleStage;
  purchaseCount: number;
  refundCount: number;
  /** Net POS spend (sales minus refunds), in the currency's major unit. */
  lifetimeSpend: number;
  /** Net spend of sales made in the last 30 / 90 days. */
  spend30d: number;
  spend90d: number;
  /** Gross item amounts per category (refunds carry no category). */
  spendByCategory: Record<string, number>;
  /** Currency of the newest sale. */
  currency?: string;
  firstPurchaseAt?: string;
  lastPurchaseAt?: string;
  daysSinceLastPurchase?: number;
  licences: LicenceView[];
  /** Products of the licences that are not expired, sorted. */
  products: string[];
  daysToNextLicenseExpiry?: number;
  licenceSpend: number;
  devices: DeviceView[];
  threatCount: number;
  lastContact: Partial<Record<Channel, string>>;
  daysSinceLastContact: Partial<Record<Channel, number>>;
  /** Every custom field from rules, clashing or not. */
  custom: Record<string, CustomValue>;
}

/** The view: the core fields plus each custom field whose name is not a core field. */
export type CustomerView = CoreView & { readonly [field: string]: unknown };

/** Names a custom field cannot take at the top level of the view. */
export const VIEW_FIELDS: ReadonlySet<string> = new Set<keyof CoreView>([
  'customerId',
  'erased',
  ...PROFILE_FIELDS,
  'tags',
  'consent',
  'lifecycle',
  'lifecycleStage',
  'purchaseCount',
  'refundCount',
  'lifetimeSpend',
  'spend30d',
  'spend90d',
  'spendByCategory',
  'currency',
  'firstPurchaseAt',
  'lastPurchaseAt',
  'daysSinceLastPurchase',
  'licences',
  'products',
  'daysToNextLicenseExpiry',
  'licenceSpend',
  'devices',
  'threatCount',
  'lastContact',
  'daysSinceLastContact',
  ...SHOWN_COUNTERS,
  'custom',
]);

const major = (minor: number): number => minor / 100;
const daysBetween = (from: number, to: number): number => Math.floor((to - from) / DAY_MS);

/** POS totals over the retained sales plus those dropped from the history; money in hundredths. */
export interface SalesTotals {
  purchases: number;
  gross: number;
  refunds: number;
  refunded: number;
  byCategory: Record<string, number>;
  lastSaleAt?: string;
  currency?: string;
}

export function salesTotals(state: CustomerState): SalesTotals {
  const d = state.dropped;
  const byCategory: Record<string, number> = {};
  addCategories(byCategory, d.cat);
  const totals: SalesTotals = { purchases: d.sales, gross: d.gross, refunds: d.refunds, refunded: d.refunded, byCategory };
  let last = d.lastSaleAt;
  let newest: { at: string; ev: string; currency: string } | undefined;
  for (const entry of state.sales) {
    if (entry.sale) {
      totals.purchases += 1;
      totals.gross += entry.sale.v.total;
      addCategories(byCategory, entry.sale.v.cat);
      last = maxTime(last, entry.sale.at);
      if (!newest || entry.sale.at > newest.at || (entry.sale.at === newest.at && entry.sale.ev > newest.ev)) {
        newest = { at: entry.sale.at, ev: entry.sale.ev, currency: entry.sale.v.currency };
      }
    }
    for (const r of entry.refunds ?? []) {
      totals.refunds += 1;
      totals.refunded += r.v;
    }
  }
  if (last) totals.lastSaleAt = last;
  if (newest) totals.currency = newest.currency;
  return totals;
}

/**
 * Aggregates with no personal data, for what Baton keeps after an erasure: counts and money totals
 * (hundredths) only: no ids, names, addresses, times or free text. Flat, so each can be added to a
 * counter item; spend per product category appears as `category.<name>`.
 */
export interface AnonymousCounters extends Counters {
  [counter: string]: number;
  purchases: number;
  grossSpend: number;
  refunds: number;
  refunded: number;
  netSpend: number;
  threats: number;
}
export const CATEGORY_COUNTER_PREFIX = 'category.';

export function anonymousCounters(state: CustomerState): AnonymousCounters {
  const t = salesTotals(state);
  const out: AnonymousCounters = {
    purchases: t.purchases,
    grossSpend: t.gross,
    refunds: t.refunds,
    refunded: t.refunded,
    netSpend: t.gross - t.refunded,
    threats: state.dropped.threats + state.threats.length,
    ...countersOf(state.counters),
  };
  for (const [name, minor] of Object.entries(capCategories(t.byCategory, BOUNDS.categories))) {
    setOwn(out, `${CATEGORY_COUNTER_PREFIX}${name}`, minor);
  }
  return out;
}

/** Net spend (hundredths) of the retained sales made after `since` (epoch ms). */
function spendSince(state: CustomerState, since: number): number {
  let sum = 0;
  for (const entry of state.sales) {
    // A refund-only entry counts from its earliest refund, like the history orders it.
    let at = entry.sale?.at;
    if (!at) for (const r of entry.refunds ?? []) at = minTime(at, r.at);
    if (!at || Date.parse(at) <= since) continue;
    sum += entry.sale?.v.total ?? 0;
    for (const r of entry.refunds ?? []) sum -= r.v;
  }
  return sum;
}

function licenceViews(state: CustomerState, now: number): LicenceView[] {
  const out: LicenceView[] = [];
  for (const l of state.licences) {
    const view: LicenceView = { licenseId: l.id, status: 'active' };
    if (l.product) view.product = l.product.v;
    if (l.seats) view.seats = l.seats.v;
    if (l.startsAt) view.startsAt = l.startsAt.v;
    if (l.expiresAt) view.expiresAt = l.expiresAt.v;
    const expires = l.expiresAt ? Date.parse(l.expiresAt.v) : undefined;
    if (l.status?.v === 'expired' || (expires !== undefined && expires <= now)) {
      view.status = 'expired';
    } else {
      if (expires !== undefined) view.daysLeft = daysBetween(now, expires);
      const due = l.status?.v === 'renewal-due' || (view.daysLeft !== undefined && view.daysLeft <= RENEWAL_WINDOW_DAYS);
      view.status = due ? 'renewal-due' : 'active';
    }
    out.push(view);
  }
  // Soonest expiry first; unknown expiry last; then by id so the order is stable.
  return out.sort(
    (a, b) =>
      (a.expiresAt ?? '~').localeCompare(b.expiresAt ?? '~') || (a.licenseId < b.licenseId ? -1 : a.licenseId > b.licenseId ? 1 : 0),
  );
}

function deviceViews(state: CustomerState): DeviceView[] {
  const perDevice = new Map<string, number>();
  for (const t of state.threats) perDevice.set(t.deviceId, (perDevice.get(t.deviceId) ?? 0) + 1);
  const out: DeviceView[] = state.devices.map((d) => {
    const view: DeviceView = {
      deviceId: d.id,
      status: d.status?.v ?? 'unknown',
      lastSeen: d.lastSeen,
      threats: (d.droppedThreats ?? 0) + (perDevice.get(d.id) ?? 0),
      push: d.pushEndpointArn !== undefined,
    };
    if (d.platform) view.platform = d.platform.v;
    if (d.agentVersion) view.agentVersion = d.agentVersion.v;
    return view;
  });
  // Most recently seen first.
  return out.sort((a, b) => (a.lastSeen !== b.lastSeen ? (a.lastSeen > b.lastSeen ? -1 : 1) : a.deviceId < b.deviceId ? -1 : 1));
}

/**
 * The derived lifecycle stage, tested in this order:
 * erased; prospect (never bought: no sale, no licence); renewal-due (a licence that is not expired
 * is due or expires within RENEWAL_WINDOW_DAYS); new (first purchase within NEW_CUSTOMER_DAYS);
 * active (a licence that is not expired, or a sale within ACTIVE_DAYS); lapsed (everything else).
 */
export function lifecycleStage(
  state: CustomerState,
  licences: readonly LicenceView[],
  totals: SalesTotals,
  now: number,
): LifecycleStage {
  if (state.erased) return 'erased';
  const everBought = totals.purchases > 0 || state.counters.licencePurchases > 0 || state.firstPurchaseAt !== undefined;
  if (!everBought) return 'prospect';
  if (licences.some((l) => l.status === 'renewal-due')) return 'renewal-due';
  if (state.firstPurchaseAt !== undefined && daysBetween(Date.parse(state.firstPurchaseAt), now) < NEW_CUSTOMER_DAYS) return 'new';
  const activeLicence = licences.some((l) => l.status === 'active');
  const recentSale = totals.lastSaleAt !== undefined && daysBetween(Date.parse(totals.lastSaleAt), now) < ACTIVE_DAYS;
  if (activeLicence || recentSale) return 'active';
  return 'lapsed';
}

/** The flat, JSON-serialisable view of a customer at `now`. */
export function customerView(state: CustomerState, now: Date): CustomerView {
  const nowMs = now.getTime();
  const totals = salesTotals(state);
  const licences = licenceViews(state, nowMs);
  const devices = deviceViews(state);
  const stage = lifecycleStage(state, licences, totals, nowMs);

  const custom: Record<string, CustomValue> = {};
  for (const [name, r] of Object.entries(state.custom)) setOwn(custom, name, r.v);
  const override = own(custom, 'lifecycle');

  const consent = {} as Record<Channel, boolean>;
  const lastContact: Partial<Record<Channel, string>> = {};
  const daysSinceLastContact: Partial<Record<Channel, number>> = {};
  for (const channel of CHANNELS) {
    // No stated consent means no consent: every channel is opt-in.
    consent[channel] = state.consent[channel]?.v === true;
    const last = state.lastContact[channel];
    if (last) {
      lastContact[channel] = last;
      daysSinceLastContact[channel] = daysBetween(Date.parse(last), nowMs);
    }
  }

  const byCategory: Record<string, number> = {};
  for (const [name, minor] of Object.entries(totals.byCategory)) setOwn(byCategory, name, major(minor));
  const notExpired = licences.filter((l) => l.status !== 'expired');
  const daysLeft = notExpired.flatMap((l) => (l.daysLeft === undefined ? [] : [l.daysLeft]));

  const core: CoreView = {
    customerId: state.customerId,
    erased: state.erased !== undefined,
    tags: state.profile.tags ? [...state.profile.tags.v] : [],
    consent,
    lifecycle: typeof override === 'string' && override !== LIFECYCLE_AUTO && override !== '' ? override : stage,
    lifecycleStage: stage,
    purchaseCount: totals.purchases,
    refundCount: totals.refunds,
    lifetimeSpend: major(totals.gross - totals.refunded),
    spend30d: major(spendSince(state, nowMs - 30 * DAY_MS)),
    spend90d: major(spendSince(state, nowMs - 90 * DAY_MS)),
    spendByCategory: byCategory,
    licences,
    products: [...new Set(notExpired.flatMap((l) => (l.product === undefined ? [] : [l.product])))].sort(),
    licenceSpend: major(state.counters.licenceSpend),
    devices,
    threatCount: state.dropped.threats + state.threats.length,
    lastContact,
    daysSinceLastContact,
    ...countersOf(state.counters, SHOWN_COUNTERS),
    custom,
  };
  for (const field of PROFILE_FIELDS) {
    const r = state.profile[field];
    if (r) core[field] = r.v;
  }
  if (totals.currency) core.currency = totals.currency;
  if (state.firstPurchaseAt) core.firstPurchaseAt = state.firstPurchaseAt;
  if (totals.lastSaleAt) {
    core.lastPurchaseAt = totals.lastSaleAt;
    core.daysSinceLastPurchase = daysBetween(Date.parse(totals.lastSaleAt), nowMs);
  }
  if (daysLeft.length) core.daysToNextLicenseExpiry = Math.min(...daysLeft);

  const view: Record<string, unknown> = {};
  // Custom fields first, so no custom name can shadow a derived one.
  for (const [name, value] of Object.entries(custom)) if (!VIEW_FIELDS.has(name)) setOwn(view, name, value);
  Object.assign(view, core);
  return view as CustomerView;
}
