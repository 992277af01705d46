// The event catalog: one zod schema per source and detail-type. Source systems publish
// EventBridge events whose `detail` matches these schemas; everything else is quarantined.
import { z } from 'zod';

/** Sources are namespaced `baton.<system>`; SES feedback keeps AWS's own `aws.ses`. */
export const SOURCES = {
  crm: 'baton.crm',
  erp: 'baton.erp',
  pos: 'baton.pos',
  device: 'baton.device',
  ses: 'aws.ses',
  /** Events Baton itself publishes (ActionRequested); never fed back into evaluate. */
  baton: 'baton',
  /** Segment membership changes Baton publishes (SegmentEntered, SegmentLeft); rules and journeys read them. */
  segments: 'baton.segments',
  /** A journey's wait timing out: only Baton's EventBridge Scheduler schedules send it, to evaluate. */
  journeys: 'baton.journeys',
  /** Loyalty partners' shops (docs/loyalty.md): their sales and refunds, one IAM role per partner. */
  partners: 'baton.partners',
  /** What the loyalty ledger publishes (PointsEarned, TierChanged, SaleAttributed...): rules and journeys read them. */
  loyalty: 'baton.loyalty',
} as const;
export type Source = (typeof SOURCES)[keyof typeof SOURCES];

/** The source systems that may publish customer events, one IAM role each in the cloud. */
export const SOURCE_SYSTEMS = ['crm', 'erp', 'pos', 'device'] as const;
export type SourceSystem = (typeof SOURCE_SYSTEMS)[number];

const text = (max = 256) => z.string().min(1).max(max);

/**
 * The instants Baton holds: UTC years 0000 to 9999, where times written in UTC sort as strings (the
 * customer state relies on it). An offset can move a time out: 9999-12-31T23:00:00-05:00 is in year
 * 10000 in UTC, 0000-01-01T00:30:00+01:00 in year -1. Such a time is no business fact but a sender's
 * error that no retry mends, so the catalog refuses it and the event is quarantined with the reason.
 */
export const TIME_RANGE = { earliest: '0000-01-01T00:00:00.000Z', latest: '9999-12-31T23:59:59.999Z' } as const;
const EARLIEST_MS = Date.parse(TIME_RANGE.earliest);
const LATEST_MS = Date.parse(TIME_RANGE.latest);
export const TIME_EXPECTED = `an ISO 8601 time from ${TIME_RANGE.earliest} to ${TIME_RANGE.latest} in UTC`;

/** An ISO 8601 time with any offset as UTC with milliseconds; undefined for no time or one outside TIME_RANGE. */
export function utcTime(time: string): string | undefined {
  const ms = Date.parse(time);
  return ms >= EARLIEST_MS && ms <= LATEST_MS ? new Date(ms).toISOString() : undefined;
}

// `abort`: a text that is no time at all gets one issue, not a second one about the range.
const timestamp = z.iso
  .datetime({ offset: true, abort: true })
  .refine((t) => utcTime(t) !== undefined, TIME_EXPECTED)
  .describe(`${TIME_EXPECTED}, with a UTC offset`);
const money = z.number().finite().min(-1e9).max(1e9);
export const currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 code such as EUR');
export const locale = z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/, 'a locale such as en or de-DE');

/** The external ids a source knows the customer by. At least one is required. */
export const ID_KINDS = ['crmId', 'loyaltyCard', 'licenseId', 'deviceId', 'email'] as const;
export type IdKind = (typeof ID_KINDS)[number];
const idsShape = {
  crmId: text(128).optional(),
  loyaltyCard: text(64).optional(),
  licenseId: text(128).optional(),
  deviceId: text(128).optional(),
  email: z.email().max(254).optional(),
};
const ids = (...required: IdKind[]) =>
  z
    .object(idsShape)
    .refine((v) => ID_KINDS.some((k) => v[k] !== undefined), {
      message: `at least one customer id (${ID_KINDS.join(', ')})`,
    })
    .refine((v) => required.every((k) => v[k] !== undefined), {
      message: required.length ? `ids must include ${required.join(' and ')}` : 'ids',
    });

