// The loyalty use cases (docs/loyalty.md): enrol, accrue on a sale, reverse on a refund, redeem,
// order a reward, adjust, expire lots, the statement. Each change of an account is one ledger
// posting (lib/app/ports.ts), committed in one DynamoDB transaction whose conditions keep the
// balance from going negative and let a transaction id apply once; a failed condition means the
// account changed under us, so the posting is computed again from a fresh read.
import { createHash } from 'node:crypto';
import { accrue, capKey, orderAllowed, priceOf, tierFor, type MemberView, type SaleFacts } from '../core/loyalty/earn.ts';
import { lotExpiry, reversalFor, statementOf, takeFromLots, type LedgerEntry, type Statement } from '../core/loyalty/ledger.ts';
import type { ProgrammeBook } from '../core/loyalty/items.ts';
import { summaryOf, type LoyaltySummary } from '../core/loyalty/statement.ts';
import { BatonError } from '../contract/errors.ts';
import { SOURCES, utcTime, type BatonEvent } from '../../events/catalog.ts';
import type { LedgerPosting, LoyaltyAccount, LoyaltyEvent, LoyaltyEventPublisher, LoyaltyLedger, Metrics, PostingResult, ProgrammeSource } from './ports.ts';

export interface LoyaltyDeps {
  readonly ledger: LoyaltyLedger;
  readonly programmes: ProgrammeSource;
  readonly events?: LoyaltyEventPublisher;
  readonly metrics?: Metrics;
  readonly clock?: () => Date;
  readonly maxAttempts?: number;
}

/** A fault, not a business answer: the posting could not be committed (contention), or no programme. */
export class LoyaltyError extends BatonError<'ledger-contention' | 'unknown-programme'> {}

export type LoyaltyOutcome =
  | { readonly status: 'committed'; readonly points: number; readonly balance: number; readonly entries: readonly LedgerEntry[] }
  | { readonly status: 'duplicate' }
  | { readonly status: 'not-member' }
  | { readonly status: 'insufficient'; readonly balance: number; readonly needed: number }
  | { readonly status: 'out-of-stock' }
  | { readonly status: 'not-allowed' }
  | { readonly status: 'unknown-sale' }
  | { readonly status: 'unknown-reward' };

/** A sale as the ledger takes it, from baton.pos SaleCompleted or a partner's PartnerSaleCompleted. */
export interface SaleInput extends SaleFacts {
  readonly saleId: string;
  readonly at: string;
  /** The event as on the bus, for the rules' `when` patterns. */
  readonly event: unknown;
}

export const saleTxId = (saleId: string, partnerId?: string) => (partnerId ? `sale:${partnerId}:${saleId}` : `sale:${saleId}`);
const hashOf = (value: unknown) => createHash('sha256').update(JSON.stringify(value)).digest('base64url');
const monthOf = (at: string) => at.slice(0, 7);

const AGAIN = Symbol('again');

/** The balance a committed posting leaves: the one it read plus its change (no second read of the account). */
const balanceAfter = new WeakMap<LedgerPosting, number>();
function known(read: number, posting: LedgerPosting): LedgerPosting {
  balanceAfter.set(posting, read + posting.delta);
  return posting;
}

