// An independent reference model of a customer, computed straight from the list of events that were
// applied (docs/customer-state.md is its spec; no Baton code is called): last writer wins by
// (event time, event id, value), sums of counters and money, unions by key, earliest and latest
// times. Model-based tests compare what the store holds against it, so a fault in the reducers or
// the merge cannot hide behind a model that is made of them.
//
// Events are plain parsed JSON. Facts outside the documented bounds are left out (undefined) rather
// than guessed: refunds when a sale has more than two of them.

const CHANNELS = ['email', 'sms', 'push', 'device'] as const;
const PROFILE = ['firstName', 'lastName', 'email', 'phone', 'locale', 'timeZone', 'country', 'tier'] as const;
const REFUNDS_PER_SALE = 2;

type Json = Record<string, unknown>;
export interface RawEvent {
  id: string;
  source: string;
  'detail-type': string;
  detail: Json;
}

/** A value with what decides between writers: newest time, then larger event id, then larger JSON. */
interface Written<T> {
  at: number;
  ev: string;
  v: T;
}
function newer<T>(a: Written<T> | undefined, b: Written<T>): Written<T> {
  if (!a) return b;
  if (b.at !== a.at) return b.at > a.at ? b : a;
  if (b.ev !== a.ev) return b.ev > a.ev ? b : a;
  return JSON.stringify(b.v) > JSON.stringify(a.v) ? b : a;
}

export interface Facts {
  profile: Partial<Record<(typeof PROFILE)[number], string>>;
  tags?: string[];
  consent: Record<(typeof CHANNELS)[number], boolean>;
  purchaseCount: number;
  /** Undefined when beyond the bounds (a sale with more than two refunds). */
  refundCount?: number;
  /** Net POS spend in hundredths; undefined with refundCount. */
  netSpendMinor?: number;
  licences: Record<string, { product?: string; seats?: number }>;
  devices: Record<string, { platform?: string; status?: string; agentVersion?: string; lastSeen: string }>;
  threatCount: number;
  counters: {
    sent: number;
    delivered: number;
    displayed: number;
    opens: number;
    clicks: number;
    bounces: number;
    complaints: number;
    failed: number;
    unsubscribes: number;
    licencePurchases: number;
    renewals: number;
    licenceSpend: number;
  };
  firstSeen?: string;
  lastSeen?: string;
}

const minor = (amount: unknown) => Math.round(Number(amount) * 100);
const iso = (ms: number) => new Date(ms).toISOString();

/** When the event happened: occurredAt, or for SES the time of what it reports. */
function happenedAt(e: RawEvent): number {
  const d = e.detail;
  if (e.source !== 'aws.ses') return Date.parse(String(d.occurredAt));
  const of = (part: string) => Date.parse(String((d[part] as Json).timestamp));
  switch (e['detail-type']) {
    case 'Email Delivered':
      return of('delivery');
    case 'Email Bounced':
      return of('bounce');
    case 'Email Complaint Received':
      return of('complaint');
    case 'Email Opened':
      return of('open');
    case 'Email Clicked':
      return of('click');
    case 'Email Delivery Delayed':
      return of('deliveryDelay');
    case 'Email Subscribed':
      return of('subscription');
    default:
      return Date.parse(String((d.mail as Json).timestamp));
  }
}

