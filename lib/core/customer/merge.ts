// Merging two customer states. This is the one place where state combines: applyEvent merges the
// state with the small state one event describes, and two profiles of the same person merge the same
// way. Every step is commutative and associative (registers by (at, ev, value), times by min/max,
// counters by sum, maps by key), so the result does not depend on order. Pure: no I/O.
import { CHANNELS } from '../../../events/catalog.ts';
import { CONTACT_TIMES } from '../channels/feedback.ts';
import {
  BOUNDS,
  COUNTER_KEYS,
  DEVICE_REGISTERS,
  LICENCE_REGISTERS,
  OTHER_CATEGORY,
  PROFILE_FIELDS,
  STATE_VERSION,
  lww,
  maxTime,
  minTime,
  newCustomer,
  own,
  setOwn,
  type Contact,
  type Counters,
  type CustomerState,
  type Device,
  type Dropped,
  type Keyed,
  type Licence,
  type Sale,
  type Stamp,
} from './state.ts';

export interface MergeOptions {
  /** The customerId the merged profile keeps. Default: the smaller of the two, so merge commutes. */
  customerId?: string;
}

/**
 * Merge two profiles of the same person (a provisional profile into a known one, or one event's
 * state into the stored state): attributes by event time, counters added, histories unioned by key.
 * Nothing is lost within the bounds; beyond them the oldest entries are folded into `dropped`.
 */
export function mergeCustomers(a: CustomerState, b: CustomerState, options: MergeOptions = {}): CustomerState {
  const acc = droppedAccumulator(a.dropped, b.dropped);

  const sales = capList(
    mergeLists(a.sales, b.sales, (x, y) => mergeSale(x, y, acc)),
    BOUNDS.sales,
    saleTime,
    (sale) => dropSale(acc.edit(), sale, true),
  );
  const licences = capList(mergeLists(a.licences, b.licences, mergeLicence), BOUNDS.licences, licenceTime, noop);
  let devices = capList(mergeLists(a.devices, b.devices, mergeDevice), BOUNDS.devices, (d) => d.lastSeen, noop);
  const threatsDroppedPerDevice = new Map<string, number>();
  const threats = capList(mergeLists(a.threats, b.threats, lwwEntry), BOUNDS.threats, (t) => t.at, (t) => {
    acc.edit().threats += 1;
    threatsDroppedPerDevice.set(t.deviceId, (threatsDroppedPerDevice.get(t.deviceId) ?? 0) + 1);
  });
  devices = countDroppedThreats(devices, threatsDroppedPerDevice);
  const contacts = capList(mergeLists(a.contacts, b.contacts, mergeContact), BOUNDS.contacts, contactTime, noop);
  const custom = capMap(mergeMaps(a.custom, b.custom, lwwEntry), BOUNDS.custom, (r) => r.at);

  const merged: CustomerState = {
    v: STATE_VERSION,
    customerId: options.customerId ?? (a.customerId <= b.customerId ? a.customerId : b.customerId),
    profile: mergeFlat(a.profile, b.profile, PROFILE_REGISTERS, lwwAny),
    consent: mergeFlat(a.consent, b.consent, CHANNELS, lwwAny),
    sales,
    licences,
    devices,
    threats,
    contacts,
    lastContact: mergeFlat(a.lastContact, b.lastContact, CHANNELS, maxTime),
    counters: addCounters(a.counters, b.counters),
    dropped: acc.result(),
    custom,
  };
  // Optional fields are only set when present: DynamoDB's document client rejects undefined.
  const erased = lww(a.erased, b.erased);
  if (erased) merged.erased = erased;
  const firstSeen = minTime(a.firstSeen, b.firstSeen);
  if (firstSeen) merged.firstSeen = firstSeen;
  const lastSeen = maxTime(a.lastSeen, b.lastSeen);
  if (lastSeen) merged.lastSeen = lastSeen;
  const firstPurchaseAt = minTime(a.firstPurchaseAt, b.firstPurchaseAt);
  if (firstPurchaseAt) merged.firstPurchaseAt = firstPurchaseAt;
  return merged.erased ? anonymize(merged) : merged;
}