/** Fields every Baton source event carries: who (ids) and when it happened (occurredAt). */
const base = (...required: IdKind[]) => ({ ids: ids(...required), occurredAt: timestamp });
// Unknown extra fields are kept, so a source can add fields without breaking Baton.
const detail = <T extends z.ZodRawShape>(shape: T) => z.looseObject(shape);
/** A SKU, store, team or promotion code: what rules name under `context` (letters, digits, `._-`). */
const contextKey = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a code of letters, digits, ".", "_" or "-" (at most 64)');

/** `call`: a call booked with a team (docs/channels.md, "Calls"), under the same contact policy as a message. */
export const MESSAGE_CHANNELS = ['email', 'sms', 'push', 'device'] as const;
export const CHANNELS = [...MESSAGE_CHANNELS, 'call'] as const;
export type Channel = (typeof CHANNELS)[number];
/** What a call centre's system reports of a call Baton booked (CallCompleted). */
export const CALL_OUTCOMES = ['reached', 'no-answer', 'declined', 'callback', 'voicemail', 'wrong-number'] as const;
export type CallOutcome = (typeof CALL_OUTCOMES)[number];

const crm = {
  CustomerUpserted: detail({
    ...base('crmId'),
    profile: z.object({
      firstName: text(100).optional(),
      lastName: text(100).optional(),
      email: z.email().max(254).optional(),
      phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number such as +4915112345678').optional(),
      locale: locale.optional(),
      timeZone: text(64).optional(),
      country: z.string().regex(/^[A-Z]{2}$/, 'an ISO 3166 alpha-2 code').optional(),
      tier: text(32).optional(),
      tags: z.array(text(64)).max(50).optional(),
    }),
  }),
  ConsentChanged: detail({
    ...base(),
    channel: z.enum(CHANNELS),
    granted: z.boolean(),
    /** Where the customer said it: web-form, unsubscribe-link, call-centre, complaint... */
    via: text(64),
  }),
  CustomerErased: detail({ ...base(), requestId: text(128) }),
  /** Business context (docs/context.md): a call-centre team's load right now. No customer in it. */
  CallCentreLoadReported: detail({
    occurredAt: timestamp,
    team: contextKey,
    agentsFree: z.number().int().min(0).max(1_000_000),
    queueLength: z.number().int().min(0).max(100_000_000),
  }),
  /** Business context: a promotion went live, changed or ended. */
  PromotionChanged: detail({
    occurredAt: timestamp,
    promotionId: contextKey,
    status: z.enum(['live', 'ended']),
    validFrom: timestamp.optional(),
    validUntil: timestamp.optional(),
  }),
  /** A service case the customer opened (a complaint, a question); `sentiment` is the CRM's reading of it. */
  CaseOpened: detail({
    ...base(),
    caseId: text(128),
    category: text(64),
    sentiment: z.enum(['negative', 'neutral', 'positive']),
  }),
  /** The call-centre system's report of a call Baton booked (channel `call`): feedback for the next decision. */
  CallCompleted: detail({
    ...base(),
    decisionId: text(128),
    team: contextKey,
    outcome: z.enum(CALL_OUTCOMES),
  }),
  /** The customer joined a loyalty programme (docs/loyalty.md); one customer can be in several. */
  MemberEnrolled: detail({ ...base(), programmeId: text(64) }),
};

