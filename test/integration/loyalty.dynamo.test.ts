// The loyalty ledger on DynamoDB Local: items checked at write and at load, accrual with rules,
// caps, tiers and promotions, refunds in proportion, redemption, rewards against stock, expiry.
import { beforeAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { db, unique } from '../support/local.ts';
import { freshTables } from '../support/tables.ts';
import { programmeFixture, saleEvent } from '../support/loyalty.ts';
import { DynamoLoyaltyItems, InvalidLoyaltyItem, programmePk, type LoyaltyItemRejection } from '../../lib/adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../../lib/adapters/dynamo/loyalty.ts';
import { createLoyalty } from '../../lib/app/loyalty.ts';
import type { LoyaltyEvent } from '../../lib/app/ports.ts';
import { statementLine } from '../../lib/core/loyalty/ledger.ts';

let table: string;
beforeAll(async () => {
  table = (await freshTables('loyalty')).ledger;
});

function setup(now = '2026-12-01T10:00:00.000Z') {
  const client = db();
  const rejected: LoyaltyItemRejection[] = [];
  const items = new DynamoLoyaltyItems(client, table, { refreshMs: 0, onRejected: (r) => rejected.push(r) });
  const ledger = new DynamoLoyaltyLedger(client, table);
  const published: LoyaltyEvent[] = [];
  const loyalty = createLoyalty({ ledger, programmes: items, events: { publish: async (e) => void published.push(...e) }, clock: () => new Date(now) });
  return { client, items, ledger, loyalty, published, rejected };
}

async function programme(s: ReturnType<typeof setup>) {
  const id = unique('prog');
  const f = programmeFixture(id);
  await s.items.put(f.programme);
  for (const i of f.items) await s.items.put(i);
  return id;
}

const sale = (saleId: string, at: string, items: { category: string; quantity: number; unitPrice: number }[], partnerId?: string) => {
  const e = saleEvent({ saleId, at, items, ...(partnerId ? { partnerId } : {}) });
  return { saleId, at, total: e.detail.total, currency: 'EUR', items, event: e, ...(partnerId ? { partnerId } : {}) };
};

describe('loyalty items', () => {
  it('refuses an invalid programme or promotion at write, naming the field', async () => {
    const s = setup();
    const id = unique('prog');
    const f = programmeFixture(id);
    await expect(s.items.put({ ...f.programme, earning: [{ ruleId: 'x', when: { detail: { total: [{ numeric: ['>>', 1] }] } } }] })).rejects.toThrow(/earning\.0\.when/);
    await expect(s.items.put({ ...f.programme, moneyCurrency: 'euro' })).rejects.toThrow(/moneyCurrency: an ISO 4217 code/);
    await s.items.put(f.programme);
    const err = await s.items.put({ ...(f.items[1] as object), validUntil: '2025-01-01T00:00:00Z' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidLoyaltyItem);
    expect((err as Error).message).toMatch(/promotion: validUntil: validFrom must be before validUntil/);
    await expect(s.items.put({ programmeId: unique('none'), rewardId: 'r', name: 'R', points: 1, stock: 1 })).rejects.toThrow(/programmeId: no such programme/);
  });

  it('skips an invalid item written to the table directly, with its reason, and keeps the rest', async () => {
    const s = setup();
    const id = await programme(s);
    await s.client.send(new PutCommand({ TableName: table, Item: { pk: programmePk(id), sk: 'PROMOTION#broken', item: { kind: 'earning', promotionId: 'broken', programmeId: id, multiplier: 'two' } } }));
    const book = await s.items.book(id);
    expect(book?.promotions.map((p) => p.promotionId).sort()).toEqual(['cafe-double', 'garden-weekend', 'mug-sale']);
    expect(s.rejected).toEqual([expect.objectContaining({ programmeId: id, sk: 'PROMOTION#broken', reason: expect.stringMatching(/multiplier: /) })]);
    expect(s.rejected[0]!.reason).not.toContain('two');
  });
});

describe('the ledger', () => {
  it('accrues by the rules, once per sale, with caps, tiers and a weekend promotion', async () => {
    const s = setup();
    const id = await programme(s);
    expect(await s.loyalty.enrol(id, 'c1')).toBe(true);
    expect(await s.loyalty.enrol(id, 'c1')).toBe(false);
    // 80 groceries + 2×30 electronics (×2) = 200 base, + 10 big-basket bonus.
    const a = sale('s1', '2026-11-10T10:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 80 }, { category: 'electronics', quantity: 2, unitPrice: 30 }]);
    const first = await s.loyalty.accrueSale(id, 'c1', a);
    expect(first).toMatchObject({ status: 'committed', points: 210, balance: 210 });
    expect(await s.loyalty.accrueSale(id, 'c1', a)).toEqual({ status: 'duplicate' });
    // Garden double points on the weekend: 50 garden → 50 + 50 extra, bonus 10.
    const b = await s.loyalty.accrueSale(id, 'c1', sale('s2', '2026-11-29T10:00:00.000Z', [{ category: 'garden', quantity: 1, unitPrice: 100 }]));
    expect(b).toMatchObject({ status: 'committed', points: 210 });
    expect(b.status === 'committed' && b.entries.map((e) => [e.ruleId, e.promotionId ?? null, e.points])).toEqual([['base', null, 100], ['big-basket', null, 10], ['base', 'garden-weekend', 100]]);
    // The bonus rule's monthly cap of 30 leaves 10 for the third and nothing for the fourth big basket.
    await s.loyalty.accrueSale(id, 'c1', sale('s3', '2026-11-29T11:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 100 }]));
    const d = await s.loyalty.accrueSale(id, 'c1', sale('s4', '2026-11-29T12:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 100 }]));
    expect(d).toMatchObject({ points: 100 });
    const stmt = await s.loyalty.statement(id, 'c1');
    expect(stmt?.balance).toBe(210 + 210 + 110 + 100);
    expect(stmt?.tier).toBe('silver');
    // The duplicate of s1 published its PointsEarned again, under the same event id.
    expect(new Set(s.published.filter((e) => e.detailType === 'PointsEarned').map((e) => e.eventId)).size).toBe(4);
  });

  it('reverses a refund in proportion, partial returns adding up to the sale exactly', async () => {
    const s = setup();
    const id = await programme(s);
    await s.loyalty.enrol(id, 'c1');
    await s.loyalty.accrueSale(id, 'c1', sale('s1', '2026-11-02T10:00:00.000Z', [{ category: 'grocery', quantity: 3, unitPrice: 33 }]));
    expect((await s.loyalty.statement(id, 'c1'))?.balance).toBe(99);
    const r1 = await s.loyalty.refundSale(id, 'c1', { saleId: 's1', refundId: 'r1', amount: 33, at: '2026-11-03T10:00:00.000Z' });
    expect(r1).toMatchObject({ status: 'committed', points: -33, balance: 66 });
    expect(await s.loyalty.refundSale(id, 'c1', { saleId: 's1', refundId: 'r1', amount: 33, at: '2026-11-03T10:00:00.000Z' })).toEqual({ status: 'duplicate' });
    await s.loyalty.refundSale(id, 'c1', { saleId: 's1', refundId: 'r2', amount: 66, at: '2026-11-04T10:00:00.000Z' });
    // A refund beyond the sale reverses nothing more.
    await s.loyalty.refundSale(id, 'c1', { saleId: 's1', refundId: 'r3', amount: 10, at: '2026-11-05T10:00:00.000Z' });
    expect((await s.loyalty.statement(id, 'c1'))?.balance).toBe(0);
  });

  it('never lets parallel redeemers take the balance below zero', async () => {
    const s = setup();
    const id = await programme(s);
    await s.loyalty.enrol(id, 'c1');
    await s.loyalty.accrueSale(id, 'c1', sale('s1', '2026-11-02T10:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 50 }]));
    await s.loyalty.accrueSale(id, 'c1', sale('s2', '2026-11-03T10:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 50 }]));
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, n) => s.loyalty.redeem(id, 'c1', { txId: `r${n}`, points: 30 })));
    expect(outcomes.filter((o) => o.status === 'committed')).toHaveLength(3);
    expect(outcomes.filter((o) => o.status === 'insufficient')).toHaveLength(5);
    const acct = await s.ledger.account(id, 'c1');
    expect(acct?.balance).toBe(10);
    expect(acct?.lots.reduce((t, l) => t + l.points, 0)).toBe(10);
  });

  it('orders rewards against stock, with the spending promotion, and funds partner points from the budget', async () => {
    const s = setup('2026-12-02T10:00:00.000Z');
    const id = await programme(s);
    for (const c of ['c1', 'c2']) await s.loyalty.enrol(id, c);
    // The cafe funds double points: 300 base + 300 extra, then the 500 budget leaves 200 for the next.
    await s.loyalty.accrueSale(id, 'c1', sale('p1', '2026-11-02T10:00:00.000Z', [{ category: 'coffee', quantity: 1, unitPrice: 300 }], 'cafe'));
    const second = await s.loyalty.accrueSale(id, 'c2', sale('p2', '2026-11-02T11:00:00.000Z', [{ category: 'coffee', quantity: 1, unitPrice: 300 }], 'cafe'));
    expect(second).toMatchObject({ points: 300 });
    expect((await s.loyalty.settlement(id, 'cafe', '2026-11')).funded).toBe(300);
    const orders = await Promise.all(Array.from({ length: 5 }, (_, n) => s.loyalty.orderReward(id, n % 2 ? 'c1' : 'c2', { orderId: `o${n}`, rewardId: 'mug' })));
    expect(orders.filter((o) => o.status === 'committed')).toHaveLength(3);
    expect(orders.filter((o) => o.status === 'out-of-stock')).toHaveLength(2);
    expect(orders.find((o) => o.status === 'committed')).toMatchObject({ points: -80 });
  });

  it('expires lots oldest first on the schedule, warns ahead, and says it in the statement', async () => {
    const s = setup('2026-12-01T10:00:00.000Z');
    const id = await programme(s);
    await s.loyalty.enrol(id, 'c1');
    await s.loyalty.accrueSale(id, 'c1', sale('old', '2025-11-15T10:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 40 }]));
    await s.loyalty.accrueSale(id, 'c1', sale('mar', '2026-03-15T10:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 290 }]));
    await s.loyalty.accrueSale(id, 'c1', sale('new', '2026-11-15T10:00:00.000Z', [{ category: 'grocery', quantity: 1, unitPrice: 50 }, { category: 'electronics', quantity: 1, unitPrice: 440 }]));
    // 30 spent come out of the oldest lot first.
    await s.loyalty.redeem(id, 'c1', { txId: 'r1', points: 30 });
    const run = await s.loyalty.expire(id, new Date('2026-12-01T10:00:00.000Z'));
    expect(run).toEqual({ expired: 1, points: 10, warned: 0 });
    expect(await s.loyalty.expire(id, new Date('2026-12-01T10:00:00.000Z'))).toEqual({ expired: 0, points: 0, warned: 0 });
    const stmt = (await s.loyalty.statement(id, 'c1', new Date('2026-12-01T10:00:00.000Z')))!;
    expect(statementLine(stmt)).toBe('you have 1,240 points, 300 expire on 31 March');
    const warned = await s.loyalty.expire(id, new Date('2027-03-05T00:00:00.000Z'));
    expect(warned.warned).toBe(1);
    expect(s.published.filter((e) => e.detailType === 'PointsExpired')).toHaveLength(1);
  });
});
