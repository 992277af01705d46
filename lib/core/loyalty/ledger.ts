// The ledger's arithmetic, with no I/O: points are held in lots (one per accrual, with its expiry),
// spent and written off oldest first; a refund reverses the points its sale earned in proportion.
// The invariant every posting keeps: balance = the sum of the lots' points, never below 0.
import type { ExpiryPolicy } from './items.ts';

export const ENTRY_KINDS = ['accrual', 'redemption', 'reversal', 'expiry', 'adjustment'] as const;
export type EntryKind = (typeof ENTRY_KINDS)[number];

/** One line of a member's statement: append-only, signed points (+ in, − out). */
export interface LedgerEntry {
  readonly kind: EntryKind;
  readonly txId: string;
  readonly at: string;
  readonly points: number;
  readonly ruleId?: string;
  readonly promotionId?: string;
  readonly partnerId?: string;
  readonly rewardId?: string;
  /** A reversal that found fewer points than it should take: what could not be taken back. */
  readonly unrecovered?: number;
}

/** Points earned together, spent and expired together. `points` is what is left of them. */
export interface Lot {
  readonly lotId: string;
  readonly earnedAt: string;
  readonly expiresAt?: string | undefined;
  readonly points: number;
}

export interface LotTake {
  readonly lotId: string;
  /** What the lot holds now: the write is conditional on it, so a concurrent spend is seen. */
  readonly had: number;
  readonly points: number;
}

/** Oldest first (then by id, so every reader takes the same lots). */
export const byAge = (a: Lot, b: Lot) => (a.earnedAt < b.earnedAt ? -1 : a.earnedAt > b.earnedAt ? 1 : a.lotId < b.lotId ? -1 : a.lotId > b.lotId ? 1 : 0);

/**
 * Which lots `points` come out of: `first` (a refunded sale's own lot) if given, then oldest first.
 * `short` is what the lots could not cover.
 */
export function takeFromLots(lots: readonly Lot[], points: number, first?: string): { takes: LotTake[]; short: number } {
  const order = [...lots].filter((l) => l.points > 0).sort(byAge);
  if (first) order.sort((a, b) => (a.lotId === first ? -1 : b.lotId === first ? 1 : 0));
  const takes: LotTake[] = [];
  let left = points;
  for (const lot of order) {
    if (left <= 0) break;
    const take = Math.min(lot.points, left);
    takes.push({ lotId: lot.lotId, had: lot.points, points: take });
    left -= take;
  }
  return { takes, short: left };
}

/** What a sale has given back so far: the refunds reverse in proportion to the amount returned. */
export interface SaleRecord {
  readonly total: number;
  readonly earned: number;
  readonly refunded: number;
  readonly reversed: number;
}

/**
 * Points a refund of `amount` reverses: the cumulative share of the earned points for everything
 * refunded so far, minus what earlier refunds reversed, so partial returns add up to the whole
 * sale exactly and never reverse more than it earned.
 */
export function reversalFor(sale: SaleRecord, amount: number): { points: number; refunded: number } {
  const refunded = Math.min(sale.total, sale.refunded + Math.max(0, amount));
  const due = sale.total > 0 ? Math.floor((sale.earned * refunded) / sale.total + 1e-9) : sale.earned;
  return { points: Math.max(0, Math.min(sale.earned, due) - sale.reversed), refunded };
}

/** When points earned at `earnedAt` expire under the policy (undefined: never). */
export function lotExpiry(policy: ExpiryPolicy, earnedAt: Date): string | undefined {
  if (policy.kind === 'never') return undefined;
  const y = earnedAt.getUTCFullYear();
  const m = earnedAt.getUTCMonth() + policy.months;
  if (policy.endOfMonth) return new Date(Date.UTC(y, m + 1, 1) - 1).toISOString();
  const d = new Date(earnedAt.getTime());
  d.setUTCMonth(d.getUTCMonth() + policy.months);
  return d.toISOString();
}

/** Lots whose points are due to expire at `now`. */
export const dueLots = (lots: readonly Lot[], now: Date) => lots.filter((l) => l.points > 0 && l.expiresAt !== undefined && Date.parse(l.expiresAt) <= now.getTime()).sort(byAge);

export interface Statement {
  readonly programmeId: string;
  readonly customerId: string;
  readonly currencyName: string;
  readonly balance: number;
  readonly tier?: string | undefined;
  /** The next date points expire on and how many. */
  readonly nextExpiry?: { readonly points: number; readonly on: string } | undefined;
  readonly entries: readonly LedgerEntry[];
}

export function statementOf(input: { programmeId: string; customerId: string; currencyName: string; balance: number; tier?: string | undefined; lots: readonly Lot[]; entries: readonly LedgerEntry[] }, now: Date): Statement {
  const upcoming = input.lots.filter((l) => l.points > 0 && l.expiresAt && Date.parse(l.expiresAt) > now.getTime());
  let nextExpiry: Statement['nextExpiry'];
  if (upcoming.length) {
    const day = upcoming.map((l) => l.expiresAt!.slice(0, 10)).sort()[0]!;
    nextExpiry = { on: day, points: upcoming.filter((l) => l.expiresAt!.startsWith(day)).reduce((s, l) => s + l.points, 0) };
  }
  return { programmeId: input.programmeId, customerId: input.customerId, currencyName: input.currencyName, balance: input.balance, tier: input.tier, nextExpiry, entries: input.entries };
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];

/** "you have 1,240 points, 300 expire on 31 March" (en; the templates format their own). */
export function statementLine(s: Pick<Statement, 'balance' | 'currencyName' | 'nextExpiry'>): string {
  const n = (v: number) => v.toLocaleString('en-US');
  const head = `you have ${n(s.balance)} ${s.currencyName}`;
  if (!s.nextExpiry) return head;
  const [, m, d] = s.nextExpiry.on.split('-').map(Number) as [number, number, number];
  return `${head}, ${n(s.nextExpiry.points)} expire on ${d} ${MONTHS[m - 1]}`;
}