const erp = {
  /** Business context (docs/context.md): stock of a SKU at one store or warehouse, as now counted. */
  InventoryChanged: detail({
    occurredAt: timestamp,
    sku: contextKey,
    location: contextKey,
    available: z.number().int().min(0).max(1_000_000_000),
  }),
  LicensePurchased: detail({
    ...base('licenseId'),
    licenseId: text(128),
    product: text(128),
    seats: z.number().int().min(1).max(1_000_000),
    startsAt: timestamp,
    expiresAt: timestamp,
    amount: money,
    currency,
  }),
  LicenseRenewalDue: detail({
    ...base('licenseId'),
    licenseId: text(128),
    product: text(128),
    expiresAt: timestamp,
    daysLeft: z.number().int().min(-3650).max(3650),
  }),
  LicenseRenewed: detail({
    ...base('licenseId'),
    licenseId: text(128),
    product: text(128),
    expiresAt: timestamp,
    amount: money,
    currency,
  }),
  LicenseExpired: detail({
    ...base('licenseId'),
    licenseId: text(128),
    product: text(128),
    expiredAt: timestamp,
  }),
};

const pos = {
  SaleCompleted: detail({
    ...base(),
    saleId: text(128),
    storeId: text(64),
    items: z
      .array(
        z.object({
          sku: text(64),
          category: text(64),
          quantity: z.number().int().min(1).max(10_000),
          unitPrice: money,
        }),
      )
      .min(1)
      .max(500),
    total: money,
    currency,
    offerCodes: z.array(text(64)).max(20).optional(),
  }),
  SaleRefunded: detail({
    ...base(),
    saleId: text(128),
    refundId: text(128),
    amount: money,
    currency,
    reason: text(256).optional(),
  }),
};

// A partner's sale or refund carries the partner's id; its lines earn points like a store's.
const partnerId = z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a partner id: lower-case letters, digits and dashes');
const partners = {
  PartnerSaleCompleted: detail({ ...pos.SaleCompleted.shape, partnerId }),
  PartnerSaleRefunded: detail({ ...pos.SaleRefunded.shape, partnerId }),
};

const DEVICE_STATUS = ['protected', 'at-risk', 'unprotected'] as const;
const device = {
  DeviceRegistered: detail({
    ...base('deviceId'),
    deviceId: text(128),
    platform: z.enum(['windows', 'macos', 'linux', 'android', 'ios']),
    agentVersion: text(32),
    /** SNS platform endpoint for mobile push, when the device has one. */
    pushEndpointArn: z.string().startsWith('arn:').max(512).optional(),
  }),
  DeviceStatusReported: detail({
    ...base('deviceId'),
    deviceId: text(128),
    status: z.enum(DEVICE_STATUS),
    agentVersion: text(32),
  }),
  ThreatDetected: detail({
    ...base('deviceId'),
    deviceId: text(128),
    threatId: text(128),
    threatName: text(256),
    severity: z.enum(['low', 'medium', 'high', 'critical']),
    action: z.enum(['quarantined', 'blocked', 'removed', 'none']),
  }),
  MessageDisplayed: detail({ ...base('deviceId'), deviceId: text(128), decisionId: text(128) }),
  MessageClicked: detail({
    ...base('deviceId'),
    deviceId: text(128),
    decisionId: text(128),
    link: z.url().max(2048).optional(),
  }),
};

// SES event publishing format, as SES puts it on the default bus (source aws.ses).
// Baton tags every send with decisionId and customerId, which is how feedback finds its customer.
const sesMail = z.looseObject({
  timestamp,
  messageId: text(256),
  destination: z.array(z.string()).min(1),
  tags: z.record(z.string(), z.array(z.string())).optional(),
});
const sesDetail = <T extends z.ZodRawShape>(eventType: string, shape: T) =>
  z.looseObject({ eventType: z.literal(eventType), mail: sesMail, ...shape });