export function createLoyalty(deps: LoyaltyDeps) {
  const clock = deps.clock ?? (() => new Date());
  const maxAttempts = deps.maxAttempts ?? 20;

  async function book(programmeId: string): Promise<ProgrammeBook> {
    const b = await deps.programmes.book(programmeId);
    if (!b) throw new LoyaltyError('unknown-programme', `programme ${programmeId} is not in the ledger table (baton loyalty put)`);
    return b;
  }

  const view = (a: LoyaltyAccount): MemberView => ({ programmeId: a.programmeId, tier: a.tier, balance: a.balance, earned: a.earned });

  /** Posts what `attempt` computes from a fresh read until it commits, retrying on a changed account. */
  async function settle(
    what: string,
    attempt: (n: number) => Promise<LedgerPosting | LoyaltyOutcome>,
    refused?: (result: Extract<PostingResult, { status: 'refused' }>) => LoyaltyOutcome | typeof AGAIN,
  ): Promise<LoyaltyOutcome> {
    for (let n = 0; n < maxAttempts; n++) {
      const posting = await attempt(n);
      if ('status' in posting) return posting;
      const result = await deps.ledger.post(posting);
      if (result.status === 'committed') {
        await deps.events?.publish(posting.events);
        deps.metrics?.count('LoyaltyPostings');
        const points = posting.entries.reduce((s, e) => s + e.points, 0);
        return { status: 'committed', points, balance: balanceAfter.get(posting) ?? NaN, entries: posting.entries };
      }
      if (result.status === 'duplicate') {
        // The first copy may have crashed between commit and publish: its events go out again.
        await deps.events?.publish(result.events);
        deps.metrics?.count('LoyaltyDuplicates');
        return { status: 'duplicate' };
      }
      const answer = refused?.(result) ?? AGAIN;
      if (answer !== AGAIN) return answer;
      deps.metrics?.count('LoyaltyConflicts');
    }
    throw new LoyaltyError('ledger-contention', `${what} could not be committed after ${maxAttempts} attempts (concurrent changes)`);
  }

  async function withBalance(outcome: LoyaltyOutcome, programmeId: string, customerId: string): Promise<LoyaltyOutcome> {
    // Known from the posting: the balance it read plus its change, as its events carry it.
    if (outcome.status !== 'committed' || !Number.isNaN(outcome.balance)) return outcome;
    const a = await deps.ledger.account(programmeId, customerId);
    return { ...outcome, balance: a?.balance ?? 0 };
  }

  return {
    async enrol(programmeId: string, customerId: string, at = clock().toISOString()): Promise<boolean> {
      await book(programmeId);
      return deps.ledger.enrol(programmeId, customerId, at);
    },

    /** Points for a sale, once per sale id: rules, caps, promotions (partner-funded ones within budget). */
    async accrueSale(programmeId: string, customerId: string, sale: SaleInput): Promise<LoyaltyOutcome> {
      const b = await book(programmeId);
      const txId = saleTxId(sale.saleId, sale.partnerId);
      const at = new Date(sale.at);
      const exhausted = new Set<string>();
      const capKeys = b.programme.earning.map((r) => capKey(r, at)).filter((k): k is string => k !== undefined);
      const outcome = await settle(
        `sale ${txId}`,
        async () => {
          // The caps used are read beside the account, not after it: one round trip of reads.
          const [acct, capUsed] = await Promise.all([
            deps.ledger.account(programmeId, customerId),
            capKeys.length ? deps.ledger.capUsed(programmeId, customerId, capKeys) : Promise.resolve(new Map<string, number>()),
          ]);
          if (!acct) return { status: 'not-member' };
          const result = accrue(b, { event: sale.event, sale, member: view(acct), at, capUsed, exhaustedPartners: exhausted });
          const entries: LedgerEntry[] = result.lines
            .filter((l) => l.points > 0)
            .map((l) => ({ kind: 'accrual', txId, at: sale.at, points: l.points, ruleId: l.ruleId, ...(l.promotionId ? { promotionId: l.promotionId } : {}), ...(l.partnerId ? { partnerId: l.partnerId } : {}) }));
          const points = result.points;
          const earned = acct.earned + points;
          const tier = tierFor(b.programme, earned);
          const funded = new Map<string, number>();
          for (const l of result.lines) if (l.partnerId) funded.set(l.partnerId, (funded.get(l.partnerId) ?? 0) + l.points);
          const caps = result.lines
            .map((l) => ({ l, rule: b.programme.earning.find((r) => r.ruleId === l.ruleId && !l.promotionId) }))
            .filter((x) => x.rule?.cap && x.l.points > 0)
            .map(({ l, rule }) => {
              const key = capKey(rule!, at)!;
              return { key, had: capUsed.get(key) ?? 0, add: l.points };
            });
          const events: LoyaltyEvent[] = [];
          if (points > 0) events.push({ eventId: `${programmeId}:${txId}:earned`, detailType: 'PointsEarned', detail: { programmeId, customerId, txId, points, balance: acct.balance + points, lines: entries.map((e) => ({ ruleId: e.ruleId, promotionId: e.promotionId, points: e.points })), occurredAt: sale.at } });
          if (tier !== acct.tier) events.push({ eventId: `${programmeId}:${txId}:tier`, detailType: 'TierChanged', detail: { programmeId, customerId, from: acct.tier ?? null, to: tier ?? null, occurredAt: sale.at } });
          const expiresAt = lotExpiry(b.programme.expiry, at);
          return known(acct.balance, {
            programmeId, customerId, txId, payloadHash: hashOf(sale.event), at: sale.at, entries, delta: points,
            totals: { earned: points }, tier,
            ...(points > 0 ? { newLot: { lotId: txId, earnedAt: sale.at, expiresAt, points } } : {}),
            takes: [], caps,
            partnerBudgets: [...funded].map(([partnerId, p]) => ({ partnerId, points: p, limit: b.partners.find((x) => x.partnerId === partnerId)?.budget ?? 0 })),
            sale: { saleTxId: txId, record: { total: sale.total, earned: points, refunded: 0, reversed: 0, ...(points > 0 ? { lotId: txId } : {}) } },
            settlement: [...funded].map(([partnerId, p]) => ({ partnerId, funded: p, redeemed: 0 })),
            events,
          } satisfies LedgerPosting);
        },
        (r) => {
          if (r.on.startsWith('budget:')) {
            exhausted.add(r.on.slice('budget:'.length));
            deps.metrics?.count('LoyaltyPartnerBudgetExhausted');
          }
          return AGAIN;
        },
      );
      return withBalance(outcome, programmeId, customerId);
    },

    /** A refund or partial return: the sale's points reversed in proportion to the amount, once per refund id. */
    async refundSale(programmeId: string, customerId: string, refund: { saleId: string; partnerId?: string; refundId: string; amount: number; at: string }): Promise<LoyaltyOutcome> {
      const saleTx = saleTxId(refund.saleId, refund.partnerId);
      const txId = `refund:${refund.partnerId ? `${refund.partnerId}:` : ''}${refund.refundId}`;
      const outcome = await settle(`refund ${txId}`, async () => {
        const acct = await deps.ledger.account(programmeId, customerId);
        if (!acct) return { status: 'not-member' };
        const sale = await deps.ledger.sale(programmeId, customerId, saleTx);
        if (!sale) return { status: 'unknown-sale' };
        const due = reversalFor(sale, refund.amount);
        // The balance never goes negative: points already spent cannot be taken back, only noted.
        const { takes, short } = takeFromLots(acct.lots, Math.min(due.points, acct.balance), sale.lotId);
        const taken = takes.reduce((s, t) => s + t.points, 0);
        const unrecovered = due.points - taken + short;
        const entries: LedgerEntry[] = due.points > 0 ? [{ kind: 'reversal', txId, at: refund.at, points: -taken, ...(unrecovered > 0 ? { unrecovered } : {}) }] : [];
        return known(acct.balance, {
          programmeId, customerId, txId, payloadHash: hashOf(refund), at: refund.at, entries, delta: -taken, totals: { reversed: taken }, takes,
          sale: { saleTxId: saleTx, record: { ...sale, refunded: due.refunded, reversed: sale.reversed + due.points }, expectRefunded: sale.refunded },
          events: [],
        } satisfies LedgerPosting);
      });
      return withBalance(outcome, programmeId, customerId);
    },

    /** Spends points (at a partner when given), oldest lots first; refused when the balance does not cover them. */
    async redeem(programmeId: string, customerId: string, r: { txId: string; points: number; at?: string; partnerId?: string; rewardId?: string }): Promise<LoyaltyOutcome> {
      const at = r.at ?? clock().toISOString();
      const outcome = await settle(`redemption ${r.txId}`, async () => {
        const acct = await deps.ledger.account(programmeId, customerId);
        if (!acct) return { status: 'not-member' };
        if (acct.balance < r.points) return { status: 'insufficient', balance: acct.balance, needed: r.points };
        const { takes } = takeFromLots(acct.lots, r.points);
        return known(acct.balance, {
          programmeId, customerId, txId: `redeem:${r.txId}`, payloadHash: hashOf(r), at,
          entries: [{ kind: 'redemption', txId: `redeem:${r.txId}`, at, points: -r.points, ...(r.partnerId ? { partnerId: r.partnerId } : {}) }],
          delta: -r.points, totals: { redeemed: r.points }, takes,
          ...(r.partnerId ? { settlement: [{ partnerId: r.partnerId, funded: 0, redeemed: r.points }] } : {}),
          events: [{ eventId: `${programmeId}:redeem:${r.txId}`, detailType: 'PointsRedeemed', detail: { programmeId, customerId, txId: r.txId, points: r.points, balance: acct.balance - r.points, occurredAt: at } }],
        } satisfies LedgerPosting);
      });
      return withBalance(outcome, programmeId, customerId);
    },

    /** A reward from the catalogue: priced with the spending promotions in force, one unit claimed from its stock. */
    async orderReward(programmeId: string, customerId: string, o: { orderId: string; rewardId: string; at?: string }): Promise<LoyaltyOutcome> {
      const b = await book(programmeId);
      const reward = b.rewards.find((x) => x.rewardId === o.rewardId);
      if (!reward) return { status: 'unknown-reward' };
      const at = o.at ?? clock().toISOString();
      const price = priceOf(b, reward, new Date(at));
      const txId = `order:${o.orderId}`;
      const outcome = await settle(
        `order ${txId}`,
        async () => {
          const acct = await deps.ledger.account(programmeId, customerId);
          if (!acct) return { status: 'not-member' };
          const rule = orderAllowed(b.programme, { rewardId: reward.rewardId, category: reward.category, partnerId: reward.partnerId, points: price.points }, view(acct));
          if (!rule.allowed) return { status: 'not-allowed' };
          if (acct.balance < price.points) return { status: 'insufficient', balance: acct.balance, needed: price.points };
          const { takes } = takeFromLots(acct.lots, price.points);
          const detail = { programmeId, customerId, orderId: o.orderId, rewardId: reward.rewardId, points: price.points, ...(price.promotionId ? { promotionId: price.promotionId } : {}), occurredAt: at };
          return known(acct.balance, {
            programmeId, customerId, txId, payloadHash: hashOf(o), at,
            entries: [{ kind: 'redemption', txId, at, points: -price.points, rewardId: reward.rewardId, ...(rule.ruleId ? { ruleId: rule.ruleId } : {}), ...(price.promotionId ? { promotionId: price.promotionId } : {}), ...(reward.partnerId ? { partnerId: reward.partnerId } : {}) }],
            delta: -price.points, totals: { redeemed: price.points }, takes,
            stock: { rewardId: reward.rewardId, limit: reward.stock },
            ...(reward.partnerId ? { settlement: [{ partnerId: reward.partnerId, funded: 0, redeemed: price.points }] } : {}),
            events: [
              { eventId: `${programmeId}:${txId}:redeemed`, detailType: 'PointsRedeemed', detail: { programmeId, customerId, txId, points: price.points, balance: acct.balance - price.points, occurredAt: at } },
              { eventId: `${programmeId}:${txId}:ordered`, detailType: 'RewardOrdered', detail },
            ],
          } satisfies LedgerPosting);
        },
        (r) => (r.on === 'stock' ? { status: 'out-of-stock' } : AGAIN),
      );
      return withBalance(outcome, programmeId, customerId);
    },

    /** An operator's correction, ± points; a negative one is refused when the balance does not cover it. */
    async adjust(programmeId: string, customerId: string, a: { txId: string; points: number; reason: string; at?: string }): Promise<LoyaltyOutcome> {
      const at = a.at ?? clock().toISOString();
      const b = await book(programmeId);
      const txId = `adjust:${a.txId}`;
      const outcome = await settle(`adjustment ${txId}`, async () => {
        const acct = await deps.ledger.account(programmeId, customerId);
        if (!acct) return { status: 'not-member' };
        if (a.points < 0 && acct.balance < -a.points) return { status: 'insufficient', balance: acct.balance, needed: -a.points };
        const takes = a.points < 0 ? takeFromLots(acct.lots, -a.points).takes : [];
        return known(acct.balance, {
          programmeId, customerId, txId, payloadHash: hashOf(a), at,
          entries: [{ kind: 'adjustment', txId, at, points: a.points }], delta: a.points, totals: { adjusted: a.points }, takes,
          ...(a.points > 0 ? { newLot: { lotId: txId, earnedAt: at, expiresAt: lotExpiry(b.programme.expiry, new Date(at)), points: a.points } } : {}),
          events: [],
        } satisfies LedgerPosting);
      });
      return withBalance(outcome, programmeId, customerId);
    },

    /**
     * The daily expiry run: every lot due by `now` is written off (oldest first, once per lot), and
     * PointsExpiring goes out for lots due within the programme's warning days.
     */
    async expire(programmeId: string, now = clock()): Promise<{ expired: number; points: number; warned: number }> {
      const b = await book(programmeId);
      if (b.programme.expiry.kind === 'never') return { expired: 0, points: 0, warned: 0 };
      // From where the last run got to (a first run looks back five years), so a run missed for
      // days or months still writes off every lot due meanwhile.
      const from = (await deps.ledger.expiryCursor(programmeId)) ?? new Date(Date.UTC(now.getUTCFullYear() - 5, 0, 1)).toISOString();
      const due = await deps.ledger.expiring(programmeId, from, new Date(now.getTime() + 1).toISOString());
      let expired = 0;
      let points = 0;
      for (const d of due) {
        const txId = `expiry:${d.lotId}`;
        const outcome = await settle(txId, async () => {
          const acct = await deps.ledger.account(programmeId, d.customerId);
          const lot = acct?.lots.find((l) => l.lotId === d.lotId);
          const left = lot?.points ?? 0;
          const at = d.expiresAt;
          return {
            programmeId, customerId: d.customerId, txId, payloadHash: hashOf(d), at,
            entries: left > 0 ? [{ kind: 'expiry', txId, at, points: -left }] : [],
            delta: -left, totals: { expired: left },
            takes: lot && left > 0 ? [{ lotId: lot.lotId, had: left, points: left }] : [],
            expiredLot: { lotId: d.lotId, expiresAt: d.expiresAt },
            events: left > 0 ? [{ eventId: `${programmeId}:${txId}`, detailType: 'PointsExpired', detail: { programmeId, customerId: d.customerId, lotId: d.lotId, points: left, balance: (acct?.balance ?? 0) - left, occurredAt: at } }] : [],
          } satisfies LedgerPosting;
        });
        if (outcome.status === 'committed' && outcome.points < 0) [expired, points] = [expired + 1, points - outcome.points];
      }
      // The next run starts a month back: a sale arriving late may still add a pointer near `now`.
      await deps.ledger.setExpiryCursor(programmeId, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1)).toISOString());
      const warnUntil = new Date(now.getTime() + b.programme.expiry.warnDays * 86_400_000 + 1).toISOString();
      const soon = await deps.ledger.expiring(programmeId, new Date(now.getTime() + 1).toISOString(), warnUntil);
      const warnings: LoyaltyEvent[] = [];
      for (const s of soon) {
        const lot = (await deps.ledger.account(programmeId, s.customerId))?.lots.find((l) => l.lotId === s.lotId);
        // Stable from one daily run to the next (the warning's own time, the points left in its id), so ingest takes it once.
        const warnAt = new Date(Date.parse(s.expiresAt) - b.programme.expiry.warnDays * 86_400_000).toISOString();
        if (lot && lot.points > 0) warnings.push({ eventId: `${programmeId}:expiring:${s.lotId}:${lot.points}`, detailType: 'PointsExpiring', detail: { programmeId, customerId: s.customerId, lotId: s.lotId, points: lot.points, expiresAt: s.expiresAt, occurredAt: warnAt } });
      }
      if (warnings.length) await deps.events?.publish(warnings);
      return { expired, points, warned: warnings.length };
    },

    async statement(programmeId: string, customerId: string, now = clock()): Promise<Statement | undefined> {
      const b = await book(programmeId);
      const acct = await deps.ledger.account(programmeId, customerId);
      if (!acct) return undefined;
      const entries = await deps.ledger.entries(programmeId, customerId);
      return statementOf({ programmeId, customerId, currencyName: b.programme.currencyName, balance: acct.balance, tier: acct.tier, lots: acct.lots, entries }, now);
    },

    /**
     * Balance and next expiry per programme, for templates and the decision API: the account and its
     * lots (one round trip per programme, all at once), no entries. `programmes` omitted: every
     * programme the customer is in (one Query first). A programme not put or not joined is left out.
     */
    async summaries(customerId: string, opts: { programmes?: readonly string[]; timeZone?: string | undefined; now?: Date } = {}): Promise<LoyaltySummary[]> {
      const ids = opts.programmes ?? (await deps.ledger.programmesOf(customerId));
      const now = opts.now ?? clock();
      const found = await Promise.all(
        ids.map(async (programmeId) => {
          const [b, acct] = await Promise.all([deps.programmes.book(programmeId), deps.ledger.account(programmeId, customerId)]);
          return b && acct ? summaryOf({ programmeId, currencyName: b.programme.currencyName, balance: acct.balance, tier: acct.tier, lots: acct.lots }, now, opts.timeZone) : undefined;
        }),
      );
      return found.filter((s): s is LoyaltySummary => s !== undefined);
    },

    async settlement(programmeId: string, partnerId: string, month: string) {
      const b = await book(programmeId);
      const s = await deps.ledger.settlement(programmeId, partnerId, month);
      const value = b.programme.pointValue;
      // The partner pays for the points it funded; the operator pays for the points spent at the partner.
      return { programmeId, partnerId, month, funded: s.funded, redeemed: s.redeemed, pointValue: value, currency: b.programme.moneyCurrency, owes: round2((s.funded - s.redeemed) * value) };
    },
  };
}