/**
 * What an erased profile keeps: the aggregates with no personal data. Every history is folded into
 * `dropped` (so totals stay exact) and everything personal is removed: profile, consent, ids of
 * sales, licences, devices, threats and messages, contact times, custom fields.
 */
export function anonymize(state: CustomerState): CustomerState {
  const dropped = addDropped(state.dropped, undefined);
  for (const sale of state.sales) dropSale(dropped, sale, false);
  dropped.threats += state.threats.length;
  delete dropped.lastSaleAt;
  dropped.cat = capCategories(dropped.cat, BOUNDS.categories);
  const result: CustomerState = { ...newCustomer(state.customerId), counters: { ...state.counters }, dropped };
  if (state.erased) result.erased = state.erased;
  return result;
}

// ---- histories and bounds ------------------------------------------------------------------

const noop = (): void => {};

/**
 * Union of two histories sorted by id; entries with the same id are combined with `combine` (which
 * must commute). Linear, and it returns an input untouched when the other is empty.
 */
function mergeLists<E extends Keyed>(a: E[], b: E[], combine: (x: E, y: E) => E): E[] {
  if (b.length === 0) return a;
  if (a.length === 0) return b;
  const out: E[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as E;
    const y = b[j] as E;
    if (x.id === y.id) {
      out.push(combine(x, y));
      i++;
      j++;
    } else if (x.id < y.id) {
      out.push(x);
      i++;
    } else {
      out.push(y);
      j++;
    }
  }
  while (i < a.length) out.push(a[i++] as E);
  while (j < b.length) out.push(b[j++] as E);
  return out;
}

/**
 * Keeps the newest `max` entries by (time, id), handing each dropped one to `onDrop`. Deterministic:
 * the kept set is the top `max` of the union whatever order the entries arrived in.
 */
function capList<E extends Keyed>(list: E[], max: number, time: (entry: E) => string, onDrop: (entry: E) => void): E[] {
  if (list.length <= max) return list;
  if (list.length - max === 1) {
    // The usual case (one new entry over the cap, on every event of a full history): one linear
    // scan, with no ranking objects or set allocated per entry.
    let oldest = list[0] as E;
    let oldestTime = time(oldest);
    for (let i = 1; i < list.length; i++) {
      const e = list[i] as E;
      const t = time(e);
      if (t !== oldestTime ? t < oldestTime : e.id < oldest.id) {
        oldest = e;
        oldestTime = t;
      }
    }
    onDrop(oldest);
    return list.filter((e) => e !== oldest);
  }
  const ranked = list.map((entry) => ({ entry, time: time(entry) }));
  const older = (x: (typeof ranked)[number], y: (typeof ranked)[number]) =>
    x.time !== y.time ? x.time < y.time : x.entry.id < y.entry.id;
  ranked.sort((x, y) => (older(x, y) ? -1 : older(y, x) ? 1 : 0));
  const drop = new Set(ranked.slice(0, list.length - max).map((r) => r.entry));
  const out: E[] = [];
  for (const e of list) {
    if (drop.has(e)) onDrop(e);
    else out.push(e);
  }
  return out;
}

/** Union of two small maps by key (custom fields); `combine` must commute. */
function mergeMaps<E>(a: Record<string, E>, b: Record<string, E>, combine: (x: E, y: E) => E): Record<string, E> {
  if (isEmpty(b)) return a;
  if (isEmpty(a)) return b;
  const out = { ...a };
  for (const [key, incoming] of Object.entries(b)) {
    const existing = own(out, key);
    setOwn(out, key, existing === undefined ? incoming : combine(existing, incoming));
  }
  return out;
}

/** Keeps the newest `max` map entries by (time, key). */
function capMap<E>(map: Record<string, E>, max: number, time: (entry: E) => string): Record<string, E> {
  const keys = Object.keys(map);
  if (keys.length <= max) return map;
  const ranked = keys.sort((x, y) => {
    const tx = time(map[x] as E);
    const ty = time(map[y] as E);
    return tx !== ty ? (tx < ty ? 1 : -1) : x < y ? 1 : x > y ? -1 : 0;
  });
  const out: Record<string, E> = {};
  for (const key of ranked.slice(0, max)) setOwn(out, key, map[key] as E);
  return out;
}

