// A loyalty programme for tests: 1 point per EUR, electronics ×2, a 10-point bonus over 100 EUR,
// a monthly cap on the bonus rule, expiry at the end of the 12th month, two tiers; a partner with
// a budget and a double-points promotion it funds; a reward with stock and a spending promotion.
import { randomUUID } from 'node:crypto';
import type { ProgrammeInput } from '../../lib/core/loyalty/items.ts';

export function programmeFixture(programmeId: string): { programme: ProgrammeInput; items: Record<string, unknown>[] } {
  const programme: ProgrammeInput = {
    programmeId,
    name: 'Test rewards',
    currencyName: 'points',
    moneyCurrency: 'EUR',
    pointValue: 0.01,
    rounding: 'floor',
    earning: [
      {
        ruleId: 'base',
        when: { 'detail-type': ['SaleCompleted', 'PartnerSaleCompleted'] },
        pointsPerUnit: 1,
        categoryMultipliers: { electronics: 2 },
      },
      {
        ruleId: 'big-basket',
        when: { 'detail-type': ['SaleCompleted'], detail: { total: [{ numeric: ['>=', 100] }] } },
        pointsPerUnit: 0,
        bonus: 10,
        cap: { points: 30, period: 'month' },
      },
    ],
    spending: [],
    expiry: { kind: 'months', months: 12, endOfMonth: true, warnDays: 30 },
    tiers: [
      { tierId: 'silver', minEarned: 0, multiplier: 1 },
      { tierId: 'gold', minEarned: 1000, multiplier: 1.5 },
    ],
  };
  const items = [
    { programmeId, partnerId: 'cafe', name: 'The Cafe', budget: 500 },
    {
      kind: 'earning', promotionId: 'cafe-double', programmeId, partnerId: 'cafe', multiplier: 2,
      when: { 'detail-type': ['PartnerSaleCompleted'] }, validFrom: '2026-01-01T00:00:00Z', validUntil: '2027-01-01T00:00:00Z',
    },
    {
      kind: 'earning', promotionId: 'garden-weekend', programmeId, category: 'garden', multiplier: 2,
      when: { 'detail-type': ['SaleCompleted'] }, validFrom: '2026-11-28T00:00:00Z', validUntil: '2026-11-30T00:00:00Z',
    },
    { programmeId, rewardId: 'mug', name: 'A mug', points: 100, stock: 3 },
    { kind: 'spending', promotionId: 'mug-sale', programmeId, rewardIds: ['mug'], discount: 0.2, validFrom: '2026-12-01T00:00:00Z', validUntil: '2026-12-08T00:00:00Z' },
  ];
  return { programme, items };
}

/** A SaleCompleted as on the bus. */
export function saleEvent(opts: { saleId?: string; at: string; items: { category: string; quantity: number; unitPrice: number }[]; partnerId?: string; card?: string }) {
  const total = opts.items.reduce((s, i) => s + i.quantity * i.unitPrice, 0);
  return {
    version: '0',
    id: randomUUID(),
    source: opts.partnerId ? 'baton.partners' : 'baton.pos',
    'detail-type': opts.partnerId ? 'PartnerSaleCompleted' : 'SaleCompleted',
    time: opts.at,
    detail: {
      ids: { loyaltyCard: opts.card ?? 'card-1' },
      occurredAt: opts.at,
      saleId: opts.saleId ?? randomUUID(),
      storeId: 'store-1',
      items: opts.items.map((i, n) => ({ sku: `sku-${n}`, ...i })),
      total,
      currency: 'EUR',
      ...(opts.partnerId ? { partnerId: opts.partnerId } : {}),
    },
  };
}
