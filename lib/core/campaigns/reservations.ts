// Claims on shared limits (a campaign's budget, a channel's hourly capacity), taken in the same
// transaction as the state change so limits hold under concurrency. Pure: which counter item holds
// a limit is the counters repository's business (lib/adapters/dynamo/counters.ts).
import type { Channel } from '../../../events/catalog.ts';
import type { Campaign } from './campaign.ts';

/** The limit a claim is on. */
export type SharedLimit =
  /** A campaign's budget, over the campaign's life (messages or hundredths of the currency). */
  | { readonly kind: 'budget'; readonly campaignId: string }
  /** A campaign's capacity on one channel in one UTC hour (`yyyy-mm-ddThh`). */
  | { readonly kind: 'capacity'; readonly campaignId: string; readonly channel: Channel | 'bus'; readonly hour: string };

/** A claim on a shared limit. */
export interface Reservation {
  readonly on: SharedLimit;
  /**
   * `limitKey(on)`: names the limit when a claim is refused (commit results, the spent-limits
   * memory), e.g. `budget/renewals-2026`, `capacity/renewals-2026/email/2026-03-10T12`.
   */
  readonly key: string;
  readonly amount: number;
  /** The claim fails if the limit's use would pass this. */
  readonly limit: number;
  /** Epoch seconds after which the window's counter may be deleted (capacity windows). */
  readonly expiresAt?: number;
}

/** The stable, readable name of a limit. Campaign ids are `[a-z0-9-]`, so `/` cannot be ambiguous. */
export function limitKey(on: SharedLimit): string {
  return on.kind === 'budget' ? `budget/${on.campaignId}` : `capacity/${on.campaignId}/${on.channel}/${on.hour}`;
}

const HOUR_MS = 3_600_000;

export const sharedLimits = {
  budget: (campaignId: string): SharedLimit => ({ kind: 'budget', campaignId }),
  /** The capacity window of the UTC hour that holds `atMs`. */
  capacity: (campaignId: string, channel: Channel | 'bus', atMs: number): SharedLimit => ({ kind: 'capacity', campaignId, channel, hour: utcHour(atMs) }),
};

let lastHour = NaN;
let lastHourText = '';
/** `yyyy-mm-ddThh` of the UTC hour; remembered, as nearly every call asks for the current hour. */
function utcHour(atMs: number): string {
  const hour = Math.floor(atMs / HOUR_MS);
  if (hour !== lastHour) {
    lastHour = hour;
    lastHourText = new Date(hour * HOUR_MS).toISOString().slice(0, 13);
  }
  return lastHourText;
}

function reservation(on: SharedLimit, amount: number, limit: number, expiresAt?: number): Reservation {
  return { on, key: limitKey(on), amount, limit, ...(expiresAt === undefined ? {} : { expiresAt }) };
}

/** The claims one message of `campaign` makes on shared limits, for the hour it will be sent in. */
export function reservationsFor(campaign: Campaign, channel: Channel | 'bus', sendAtMs: number): Reservation[] {
  const out: Reservation[] = [];
  const budget = campaign.budget;
  if (budget) {
    const amount = budget.unit === 'messages' ? 1 : (budget.costPerMessage[channel] ?? 0);
    if (amount > 0) out.push(reservation(sharedLimits.budget(campaign.campaignId), amount, budget.limit));
  }
  const capacity = campaign.capacityPerHour?.[channel];
  if (capacity !== undefined) {
    const hourEnd = Math.floor(sendAtMs / HOUR_MS) * HOUR_MS + HOUR_MS;
    // The window's counter is kept a day after the hour, then DynamoDB's TTL removes it.
    out.push(reservation(sharedLimits.capacity(campaign.campaignId, channel, sendAtMs), 1, capacity, Math.floor(hourEnd / 1000) + 86_400));
  }
  return out;
}

/** One transaction may touch an item once: claims on the same limit are summed. */
export function mergeReservations(all: readonly Reservation[]): Reservation[] {
  const byKey = new Map<string, Reservation>();
  for (const r of all) {
    const prev = byKey.get(r.key);
    byKey.set(r.key, prev ? { ...prev, amount: prev.amount + r.amount, limit: Math.min(prev.limit, r.limit) } : r);
  }
  return [...byKey.values()];
}