/**
 * The totals of dropped entries, copied only when something is dropped: most events drop nothing,
 * and copying the category map on every event would cost more than the rest of the merge.
 */
function droppedAccumulator(a: Dropped, b: Dropped): { edit(): Dropped; result(): Dropped } {
  let current = isZeroDropped(b) ? a : isZeroDropped(a) ? b : addDropped(a, b);
  let owned = current !== a && current !== b;
  return {
    edit() {
      if (!owned) {
        current = addDropped(current, undefined);
        owned = true;
      }
      return current;
    },
    result() {
      if (owned) current.cat = capCategories(current.cat, BOUNDS.categories);
      return current;
    },
  };
}

function isZeroDropped(d: Dropped): boolean {
  return d.sales === 0 && d.refunds === 0 && d.threats === 0 && d.gross === 0 && d.refunded === 0 && isEmpty(d.cat) && d.lastSaleAt === undefined;
}

/** The largest `max - 1` categories by amount (then name) keep their own key; the rest go to OTHER_CATEGORY. */
export function capCategories(cat: Record<string, number>, max: number): Record<string, number> {
  const names = Object.keys(cat);
  if (names.length <= max) return cat;
  const ranked = names
    .filter((n) => n !== OTHER_CATEGORY)
    .sort((x, y) => (cat[y] as number) - (cat[x] as number) || (x < y ? -1 : x > y ? 1 : 0));
  const out: Record<string, number> = {};
  let other = own(cat, OTHER_CATEGORY) ?? 0;
  ranked.forEach((name, i) => {
    if (i < max - 1) setOwn(out, name, cat[name] as number);
    else other += cat[name] as number;
  });
  setOwn(out, OTHER_CATEGORY, other);
  return out;
}

export function addCategories(into: Record<string, number>, from: Record<string, number>): void {
  for (const [name, amount] of Object.entries(from)) setOwn(into, name, (own(into, name) ?? 0) + amount);
}

// ---- entries --------------------------------------------------------------------------------

const lwwEntry = <R extends { at: string; ev: string }>(x: R, y: R): R => lww(x, y) as R;
/** lww for fields whose registers differ in value type (the profile's strings and its tag list). */
const lwwAny = lww as <R>(a: R, b: R) => R | undefined;

/** Sets on `out` the winning register of each of `keys` that either entry has. */
function lwwRegisters<E>(out: E, x: E, y: E, keys: readonly (keyof E)[]): E {
  for (const key of keys) {
    const r = lww(x[key] as Stamp | undefined, y[key] as Stamp | undefined);
    if (r) out[key] = r as E[keyof E];
  }
  return out;
}

function mergeSale(x: Sale, y: Sale, acc: { edit(): Dropped }): Sale {
  const out: Sale = { id: x.id };
  const sale = lww(x.sale, y.sale);
  if (sale) out.sale = sale;
  if (x.refunds || y.refunds) {
    out.refunds = capList(mergeLists(x.refunds ?? [], y.refunds ?? [], lwwEntry), BOUNDS.refundsPerSale, (r) => r.at, (r) => {
      const d = acc.edit();
      d.refunds += 1;
      d.refunded += r.v;
    });
  }
  return out;
}

/** A sale is ordered by when it happened; a refund-only entry by its earliest refund. */
function saleTime(sale: Sale): string {
  if (sale.sale) return sale.sale.at;
  let earliest: string | undefined;
  for (const r of sale.refunds ?? []) earliest = minTime(earliest, r.at);
  return earliest ?? '';
}

/** Adds a sale that leaves the history to the totals, so counts and spend stay exact. */
function dropSale(dropped: Dropped, sale: Sale, keepTime: boolean): void {
  if (sale.sale) {
    dropped.sales += 1;
    dropped.gross += sale.sale.v.total;
    addCategories(dropped.cat, sale.sale.v.cat);
    if (keepTime) {
      const last = maxTime(dropped.lastSaleAt, sale.sale.at);
      if (last) dropped.lastSaleAt = last;
    }
  }
  for (const r of sale.refunds ?? []) {
    dropped.refunds += 1;
    dropped.refunded += r.v;
  }
}

