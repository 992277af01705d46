// The ledger against an independent model (test/support/loyalty-model.ts) on DynamoDB Local:
// random sales, refunds, redemptions, expiry runs, duplicates of any of them and parallel
// redeemers give the model's balances and statements; no balance below 0, no transaction applied
// twice, no point lost (balance = entries = lots).
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { db, unique } from '../support/local.ts';
import { freshTables } from '../support/tables.ts';
import { LedgerModel, type ModelLine } from '../support/loyalty-model.ts';
import { DynamoLoyaltyItems } from '../../lib/adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../../lib/adapters/dynamo/loyalty.ts';
import { createLoyalty } from '../../lib/app/loyalty.ts';

let table: string;
beforeAll(async () => {
  table = (await freshTables('loyalty-prop')).ledger;
});

const CUSTOMERS = ['a', 'b'];
type Op =
  | { op: 'sale'; c: string; sale: number; day: number; lines: ModelLine[] }
  | { op: 'refund'; c: string; sale: number; refund: number; amount: number }
  | { op: 'redeem'; c: string; tx: number; points: number }
  | { op: 'parallel'; c: string; tx: number; points: number; n: number }
  | { op: 'expire'; day: number }
  | { op: 'again'; index: number };

const line = fc.record({ category: fc.constantFrom('grocery', 'electronics', 'garden'), quantity: fc.integer({ min: 1, max: 3 }), unitPrice: fc.integer({ min: 1, max: 4000 }).map((c) => c / 100) });
const c = fc.constantFrom(...CUSTOMERS);
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('sale' as const), c, sale: fc.integer({ min: 0, max: 7 }), day: fc.integer({ min: 0, max: 500 }), lines: fc.array(line, { minLength: 1, maxLength: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('refund' as const), c, sale: fc.integer({ min: 0, max: 7 }), refund: fc.integer({ min: 0, max: 9 }), amount: fc.integer({ min: 1, max: 8000 }).map((x) => x / 100) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('redeem' as const), c, tx: fc.integer({ min: 0, max: 5 }), points: fc.integer({ min: 1, max: 120 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('parallel' as const), c, tx: fc.integer({ min: 0, max: 1000 }), points: fc.integer({ min: 1, max: 60 }), n: fc.integer({ min: 2, max: 5 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('expire' as const), day: fc.integer({ min: 300, max: 900 }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('again' as const), index: fc.nat() }) },
);
// Debits sized around a balance a few sales make: together they usually pass it.
const debits = fc.array(fc.integer({ min: 1, max: 150 }), { minLength: 2, maxLength: 5 });
const dayAt = (day: number) => new Date(Date.UTC(2025, 0, 1) + day * 86_400_000 + 3_600_000).toISOString();

describe('the ledger against its model', () => {
  it('gives the model\'s balances and statements: 0 negative, 0 applied twice, 0 points lost', async () => {
    const client = db();
    const items = new DynamoLoyaltyItems(client, table, { refreshMs: 0 });
    const ledger = new DynamoLoyaltyLedger(client, table);
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 4, maxLength: 14 }), debits, async (ops, drain) => {
        const programmeId = unique('p');
        await items.put({
          programmeId, name: 'Model', moneyCurrency: 'EUR', pointValue: 0.01, rounding: 'floor',
          earning: [{ ruleId: 'base', when: { 'detail-type': ['SaleCompleted'] }, pointsPerUnit: 1, categoryMultipliers: { electronics: 2 } }],
          expiry: { kind: 'months', months: 12, endOfMonth: true, warnDays: 0 },
        });
        const loyalty = createLoyalty({ ledger, programmes: items });
        const model = new LedgerModel();
        for (const cu of CUSTOMERS) {
          await loyalty.enrol(programmeId, cu);
          model.enrol(cu);
        }
        const saleDay = new Map<string, number>();
        // Time moves forward for the daily expiry run; a sale may arrive late, but not later than its
        // points would have expired (out of scope: docs/loyalty.md), so its day is kept within 300 days.
        let lastExpiry = 0;
        const run = async (o: Op, history: Op[]): Promise<void> => {
          switch (o.op) {
            case 'sale': {
              // A sale id keeps its first day and lines: a later copy of it is the same sale again.
              const key = `${o.c}|${o.sale}`;
              const first = history.find((h): h is Extract<Op, { op: 'sale' }> => h.op === 'sale' && `${h.c}|${h.sale}` === key) ?? o;
              const day = saleDay.get(key) ?? Math.max(first.day, lastExpiry - 300);
              saleDay.set(key, day);
              const at = dayAt(day);
              const total = first.lines.reduce((s, l) => s + l.quantity * l.unitPrice, 0);
              model.sale(o.c, `s${o.sale}`, at, first.lines);
              await loyalty.accrueSale(programmeId, o.c, { saleId: `s${o.sale}`, at, total, currency: 'EUR', items: first.lines, event: { source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { total } } });
              return;
            }
            case 'refund': {
              const first = history.find((h): h is Extract<Op, { op: 'refund' }> => h.op === 'refund' && h.c === o.c && h.refund === o.refund) ?? o;
              model.refund(first.c, `s${first.sale}`, `r${first.refund}`, first.amount);
              await loyalty.refundSale(programmeId, first.c, { saleId: `s${first.sale}`, refundId: `r${first.refund}`, amount: first.amount, at: dayAt((saleDay.get(`${first.c}|${first.sale}`) ?? 0) + 1) });
              return;
            }
            case 'redeem': {
              const first = history.find((h): h is Extract<Op, { op: 'redeem' }> => h.op === 'redeem' && h.c === o.c && h.tx === o.tx) ?? o;
              const expected = model.redeem(first.c, `t${first.tx}`, first.points);
              const got = await loyalty.redeem(programmeId, first.c, { txId: `t${first.tx}`, points: first.points, at: dayAt(600) });
              expect(got.status === 'committed', `redeem t${first.tx} committed`).toBe(expected);
              return;
            }
            case 'parallel': {
              // n redeemers at once for the same points: the balance covers floor(balance / points) of them.
              const outcomes = await Promise.all(Array.from({ length: o.n }, (_, i) => loyalty.redeem(programmeId, o.c, { txId: `p${o.tx}-${i}`, points: o.points, at: dayAt(600) })));
              const won = outcomes.map((x, i) => (x.status === 'committed' ? i : -1)).filter((i) => i >= 0);
              const before = model.balance.get(o.c)!;
              expect(won.length).toBe(Math.min(o.n, Math.floor(before / o.points)));
              for (const i of won) model.redeem(o.c, `p${o.tx}-${i}`, o.points);
              return;
            }
            case 'expire':
              lastExpiry = Math.max(lastExpiry, o.day);
              model.expire(dayAt(lastExpiry));
              await loyalty.expire(programmeId, new Date(dayAt(lastExpiry)));
              return;
            case 'again': {
              const earlier = history.filter((h) => h.op !== 'again' && h.op !== 'parallel');
              if (earlier.length) await run(earlier[o.index % earlier.length]!, history);
              return;
            }
          }
        };
        const history: Op[] = [];
        for (const o of ops) {
          await run(o, history);
          history.push(o);
        }
        for (const cu of CUSTOMERS) {
          const acct = (await ledger.account(programmeId, cu))!;
          const entries = await ledger.entries(programmeId, cu);
          expect(acct.balance, `balance of ${cu}`).toBe(model.balance.get(cu));
          expect(acct.balance).toBeGreaterThanOrEqual(0);
          const sum = entries.reduce((s, e) => s + e.points, 0);
          expect(sum, 'entries add up to the balance').toBe(acct.balance);
          expect(acct.lots.reduce((s, l) => s + l.points, 0), 'lots add up to the balance').toBe(acct.balance);
          const txIds = entries.map((e) => e.txId);
          expect(new Set(txIds).size, 'no transaction applied twice').toBe(txIds.length);
          const sort = (xs: { kind: string; txId: string; points: number }[]) => xs.map((e) => `${e.kind} ${e.txId} ${e.points}`).sort();
          expect(sort(entries.map((e) => ({ kind: e.kind, txId: e.txId, points: e.points })))).toEqual(sort(model.entries.get(cu)!));
        }
        // Last, parallel debits at the port that spend no lot: here the balance condition is the
        // only guard (elsewhere the lots' own conditions also hold the balance up), so it is tested alone.
        for (const cu of CUSTOMERS) {
          const before = model.balance.get(cu)!;
          const results = await Promise.all(
            drain.map((points, i) => {
              const txId = `drain:${i}`;
              const at = dayAt(950);
              return ledger.post({ programmeId, customerId: cu, txId, payloadHash: txId, at, entries: [{ kind: 'adjustment', txId, at, points: -points }], delta: -points, totals: { adjusted: -points }, takes: [], events: [] });
            }),
          );
          const after = (await ledger.account(programmeId, cu))!.balance;
          const taken = drain.filter((_, i) => results[i]!.status === 'committed').reduce((s, x) => s + x, 0);
          expect(after, `balance of ${cu} after parallel debits`).toBeGreaterThanOrEqual(0);
          expect(after).toBe(before - taken);
          // The balance only falls while they run: a debit refused for the balance would not fit now either.
          drain.forEach((points, i) => {
            const r = results[i]!;
            if (r.status === 'refused' && r.on === 'balance') expect(after).toBeLessThan(points);
          });
        }
      }),
      {
        numRuns: Number(process.env.LOYALTY_RUNS ?? 12),
        endOnFailure: true,
        // Found by this test: a lot due long before the run (the expiry run once looked back one year only).
        examples: [[[
          { op: 'sale', c: 'a', sale: 6, day: 23, lines: [{ category: 'garden', quantity: 2, unitPrice: 36.01 }, { category: 'grocery', quantity: 3, unitPrice: 34.23 }] },
          { op: 'refund', c: 'a', sale: 2, refund: 4, amount: 26.78 },
          { op: 'parallel', c: 'b', tx: 182, points: 31, n: 4 },
          { op: 'sale', c: 'a', sale: 2, day: 496, lines: [{ category: 'electronics', quantity: 3, unitPrice: 7.58 }] },
          { op: 'again', index: 329700755 },
          { op: 'refund', c: 'a', sale: 6, refund: 2, amount: 55.44 },
          { op: 'redeem', c: 'b', tx: 4, points: 12 },
          { op: 'expire', day: 794 },
        ], [40, 40, 40]]],
      },
    );
  });
});