/** The facts of one customer from the distinct events applied to them (in any order). */
export function referenceFacts(events: readonly RawEvent[]): Facts {
  const profile: Partial<Record<(typeof PROFILE)[number], Written<string>>> = {};
  let tags: Written<string[]> | undefined;
  const consent: Partial<Record<(typeof CHANNELS)[number], Written<boolean>>> = {};
  const sales = new Map<string, Written<number>>();
  const refunds = new Map<string, Map<string, Written<number>>>();
  const licences = new Map<string, { product?: Written<string>; seats?: Written<number> }>();
  const devices = new Map<string, { platform?: Written<string>; status?: Written<string>; agentVersion?: Written<string>; lastSeen: number }>();
  const threats = new Set<string>();
  const counters: Facts['counters'] = {
    sent: 0, delivered: 0, displayed: 0, opens: 0, clicks: 0, bounces: 0, complaints: 0, failed: 0, unsubscribes: 0, licencePurchases: 0, renewals: 0, licenceSpend: 0,
  };
  let first = Infinity;
  let last = -Infinity;

  for (const e of events) {
    const at = happenedAt(e);
    const w = <T>(v: T): Written<T> => ({ at, ev: e.id.slice(0, 64), v });
    first = Math.min(first, at);
    last = Math.max(last, at);
    const d = e.detail;
    const licence = (id: string) => licences.get(id) ?? licences.set(id, {}).get(id)!;
    const device = (id: string) => devices.get(id) ?? devices.set(id, { lastSeen: -Infinity }).get(id)!;
    if (e.source === 'baton.device') {
      const dev = device(String(d.deviceId));
      dev.lastSeen = Math.max(dev.lastSeen, at);
    }
    const withdraw = () => (consent.email = newer(consent.email, w(false)));

    switch (`${e.source}/${e['detail-type']}`) {
      case 'baton.crm/CustomerUpserted': {
        const p = d.profile as Json;
        for (const field of PROFILE) if (p[field] !== undefined) profile[field] = newer(profile[field], w(String(p[field])));
        if (p.tags !== undefined) tags = newer(tags, w([...new Set(p.tags as string[])]));
        break;
      }
      case 'baton.crm/ConsentChanged': {
        const channel = d.channel as (typeof CHANNELS)[number];
        consent[channel] = newer(consent[channel], w(Boolean(d.granted)));
        if (d.granted === false && d.via === 'unsubscribe-link') counters.unsubscribes++;
        break;
      }
      case 'baton.pos/SaleCompleted':
        sales.set(String(d.saleId), newer(sales.get(String(d.saleId)), w(minor(d.total))));
        break;
      case 'baton.pos/SaleRefunded': {
        const of = refunds.get(String(d.saleId)) ?? refunds.set(String(d.saleId), new Map()).get(String(d.saleId))!;
        of.set(String(d.refundId), newer(of.get(String(d.refundId)), w(minor(d.amount))));
        break;
      }
      case 'baton.erp/LicensePurchased': {
        const l = licence(String(d.licenseId));
        l.product = newer(l.product, w(String(d.product)));
        l.seats = newer(l.seats, w(Number(d.seats)));
        counters.licencePurchases++;
        counters.licenceSpend += minor(d.amount);
        break;
      }
      case 'baton.erp/LicenseRenewed': {
        const l = licence(String(d.licenseId));
        l.product = newer(l.product, w(String(d.product)));
        counters.renewals++;
        counters.licenceSpend += minor(d.amount);
        break;
      }
      case 'baton.erp/LicenseRenewalDue':
      case 'baton.erp/LicenseExpired': {
        const l = licence(String(d.licenseId));
        l.product = newer(l.product, w(String(d.product)));
        break;
      }
      case 'baton.device/DeviceRegistered': {
        const dev = device(String(d.deviceId));
        dev.platform = newer(dev.platform, w(String(d.platform)));
        dev.agentVersion = newer(dev.agentVersion, w(String(d.agentVersion)));
        break;
      }
      case 'baton.device/DeviceStatusReported': {
        const dev = device(String(d.deviceId));
        dev.status = newer(dev.status, w(String(d.status)));
        dev.agentVersion = newer(dev.agentVersion, w(String(d.agentVersion)));
        break;
      }
      case 'baton.device/ThreatDetected':
        threats.add(String(d.threatId));
        break;
      case 'baton.device/MessageDisplayed':
        counters.displayed++;
        break;
      case 'baton.device/MessageClicked':
        counters.clicks++;
        break;
      case 'aws.ses/Email Sent':
        counters.sent++;
        break;
      case 'aws.ses/Email Delivered':
        counters.delivered++;
        break;
      case 'aws.ses/Email Opened':
        counters.opens++;
        break;
      case 'aws.ses/Email Clicked':
        counters.clicks++;
        break;
      case 'aws.ses/Email Bounced':
        counters.bounces++;
        if ((d.bounce as Json).bounceType === 'Permanent') withdraw();
        break;
      case 'aws.ses/Email Complaint Received':
        counters.complaints++;
        withdraw();
        break;
      case 'aws.ses/Email Rejected':
      case 'aws.ses/Email Rendering Failed':
        counters.failed++;
        break;
      case 'aws.ses/Email Subscribed':
        if (((d.subscription as Json).newTopicPreferences as Json | undefined)?.unsubscribeAll === true) {
          counters.unsubscribes++;
          withdraw();
        }
        break;
      default:
        break;
    }
  }

  const withinBounds = [...refunds.values()].every((of) => of.size <= REFUNDS_PER_SALE);
  const gross = [...sales.values()].reduce((n, s) => n + s.v, 0);
  const refunded = [...refunds.values()].reduce((n, of) => n + [...of.values()].reduce((m, r) => m + r.v, 0), 0);
  const value = <T>(x: Written<T> | undefined) => x?.v;
  return {
    profile: Object.fromEntries(PROFILE.filter((f) => profile[f]).map((f) => [f, profile[f]!.v])),
    ...(tags ? { tags: tags.v } : {}),
    consent: Object.fromEntries(CHANNELS.map((c) => [c, consent[c]?.v === true])) as Facts['consent'],
    purchaseCount: sales.size,
    ...(withinBounds ? { refundCount: [...refunds.values()].reduce((n, of) => n + of.size, 0), netSpendMinor: gross - refunded } : {}),
    licences: Object.fromEntries([...licences].map(([id, l]) => [id, strip({ product: value(l.product), seats: value(l.seats) })])),
    devices: Object.fromEntries(
      [...devices].map(([id, dev]) => [id, { ...strip({ platform: value(dev.platform), status: value(dev.status), agentVersion: value(dev.agentVersion) }), lastSeen: iso(dev.lastSeen) }]),
    ),
    threatCount: threats.size,
    counters,
    ...(events.length ? { firstSeen: iso(first), lastSeen: iso(last) } : {}),
  };
}

function strip<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