const ses = {
  'Email Sent': sesDetail('Send', { send: z.looseObject({}).optional() }),
  'Email Delivered': sesDetail('Delivery', { delivery: z.looseObject({ timestamp }) }),
  'Email Bounced': sesDetail('Bounce', {
    bounce: z.looseObject({ bounceType: z.enum(['Undetermined', 'Permanent', 'Transient']), timestamp }),
  }),
  'Email Complaint Received': sesDetail('Complaint', { complaint: z.looseObject({ timestamp }) }),
  'Email Opened': sesDetail('Open', { open: z.looseObject({ timestamp }) }),
  'Email Clicked': sesDetail('Click', { click: z.looseObject({ timestamp, link: z.string() }) }),
  'Email Rejected': sesDetail('Reject', { reject: z.looseObject({ reason: z.string() }) }),
  'Email Delivery Delayed': sesDetail('DeliveryDelay', { deliveryDelay: z.looseObject({ timestamp }) }),
  'Email Rendering Failed': sesDetail('Rendering Failure', { failure: z.looseObject({}) }),
  'Email Subscribed': sesDetail('Subscription', { subscription: z.looseObject({ timestamp }) }),
};

/**
 * The object of an SES event that says when it happened. The others (Send, Reject, Rendering
 * Failure) happen when the message is handed to SES: `mail.timestamp`.
 */
export const SES_EVENT_TIME = {
  'Email Delivered': 'delivery',
  'Email Bounced': 'bounce',
  'Email Complaint Received': 'complaint',
  'Email Opened': 'open',
  'Email Clicked': 'click',
  'Email Delivery Delayed': 'deliveryDelay',
  'Email Subscribed': 'subscription',
} as const satisfies { [D in keyof typeof ses]?: Exclude<keyof (typeof ses)[D]['shape'], 'mail' | 'eventType'> };

/** When an SES event happened (as written, with its offset) and the field that says it. */
export function sesEventTime(detailType: string, detail: { mail: { timestamp: string } }): { at: string; field: string } {
  const key = Object.hasOwn(SES_EVENT_TIME, detailType) ? SES_EVENT_TIME[detailType as keyof typeof SES_EVENT_TIME] : undefined;
  if (!key) return { at: detail.mail.timestamp, field: 'detail.mail.timestamp' };
  return { at: (detail as unknown as Record<string, { timestamp: string }>)[key]!.timestamp, field: `detail.${key}.timestamp` };
}

const baton = {
  /** A bus action chosen by a decision, for any subscriber (CRM update, call list, webhook). */
  ActionRequested: z.looseObject({
    decisionId: text(128),
    customerId: text(128),
    ruleId: text(128),
    campaignId: text(128),
    action: text(128),
    payload: z.record(z.string(), z.unknown()).optional(),
    /** The destination (docs/destinations.md) the action goes to; its payload is the rendered template. */
    destination: text(64).optional(),
  }),
  /** A call-list entry for a team's system (channel `call`): who to call, and the agent's brief. */
  CallRequested: z.looseObject({
    decisionId: text(128),
    customerId: text(128),
    ruleId: text(128),
    campaignId: text(128),
    team: contextKey,
    /** The rendered call template: what the agent says and why the customer is called. */
    brief: text(20_000),
    /** The number to call (E.164), the one piece of personal data the entry needs. */
    phone: z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number').optional(),
  }),
};

/**
 * A customer entered or left a segment (docs/segments.md). The bus gives each copy its own envelope
 * id, so `eventId`, derived from the cause, the customer and the segment, is what makes a copy
 * published again after a crash a duplicate (ingest reads it as the event's id).
 */
const segmentChange = z.looseObject({
  eventId: text(128),
  segmentId: text(64),
  customerId: text(128),
  /** The event (or `refresh:<day>`) that changed the membership. */
  cause: text(128),
  occurredAt: timestamp,
});
const segments = {
  SegmentEntered: segmentChange,
  SegmentLeft: segmentChange,
};
const journeys = {
  /** A journey wait's schedule fired: the customer's instance moves on if it still sits in that wait. */
  JourneyTimerDue: z.object({
    journeyId: text(64),
    version: z.number().int().min(1),
    instanceId: text(128),
    customerId: text(128),
    stepId: text(64),
    dueAt: timestamp,
  }),
};

