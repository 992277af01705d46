// Claims on shared limits (a campaign's budget, a channel's hourly capacity), taken in the same
// transaction as the state change so limits hold under concurrency. Pure: the counters repository
// stores them.
import type { Channel } from '../../../events/catalog.ts';
import type { Campaign } from './campaign.ts';

/** A claim on a shared limit, stored in the counters table. */
export interface Reservation {
  /** Counter item key, e.g. `BUDGET#renewals-2026` / `TOTAL`. Also how a refused claim is reported. */
  readonly pk: string;
  readonly sk: string;
  readonly amount: number;
  /** The claim fails if the counter would pass this. */
  readonly limit: number;
  /** Epoch seconds after which the counter item may be deleted (windows). */
  readonly expiresAt?: number;
}

export const reservationKey = (r: Pick<Reservation, 'pk' | 'sk'>): string => `${r.pk}/${r.sk}`;


const HOUR_MS = 3_600_000;

/** Counter items of the counters table (pk / sk): */
export const counterKeys = {
  /** BUDGET#<campaignId> / TOTAL: `used` is messages or hundredths, over the campaign's life. */
  budget: (campaignId: string) => ({ pk: `BUDGET#${campaignId}`, sk: 'TOTAL' }),
  /** CAPACITY#<campaignId>#<channel> / H#<yyyy-mm-ddThh>: messages queued in that UTC hour. */
  capacity: (campaignId: string, channel: Channel | 'bus', atMs: number) => ({ pk: `CAPACITY#${campaignId}#${channel}`, sk: hourKey(atMs) }),
};

let lastHour = NaN;
let lastHourKey = '';
/** `H#<yyyy-mm-ddThh>` of the UTC hour; remembered, as nearly every call asks for the current hour. */
function hourKey(atMs: number): string {
  const hour = Math.floor(atMs / HOUR_MS);
  if (hour !== lastHour) {
    lastHour = hour;
    lastHourKey = `H#${new Date(hour * HOUR_MS).toISOString().slice(0, 13)}`;
  }
  return lastHourKey;
}

/** The claims one message of `campaign` makes on shared limits, for the hour it will be sent in. */
export function reservationsFor(campaign: Campaign, channel: Channel | 'bus', sendAtMs: number): Reservation[] {
  const out: Reservation[] = [];
  const budget = campaign.budget;
  if (budget) {
    const amount = budget.unit === 'messages' ? 1 : (budget.costPerMessage[channel] ?? 0);
    if (amount > 0) out.push({ ...counterKeys.budget(campaign.campaignId), amount, limit: budget.limit });
  }
  const capacity = campaign.capacityPerHour?.[channel];
  if (capacity !== undefined) {
    const hourEnd = Math.floor(sendAtMs / HOUR_MS) * HOUR_MS + HOUR_MS;
    // The window's counter is kept a day after the hour, then DynamoDB's TTL removes it.
    out.push({ ...counterKeys.capacity(campaign.campaignId, channel, sendAtMs), amount: 1, limit: capacity, expiresAt: Math.floor(hourEnd / 1000) + 86_400 });
  }
  return out;
}

/** One transaction may touch an item once: claims on the same counter are summed. */
export function mergeReservations(all: readonly Reservation[]): Reservation[] {
  const byKey = new Map<string, Reservation>();
  for (const r of all) {
    const key = `${r.pk}\u0000${r.sk}`;
    const prev = byKey.get(key);
    byKey.set(key, prev ? { ...prev, amount: prev.amount + r.amount, limit: Math.min(prev.limit, r.limit) } : r);
  }
  return [...byKey.values()];
}
