// How many points a transaction earns, and what a reward costs: the programme's rules and the
// promotions in force, applied to one event and one member. Pure: the ledger (lib/app/loyalty.ts)
// commits the result, the reconciliation (./reconcile.ts) replays it in a dry run.
import { compilePattern } from '../event-pattern/index.ts';
import type { EarningRule, Period, Programme, ProgrammeBook, Reward, Rounding, SpendingPromotion } from './items.ts';

/** What rules and promotions see of a member (an earning rule's or spending rule's `if`). */
export interface MemberView {
  readonly programmeId: string;
  readonly tier?: string | undefined;
  readonly balance: number;
  readonly earned: number;
}

/** A transaction as the ledger reads it: the sale lines, or a total alone. */
export interface SaleLine {
  readonly category: string;
  readonly quantity: number;
  readonly unitPrice: number;
}
export interface SaleFacts {
  readonly total: number;
  readonly currency: string;
  readonly items?: readonly SaleLine[] | undefined;
  readonly partnerId?: string | undefined;
}

/** One reason a transaction earns points: a rule's base and bonus, or a promotion's extra. */
export interface EarnLine {
  readonly ruleId: string;
  readonly promotionId?: string;
  /** The partner charged for these points (partner-funded promotions). */
  readonly partnerId?: string;
  readonly points: number;
  /** Before rounding and caps: what reconciliation compares rounding rules on. */
  readonly raw: number;
  /** The cap this line was cut to, when it was. */
  readonly capped?: { readonly period: string; readonly before: number };
}

export interface Accrual {
  readonly lines: readonly EarnLine[];
  readonly points: number;
}

export interface EarnContext {
  /** The event as on the bus (source, detail-type, detail): what `when` patterns match. */
  readonly event: unknown;
  readonly sale: SaleFacts;
  readonly member: MemberView;
  /** When the transaction happened: validity windows and cap periods are read at it. */
  readonly at: Date;
  /** Points each capped rule already gave the member in the current period, by `ruleId#period`. */
  readonly capUsed?: ReadonlyMap<string, number>;
  /** Partners whose budget cannot fund their promotions now. */
  readonly exhaustedPartners?: ReadonlySet<string>;
  /** Overrides the programme's rounding (reconciliation tries the others). */
  readonly rounding?: Rounding;
  /** Promotions left out (reconciliation asks what the total is without one). */
  readonly withoutPromotion?: string;
}

const compiled = new Map<string, (doc: unknown) => boolean>();
/** Patterns compiled once per text, shared by every rule and promotion that writes the same one. */
export function matchesPattern(pattern: Record<string, unknown> | undefined, doc: unknown): boolean {
  if (!pattern) return true;
  const text = JSON.stringify(pattern);
  let fn = compiled.get(text);
  if (!fn) compiled.set(text, (fn = compilePattern(pattern)));
  return fn(doc);
}

export function roundPoints(raw: number, rounding: Rounding): number {
  // A tiny epsilon: 0.1 × 30 must be 3, not 2.9999999999999996 floored to 2.
  const r = rounding === 'floor' ? Math.floor(raw + 1e-9) : rounding === 'ceil' ? Math.ceil(raw - 1e-9) : Math.round(raw);
  return Math.max(0, r);
}