function mergeLicence(x: Licence, y: Licence): Licence {
  return lwwRegisters({ id: x.id }, x, y, LICENCE_REGISTERS);
}

/** A licence is as recent as the newest event about it. */
function licenceTime(l: Licence): string {
  let t = '';
  for (const key of LICENCE_REGISTERS) {
    const r = l[key];
    if (r && r.at > t) t = r.at;
  }
  return t;
}

function mergeDevice(x: Device, y: Device): Device {
  const out = lwwRegisters<Device>({ id: x.id, lastSeen: x.lastSeen >= y.lastSeen ? x.lastSeen : y.lastSeen }, x, y, DEVICE_REGISTERS);
  const droppedThreats = (x.droppedThreats ?? 0) + (y.droppedThreats ?? 0);
  if (droppedThreats) out.droppedThreats = droppedThreats;
  return out;
}

function countDroppedThreats(devices: Device[], perDevice: Map<string, number>): Device[] {
  if (perDevice.size === 0 || !devices.some((d) => perDevice.has(d.id))) return devices;
  return devices.map((d) => {
    const n = perDevice.get(d.id);
    return n ? { ...d, droppedThreats: (d.droppedThreats ?? 0) + n } : d;
  });
}

function mergeContact(x: Contact, y: Contact): Contact {
  // One decision has one channel; if two ever disagree, the smaller name wins so merge still commutes.
  const out: Contact = { id: x.id, channel: x.channel <= y.channel ? x.channel : y.channel };
  const campaignId = minTime(x.campaignId, y.campaignId); // the smaller id, so merge commutes
  if (campaignId !== undefined) out.campaignId = campaignId;
  for (const field of CONTACT_TIMES) {
    const t = minTime(x[field], y[field]);
    if (t) out[field] = t;
  }
  if (x.permanent || y.permanent) out.permanent = true;
  return out;
}

/**
 * A message is ordered by when it was sent (for email the send time every SES event carries), else by
 * the first thing that happened to it. Any pure function of the entry keeps trimming deterministic;
 * this one is cheap, and trimming runs on every event once the history is full.
 */
function contactTime(c: Contact): string {
  if (c.sentAt !== undefined) return c.sentAt;
  let t = '';
  for (const field of CONTACT_TIMES) {
    const v = c[field];
    if (v !== undefined && (t === '' || v < t)) t = v;
  }
  return t;
}

// ---- flat parts -----------------------------------------------------------------------------

const PROFILE_REGISTERS = [...PROFILE_FIELDS, 'tags'] as const;

/**
 * The fields `keys` of two flat parts combined one by one with `combine` (which must commute); a
 * field neither has stays absent. An empty side leaves the other untouched.
 */
function mergeFlat<T extends object, K extends keyof T>(a: T, b: T, keys: readonly K[], combine: (x: T[K], y: T[K]) => T[K] | undefined): T {
  if (isEmpty(b)) return a;
  if (isEmpty(a)) return b;
  const out = {} as T;
  for (const key of keys) {
    const v = combine(a[key], b[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function addCounters(a: Counters, b: Counters): Counters {
  const out = {} as Counters;
  for (const key of COUNTER_KEYS) out[key] = a[key] + b[key];
  return out;
}

/** A fresh Dropped (never shared with the inputs, since merge adds to it). */
function addDropped(a: Dropped, b: Dropped | undefined): Dropped {
  const cat: Record<string, number> = {};
  addCategories(cat, a.cat);
  if (b) addCategories(cat, b.cat);
  const out: Dropped = {
    sales: a.sales + (b?.sales ?? 0),
    gross: a.gross + (b?.gross ?? 0),
    refunds: a.refunds + (b?.refunds ?? 0),
    refunded: a.refunded + (b?.refunded ?? 0),
    cat,
    threats: a.threats + (b?.threats ?? 0),
  };
  const last = maxTime(a.lastSaleAt, b?.lastSaleAt);
  if (last) out.lastSaleAt = last;
  return out;
}

function isEmpty(o: object): boolean {
  for (const _ in o) return false;
  return true;
}
