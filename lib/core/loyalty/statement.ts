// A member's statement as templates and the decision API show it: the balance and the next expiry
// of each programme, without the entries (those are `baton loyalty statement`'s). Templates get it
// formatted for the customer: numbers in their locale, the expiry day in their time zone.
import type { Lot } from './ledger.ts';
import { statementLine } from './ledger.ts';
import { isTimeZone } from '../campaigns/quiet-hours.ts';

/** One programme's balance and next expiry: what an account's item and lots give, no entries. */
export interface LoyaltySummary {
  readonly programmeId: string;
  readonly currencyName: string;
  readonly balance: number;
  readonly tier?: string | undefined;
  /** The next day points expire (yyyy-mm-dd, in the time zone asked for) and how many. */
  readonly nextExpiry?: { readonly points: number; readonly on: string } | undefined;
}

/** The day of `iso` on the wall clock of `timeZone`, yyyy-mm-dd. */
function dayIn(iso: string, timeZone: string): string {
  // en-CA writes dates as yyyy-mm-dd.
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
}

/** The summary from an account: lots still holding points after `now`, grouped by their expiry day in `timeZone`. */
export function summaryOf(
  input: { programmeId: string; currencyName: string; balance: number; tier?: string | undefined; lots: readonly Lot[] },
  now: Date,
  timeZone = 'UTC',
): LoyaltySummary {
  const zone = isTimeZone(timeZone) ? timeZone : 'UTC';
  const upcoming = input.lots.filter((l) => l.points > 0 && l.expiresAt !== undefined && Date.parse(l.expiresAt) > now.getTime());
  let nextExpiry: LoyaltySummary['nextExpiry'];
  if (upcoming.length) {
    const days = upcoming.map((l) => ({ day: dayIn(l.expiresAt!, zone), points: l.points }));
    const first = days.map((d) => d.day).sort()[0]!;
    nextExpiry = { on: first, points: days.filter((d) => d.day === first).reduce((s, d) => s + d.points, 0) };
  }
  return { programmeId: input.programmeId, currencyName: input.currencyName, balance: input.balance, ...(input.tier ? { tier: input.tier } : {}), nextExpiry };
}

/** What a template reads as `loyalty.<programmeId>`. */
export interface LoyaltyTemplateView {
  readonly balance: number;
  /** The balance in the customer's locale: 1,240 (en), 1.240 (de). */
  readonly balanceText: string;
  readonly currencyName: string;
  readonly tier: string | null;
  readonly nextExpiry: {
    readonly points: number;
    readonly pointsText: string;
    /** yyyy-mm-dd in the customer's time zone. */
    readonly on: string;
    /** Day and month in the customer's locale: "31 March" (en-GB), "March 31" (en), "31. März" (de). */
    readonly date: string;
  } | null;
  /** The English sentence of `baton loyalty statement`: "you have 1,240 points, 300 expire on 31 March". */
  readonly statement: string;
}

function localeOr(locale: string | undefined): string {
  if (!locale) return 'en';
  try {
    return Intl.getCanonicalLocales(locale)[0] ?? 'en';
  } catch {
    return 'en';
  }
}

/** `loyalty` for a template: one entry per programme the customer is a member of. */
export function loyaltyTemplateView(summaries: readonly LoyaltySummary[], customer: { readonly locale?: unknown } & Record<string, unknown>): Record<string, LoyaltyTemplateView> {
  const locale = localeOr(typeof customer.locale === 'string' ? customer.locale : undefined);
  const number = new Intl.NumberFormat(locale);
  // The day is already the customer's: format it as that calendar day, in UTC, so it does not shift.
  const dayMonth = new Intl.DateTimeFormat(locale, { day: 'numeric', month: 'long', timeZone: 'UTC' });
  const out: Record<string, LoyaltyTemplateView> = {};
  for (const s of summaries) {
    out[s.programmeId] = {
      balance: s.balance,
      balanceText: number.format(s.balance),
      currencyName: s.currencyName,
      tier: s.tier ?? null,
      nextExpiry: s.nextExpiry
        ? { points: s.nextExpiry.points, pointsText: number.format(s.nextExpiry.points), on: s.nextExpiry.on, date: dayMonth.format(new Date(`${s.nextExpiry.on}T00:00:00Z`)) }
        : null,
      statement: statementLine(s),
    };
  }
  return out;
}

/** A view with every part present once: what the template check knows a programme's entry holds. */
export const SAMPLE_LOYALTY_VIEW: LoyaltyTemplateView = loyaltyTemplateView(
  [{ programmeId: 'sample', currencyName: 'points', balance: 1, tier: 'x', nextExpiry: { points: 1, on: '2026-03-31' } }],
  {},
).sample!;