/** The calendar period (UTC) an instant falls in: 2026-11-30, 2026-W48, 2026-11, 2026. */
export function periodKey(period: Period, at: Date): string {
  const iso = at.toISOString();
  if (period === 'day') return iso.slice(0, 10);
  if (period === 'month') return iso.slice(0, 7);
  if (period === 'year') return iso.slice(0, 4);
  // ISO 8601 week: the week with the year's first Thursday is week 1.
  const d = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
  const day = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

export const capKey = (rule: EarningRule, at: Date) => (rule.cap ? `${rule.ruleId}#${periodKey(rule.cap.period, at)}` : undefined);

export function tierFor(programme: Programme, earned: number): string | undefined {
  let best: { tierId: string; minEarned: number } | undefined;
  for (const t of programme.tiers) if (t.minEarned <= earned && (!best || t.minEarned >= best.minEarned)) best = t;
  return best?.tierId;
}

const inWindow = (p: { validFrom: string; validUntil: string }, at: Date) => Date.parse(p.validFrom) <= at.getTime() && at.getTime() < Date.parse(p.validUntil);

/** A rule's base points before rounding, on the lines of `category` only when given. */
function base(rule: EarningRule, sale: SaleFacts, tierMultiplier: number, category?: string): number {
  if (!sale.items || sale.items.length === 0) return category ? 0 : sale.total * rule.pointsPerUnit * tierMultiplier;
  let sum = 0;
  for (const line of sale.items) {
    if (category !== undefined && line.category !== category) continue;
    sum += line.quantity * line.unitPrice * rule.pointsPerUnit * (rule.categoryMultipliers[line.category] ?? 1);
  }
  return sum * tierMultiplier;
}

/** The points one transaction earns a member: each matching rule's line, then each promotion's extra. */
export function accrue(book: ProgrammeBook, ctx: EarnContext): Accrual {
  const { programme } = book;
  const rounding = ctx.rounding ?? programme.rounding;
  if (ctx.sale.currency !== programme.moneyCurrency) return { lines: [], points: 0 };
  const tierMultiplier = programme.tiers.find((t) => t.tierId === ctx.member.tier)?.multiplier ?? 1;
  const matched = programme.earning.filter((r) => matchesPattern(r.when, ctx.event) && matchesPattern(r.if, ctx.member));
  const lines: EarnLine[] = [];
  for (const rule of matched) {
    const raw = Math.max(0, base(rule, ctx.sale, tierMultiplier)) + rule.bonus;
    let points = roundPoints(raw - rule.bonus, rounding) + rule.bonus;
    const key = capKey(rule, ctx.at);
    let capped: EarnLine['capped'];
    if (rule.cap && key) {
      const room = Math.max(0, rule.cap.points - (ctx.capUsed?.get(key) ?? 0));
      if (points > room) [capped, points] = [{ period: key, before: points }, room];
    }
    lines.push({ ruleId: rule.ruleId, points, raw, ...(capped ? { capped } : {}) });
  }
  if (matched.length > 0) {
    for (const promo of book.promotions) {
      if (promo.kind !== 'earning' || promo.promotionId === ctx.withoutPromotion || !inWindow(promo, ctx.at)) continue;
      // A partner-funded promotion applies at that partner's transactions, while its budget lasts.
      if (promo.partnerId && (promo.partnerId !== ctx.sale.partnerId || ctx.exhaustedPartners?.has(promo.partnerId))) continue;
      if (!matchesPattern(promo.when, ctx.event)) continue;
      const b = matched.reduce((s, r) => s + Math.max(0, base(r, ctx.sale, tierMultiplier, promo.category)), 0);
      const raw = b * (promo.multiplier - 1) + promo.bonus;
      const points = roundPoints(b * (promo.multiplier - 1), rounding) + promo.bonus;
      if (points > 0) lines.push({ ruleId: matched[0]!.ruleId, promotionId: promo.promotionId, ...(promo.partnerId ? { partnerId: promo.partnerId } : {}), points, raw });
    }
  }
  return { lines, points: lines.reduce((s, l) => s + l.points, 0) };
}

/** What a reward costs now: the best spending promotion in force takes its share off, rounded up. */
export function priceOf(book: ProgrammeBook, reward: Reward, at: Date): { points: number; promotionId?: string; partnerId?: string } {
  let best: SpendingPromotion | undefined;
  for (const p of book.promotions) {
    if (p.kind !== 'spending' || !inWindow(p, at)) continue;
    if (p.rewardIds && !p.rewardIds.includes(reward.rewardId)) continue;
    if (!best || p.discount > best.discount) best = p;
  }
  if (!best) return { points: reward.points };
  return { points: Math.max(1, Math.ceil(reward.points * (1 - best.discount) - 1e-9)), promotionId: best.promotionId, ...(best.partnerId ? { partnerId: best.partnerId } : {}) };
}

/** Whether the programme's spending rules allow this order (no spending rules: every order). */
export function orderAllowed(
  programme: Programme,
  order: { rewardId: string; category: string; partnerId?: string | undefined; points: number },
  member: MemberView,
): { allowed: boolean; ruleId?: string } {
  if (programme.spending.length === 0) return { allowed: true };
  const rule = programme.spending.find((r) => matchesPattern(r.when, order) && matchesPattern(r.if, member));
  return rule ? { allowed: true, ruleId: rule.ruleId } : { allowed: false };
}
