// The deliverability guard: protects the sender's reputation. Marketing email pauses (transactional
// keeps going) when the rolling hard-bounce rate passes 2 % or the complaint rate 0.08 %, well
// before SES's own review thresholds (5 % and 0.1 %). Counts are kept per UTC day in the counters
// table by feedback (lib/app/feedback.ts); dispatch assesses the last `windowDays` days. Pure.
import type { BatonEvent } from '../../../events/catalog.ts';

export interface GuardThresholds {
  /** Hard bounces / sent above which marketing email pauses. @default 0.02 */
  readonly bounceRate: number;
  /** Complaints / sent above which marketing email pauses. @default 0.0008 */
  readonly complaintRate: number;
  /** Days (UTC, today included) the rates are computed over. @default 7 */
  readonly windowDays: number;
  /** Fewer sends than this in the window are too few to judge: the guard stays open. @default 200 */
  readonly minSent: number;
}

export const DEFAULT_THRESHOLDS: GuardThresholds = { bounceRate: 0.02, complaintRate: 0.0008, windowDays: 7, minSent: 200 };

export interface DailyCounts {
  /** yyyy-mm-dd (UTC) */
  readonly day: string;
  readonly sent: number;
  readonly bounces: number;
  readonly complaints: number;
}

export type Assessment =
  | { readonly status: 'open'; readonly sent: number; readonly bounceRate: number; readonly complaintRate: number }
  | {
      readonly status: 'paused';
      readonly code: (typeof GUARD_CODES)[number];
      readonly reason: string;
      readonly sent: number;
      readonly bounceRate: number;
      readonly complaintRate: number;
    };

/** Why the guard pauses marketing email. */
export const GUARD_CODES = ['bounce-rate', 'complaint-rate'] as const;

const DAY_MS = 86_400_000;
export const utcDay = (at: Date | number): string => new Date(at).toISOString().slice(0, 10);

/** The days of the window ending today, oldest first. */
export function windowDays(now: Date, days: number): string[] {
  const out: string[] = [];
  for (let i = days - 1; i >= 0; i--) out.push(utcDay(now.getTime() - i * DAY_MS));
  return out;
}

const pct = (r: number) => `${(r * 100).toFixed(r < 0.01 ? 3 : 2)} %`;

export function assess(counts: readonly DailyCounts[], now: Date, t: GuardThresholds = DEFAULT_THRESHOLDS): Assessment {
  const days = new Set(windowDays(now, t.windowDays));
  let sent = 0;
  let bounces = 0;
  let complaints = 0;
  for (const c of counts) {
    if (!days.has(c.day)) continue;
    sent += c.sent;
    bounces += c.bounces;
    complaints += c.complaints;
  }
  const bounceRate = sent > 0 ? bounces / sent : 0;
  const complaintRate = sent > 0 ? complaints / sent : 0;
  if (sent >= t.minSent) {
    if (bounceRate > t.bounceRate) {
      return {
        status: 'paused',
        code: 'bounce-rate',
        reason: `marketing email paused: hard-bounce rate ${pct(bounceRate)} over the last ${t.windowDays} days is above ${pct(t.bounceRate)}`,
        sent,
        bounceRate,
        complaintRate,
      };
    }
    if (complaintRate > t.complaintRate) {
      return {
        status: 'paused',
        code: 'complaint-rate',
        reason: `marketing email paused: complaint rate ${pct(complaintRate)} over the last ${t.windowDays} days is above ${pct(t.complaintRate)}`,
        sent,
        bounceRate,
        complaintRate,
      };
    }
  }
  return { status: 'open', sent, bounceRate, complaintRate };
}

/** What one feedback event adds to the day's counts (SES counts hard bounces only). */
export function countsOf(event: BatonEvent): { day: string; sent: number; bounces: number; complaints: number } | undefined {
  if (event.source !== 'aws.ses') return undefined;
  const day = utcDay(Date.parse(event.detail.mail.timestamp));
  switch (event['detail-type']) {
    case 'Email Sent':
      return { day, sent: 1, bounces: 0, complaints: 0 };
    case 'Email Bounced':
      return event.detail.bounce.bounceType === 'Permanent' ? { day, sent: 0, bounces: 1, complaints: 0 } : undefined;
    case 'Email Complaint Received':
      return { day, sent: 0, bounces: 0, complaints: 1 };
    default:
      return undefined;
  }
}

/** Counter items (counters table): DELIVERABILITY#email / D#<yyyy-mm-dd> { sent, bounces, complaints }. */
export const deliverabilityKey = (day: string) => ({ pk: 'DELIVERABILITY#email', sk: `D#${day}` });
