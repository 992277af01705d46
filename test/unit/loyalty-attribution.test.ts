// POS attribution: an email offer clicked, then a store purchase within the window → the sale is
// attributed to it and SaleAttributed goes out for the follow-up; outside the window, or in the
// campaign's holdout, nothing. A redeemed offer code wins over a later touch.
import { describe, expect, it } from 'vitest';
import { createAttribution } from '../../lib/app/attribution.ts';
import type { Attribution, Exposure } from '../../lib/core/loyalty/attribution.ts';
import type { LoyaltyEvent } from '../../lib/app/ports.ts';

function setup(exposures: Exposure[], windowDays = 7) {
  const stored: { saleId: string; attribution: Attribution; revenue: number }[] = [];
  const published: LoyaltyEvent[] = [];
  const attributeSale = createAttribution({
    exposures: { since: async (_c, since) => exposures.filter((e) => e.at >= since) },
    store: { record: async (_c, saleId, attribution, revenue) => (stored.push({ saleId, attribution, revenue }), true) },
    events: { publish: async (e) => void published.push(...e) },
    rule: { windowDays },
  });
  return { attributeSale, stored, published };
}

const email: Exposure[] = [
  { decisionId: 'd-boots', campaignId: 'winter-boots', offer: 'BOOTS20', touch: 'sent', at: '2026-11-10T08:00:00.000Z' },
  { decisionId: 'd-boots', campaignId: 'winter-boots', offer: 'BOOTS20', touch: 'clicked', at: '2026-11-10T19:30:00.000Z' },
];
const sale = (at: string, offerCodes?: string[]) => ({ saleId: 'S-1', at, total: 129.9, currency: 'EUR', ...(offerCodes ? { offerCodes } : {}) });

describe('POS attribution', () => {
  it('attributes a store purchase within the window to the clicked email offer, and publishes SaleAttributed', async () => {
    const s = setup(email);
    const got = await s.attributeSale('cus-1', sale('2026-11-14T17:42:00.000Z'));
    expect(got).toEqual({ decisionId: 'd-boots', campaignId: 'winter-boots', offer: 'BOOTS20', touch: 'clicked', at: '2026-11-10T19:30:00.000Z' });
    expect(s.stored).toEqual([{ saleId: 'S-1', attribution: got, revenue: 129.9 }]);
    expect(s.published).toEqual([expect.objectContaining({ detailType: 'SaleAttributed', eventId: 'attributed:S-1', detail: expect.objectContaining({ campaignId: 'winter-boots', touch: 'clicked', revenue: 129.9 }) })]);
  });

  it('attributes nothing outside the window', async () => {
    const s = setup(email, 3);
    expect(await s.attributeSale('cus-1', sale('2026-11-14T17:42:00.000Z'))).toBeUndefined();
    expect(s.stored).toEqual([]);
    expect(s.published).toEqual([]);
  });

  it('attributes nothing to a campaign whose holdout the customer is in', async () => {
    const s = setup([{ decisionId: 'd-h', campaignId: 'winter-boots', touch: 'sent', at: '2026-11-10T08:00:00.000Z', holdout: true }, ...email]);
    expect(await s.attributeSale('cus-1', sale('2026-11-14T17:42:00.000Z'))).toBeUndefined();
  });

  it('gives a redeemed offer code the sale over a later touch', async () => {
    const s = setup([...email, { decisionId: 'd-gloves', campaignId: 'gloves', offer: 'GLOVES', touch: 'opened', at: '2026-11-13T09:00:00.000Z' }]);
    expect(await s.attributeSale('cus-1', sale('2026-11-14T17:42:00.000Z', ['BOOTS20']))).toMatchObject({ campaignId: 'winter-boots', touch: 'offer-code' });
    expect(await s.attributeSale('cus-1', sale('2026-11-14T17:42:00.000Z'))).toMatchObject({ campaignId: 'gloves', touch: 'opened' });
  });
});
