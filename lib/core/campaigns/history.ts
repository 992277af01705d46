// The customer's recent contacts, read from the state's contact history, for caps, cooldown and
// per-rule limits. Baton records each message it queues at decision time under the key
// `<decisionId>/<channel>/<ruleId>` (see contactKey), in the same version-checked commit as the
// decision, so two concurrent decisions for one customer cannot both pass a cap.
import type { Channel } from '../../../events/catalog.ts';
import type { Contact } from '../customer/index.ts';

export interface ContactRecord {
  readonly channel: Channel;
  readonly atMs: number;
  readonly ruleId?: string;
  readonly campaignId?: string;
}

export const contactKey = (decisionId: string, channel: Channel, ruleId: string): string => `${decisionId}/${channel}/${ruleId}`;

/**
 * One record per message: feedback for a message Baton queued (e.g. SES events keyed by the
 * decisionId) folds into the record made at decision time, so nothing is counted twice.
 */
export function contactHistory(contacts: readonly Contact[]): ContactRecord[] {
  const byMessage = new Map<string, { channel: Channel; atMs: number; ruleId?: string; campaignId?: string }>();
  for (const c of contacts) {
    const key = c.id;
    const at = c.sentAt ?? c.deliveredAt ?? c.openedAt ?? c.clickedAt;
    if (!at) continue; // bounced, rejected or failed before it reached the customer
    const [base = key, , ruleId] = key.split('/');
    const id = `${base}\u0000${c.channel}`;
    const atMs = Date.parse(at);
    const prev = byMessage.get(id);
    byMessage.set(id, {
      channel: c.channel,
      atMs: prev ? Math.min(prev.atMs, atMs) : atMs,
      ...(ruleId ?? prev?.ruleId ? { ruleId: (ruleId ?? prev?.ruleId)! } : {}),
      ...(c.campaignId ?? prev?.campaignId ? { campaignId: (c.campaignId ?? prev?.campaignId)! } : {}),
    });
  }
  return [...byMessage.values()];
}

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

/** Counts over the history at one instant, computed once per decision. */
export class ContactStats {
  readonly lastAtMs: number;
  private readonly perDay = new Map<Channel, number>();
  private readonly perWeek = new Map<Channel, number>();

  constructor(
    private readonly records: readonly ContactRecord[],
    private readonly nowMs: number,
  ) {
    let last = -Infinity;
    for (const r of records) {
      if (r.atMs > last) last = r.atMs;
      const age = nowMs - r.atMs;
      if (age < 7 * DAY_MS) this.perWeek.set(r.channel, (this.perWeek.get(r.channel) ?? 0) + 1);
      if (age < DAY_MS) this.perDay.set(r.channel, (this.perDay.get(r.channel) ?? 0) + 1);
    }
    this.lastAtMs = last;
  }

  day(channel: Channel): number {
    return this.perDay.get(channel) ?? 0;
  }

  week(channel: Channel): number {
    return this.perWeek.get(channel) ?? 0;
  }

  /** Messages from one rule within the last `periodDays`. */
  byRule(ruleId: string, periodDays: number): number {
    let n = 0;
    for (const r of this.records) if (r.ruleId === ruleId && this.nowMs - r.atMs < periodDays * DAY_MS) n++;
    return n;
  }

  hoursSinceLast(): number {
    return (this.nowMs - this.lastAtMs) / HOUR_MS;
  }

  static readonly EMPTY_AT = (nowMs: number) => new ContactStats([], nowMs);
}