/** Business-context events (docs/context.md): about the business, not a customer; they change no profile. */
export const CONTEXT_DETAIL_TYPES = ['InventoryChanged', 'CallCentreLoadReported', 'PromotionChanged'] as const;
/** Every loyalty event names the programme and the customer (Baton's id) and when it happened. */
const loyaltyEvent = <T extends z.ZodRawShape>(shape: T) =>
  z.looseObject({ eventId: text(256), programmeId: text(64), customerId: text(128), occurredAt: timestamp, ...shape });
const points = z.number().int().min(-1e12).max(1e12);
const loyalty = {
  PointsEarned: loyaltyEvent({ txId: text(256), points, balance: points }),
  PointsRedeemed: loyaltyEvent({ txId: text(256), points, balance: points }),
  /** Ahead of expiry, by the programme's warning days: "your points expire in 30 days". */
  PointsExpiring: loyaltyEvent({ lotId: text(256), points, expiresAt: timestamp }),
  PointsExpired: loyaltyEvent({ lotId: text(256), points, balance: points }),
  TierChanged: loyaltyEvent({ from: text(64).nullable(), to: text(64).nullable() }),
  RewardOrdered: loyaltyEvent({ orderId: text(256), rewardId: text(64), points }),
  /** A sale attributed to the offer that caused it (last touch in the window; a redeemed code wins). */
  SaleAttributed: loyaltyEvent({ saleId: text(128), decisionId: text(128), campaignId: text(128), offer: text(64).optional(), touch: text(32), revenue: money, currency }),
};

/** Every detail schema, by source, then detail-type. */
export const CATALOG = {
  [SOURCES.crm]: crm,
  [SOURCES.erp]: erp,
  [SOURCES.pos]: pos,
  [SOURCES.device]: device,
  [SOURCES.ses]: ses,
  [SOURCES.baton]: baton,
  [SOURCES.segments]: segments,
  [SOURCES.journeys]: journeys,
  [SOURCES.partners]: partners,
  [SOURCES.loyalty]: loyalty,
} as const;

type Catalog = typeof CATALOG;
/** An event Baton has validated: the EventBridge envelope with a typed detail. */
export type BatonEvent = {
  [S in keyof Catalog]: {
    [D in keyof Catalog[S]]: Envelope & {
      source: S;
      'detail-type': D;
      detail: z.infer<Catalog[S][D] & z.ZodType>;
    };
  }[keyof Catalog[S]];
}[keyof Catalog];
export type EventOf<S extends keyof Catalog, D extends keyof Catalog[S]> = Extract<
  BatonEvent,
  { source: S; 'detail-type': D }
>;

/** The EventBridge envelope (what a target receives). */
export const envelopeSchema = z.object({
  version: z.string().optional(),
  id: text(128),
  source: text(256),
  'detail-type': text(128),
  account: z.string().optional(),
  time: timestamp,
  region: z.string().optional(),
  resources: z.array(z.string()).optional(),
  detail: z.unknown(),
});
export type Envelope = z.infer<typeof envelopeSchema>;

/** Every (source, detail-type) pair in the catalog. */
export function catalogEntries(): { source: string; detailType: string; schema: z.ZodType }[] {
  return Object.entries(CATALOG).flatMap(([source, types]) =>
    Object.entries(types).map(([detailType, schema]) => ({ source, detailType, schema: schema as z.ZodType })),
  );
}

export function detailSchema(source: string, detailType: string): z.ZodType | undefined {
  const types = Object.hasOwn(CATALOG, source) ? (CATALOG as Record<string, Record<string, z.ZodType>>)[source] : undefined;
  return types && Object.hasOwn(types, detailType) ? types[detailType] : undefined;
}

/** The schema of a whole event (envelope + detail) for one type: what JSON Schema export publishes. */
export function eventSchema(source: string, detailType: string): z.ZodType {
  const schema = detailSchema(source, detailType);
  if (!schema) throw new Error(`no schema for source "${source}" and detail-type "${detailType}"`);
  return envelopeSchema.extend({ source: z.literal(source), 'detail-type': z.literal(detailType), detail: schema });
}
