// Business context (docs/context.md): facts from events, the context rules read, and the cache that
// keeps the last good context when the table cannot be read.
import { describe, expect, it } from 'vitest';
import { businessContext, contextFactOf, outOfStock, type ContextFact } from '../../lib/core/context/index.ts';
import { CachedContextSource } from '../../lib/adapters/dynamo/context.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import type { BatonEvent } from '../../events/catalog.ts';

const AT = '2026-11-27T09:00:00.000Z';
const inv = (sku: string, location: string, available: number): ContextFact => ({ kind: 'inventory', sku, location, available, at: AT });

describe('business context', () => {
  it('reads a fact from each context event, times in one UTC form', () => {
    const event = { id: 'e1', source: 'baton.erp', 'detail-type': 'InventoryChanged', time: AT, detail: { occurredAt: '2026-11-27T10:00:00+01:00', sku: 'TS-5', location: 'web', available: 3 } } as unknown as BatonEvent;
    expect(contextFactOf(event)).toEqual({ kind: 'inventory', sku: 'TS-5', location: 'web', available: 3, at: AT });
    const sale = { id: 'e2', source: 'baton.pos', 'detail-type': 'SaleCompleted', time: AT, detail: {} } as unknown as BatonEvent;
    expect(contextFactOf(sale)).toBeUndefined();
  });

  it('sums stock over locations; an unknown SKU is never out of stock; odd SKU names are just names', () => {
    const context = businessContext([inv('A', 'web', 0), inv('A', 'store-1', 2), inv('B', 'web', 0), inv('__proto__', 'web', 0), inv('constructor', 'web', 1)], new Date(AT));
    expect(context.inventory.A).toEqual({ available: 2, locations: expect.objectContaining({ web: 0, 'store-1': 2 }) });
    expect(outOfStock(context, 'A')).toBe(false);
    expect(outOfStock(context, 'B')).toBe(true);
    expect(outOfStock(context, '__proto__')).toBe(true);
    expect(outOfStock(context, 'constructor')).toBe(false);
    expect(outOfStock(context, 'toString')).toBe(false);
    expect(outOfStock(context, 'C')).toBe(false);
  });

  it('a promotion is live only while reported live and inside its window', () => {
    const promo = (promotionId: string, status: 'live' | 'ended', window: { validFrom?: string; validUntil?: string }): ContextFact => ({ kind: 'promotion', promotionId, status, ...window, at: AT });
    const context = businessContext(
      [promo('now', 'live', {}), promo('later', 'live', { validFrom: '2026-12-01T00:00:00.000Z' }), promo('over', 'live', { validUntil: '2026-11-27T09:00:00.000Z' }), promo('ended', 'ended', {})],
      new Date(AT),
    );
    expect(Object.fromEntries(Object.entries(context.promotions).map(([id, p]) => [id, p.live]))).toEqual({ now: true, later: false, over: false, ended: false });
  });
});

describe('the cached context', () => {
  it('skips an invalid item with its reason, and keeps the last good context when a refresh fails', async () => {
    let now = 0;
    let items: unknown[] | Error = [inv('A', 'web', 0), { kind: 'inventory', sku: 'B', location: 'web', available: -1, at: AT }];
    const reasons: string[] = [];
    const metrics = new MemoryMetrics();
    const source = new CachedContextSource(
      async () => {
        if (items instanceof Error) throw items;
        return items;
      },
      { refreshMs: 1000, clock: () => now, metrics, onRejected: (r) => reasons.push(r) },
    );
    const first = await source.current();
    expect(outOfStock(first, 'A')).toBe(true);
    expect(first.inventory.B).toBeUndefined();
    expect(reasons).toEqual([expect.stringContaining('available')]);

    items = new Error('table unreachable');
    now = 5000; // past twice the period: the cache must refresh, and the refresh fails
    const during = await source.current();
    expect(during).toBe(first);
    expect(metrics.counts.ContextRefreshFailed).toBe(1);

    items = [inv('A', 'web', 7)];
    now = 10_000;
    expect(outOfStock(await source.current(), 'A')).toBe(false);
  });
});