/**
 * The ledger on the ingest path: after ingest applied an event (and again for a duplicate, so it
 * must be idempotent, which every posting is by its transaction id), enrolment, sales and refunds
 * reach the programmes the customer is a member of.
 */
export function loyaltyConsumer(loyalty: Loyalty, ledger: Pick<LoyaltyLedger, 'programmesOf'>, customerOf: (event: BatonEvent) => Promise<string | undefined>) {
  return async (event: BatonEvent): Promise<void> => {
    const kind = `${event.source}/${event['detail-type']}`;
    if (!LEDGER_EVENTS.has(kind)) return;
    const customerId = await customerOf(event);
    if (!customerId) return;
    if (event.source === SOURCES.crm && event['detail-type'] === 'MemberEnrolled') {
      await loyalty.enrol(event.detail.programmeId, customerId, utcTime(event.detail.occurredAt) ?? event.detail.occurredAt);
      return;
    }
    for (const programmeId of await ledger.programmesOf(customerId)) {
      if ((event.source === SOURCES.pos && event['detail-type'] === 'SaleCompleted') || (event.source === SOURCES.partners && event['detail-type'] === 'PartnerSaleCompleted')) {
        const d = event.detail;
        const partnerId = 'partnerId' in d ? (d.partnerId as string) : undefined;
        await loyalty.accrueSale(programmeId, customerId, { saleId: d.saleId, at: utcTime(d.occurredAt) ?? d.occurredAt, total: d.total, currency: d.currency, items: d.items, ...(partnerId ? { partnerId } : {}), event });
      } else if ((event.source === SOURCES.pos && event['detail-type'] === 'SaleRefunded') || (event.source === SOURCES.partners && event['detail-type'] === 'PartnerSaleRefunded')) {
        const d = event.detail;
        const partnerId = 'partnerId' in d ? (d.partnerId as string) : undefined;
        await loyalty.refundSale(programmeId, customerId, { saleId: d.saleId, refundId: d.refundId, amount: d.amount, at: utcTime(d.occurredAt) ?? d.occurredAt, ...(partnerId ? { partnerId } : {}) });
      }
    }
  };
}

const LEDGER_EVENTS = new Set(['baton.crm/MemberEnrolled', 'baton.pos/SaleCompleted', 'baton.pos/SaleRefunded', 'baton.partners/PartnerSaleCompleted', 'baton.partners/PartnerSaleRefunded']);

const round2 = (v: number) => Math.round(v * 100) / 100;

export type Loyalty = ReturnType<typeof createLoyalty>;
export { monthOf };
