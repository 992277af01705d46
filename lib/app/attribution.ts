// A POS sale attributed to the offer that caused it (lib/core/loyalty/attribution.ts), stored on
// the sale and the decision, and SaleAttributed published so a rule or journey sends the follow-up.
import { attribute, DEFAULT_ATTRIBUTION, type Attribution, type AttributionRule } from '../core/loyalty/attribution.ts';
import type { AttributionStore, LoyaltyEventPublisher, OfferExposures } from './ports.ts';

export interface AttributionDeps {
  readonly exposures: OfferExposures;
  readonly store: AttributionStore;
  readonly events?: LoyaltyEventPublisher;
  readonly rule?: AttributionRule;
}

export function createAttribution(deps: AttributionDeps) {
  const rule = deps.rule ?? DEFAULT_ATTRIBUTION;
  return async function attributeSale(customerId: string, sale: { saleId: string; at: string; total: number; currency: string; offerCodes?: readonly string[] | undefined }): Promise<Attribution | undefined> {
    const since = new Date(Date.parse(sale.at) - rule.windowDays * 86_400_000).toISOString();
    const found = attribute(sale, await deps.exposures.since(customerId, since), rule);
    if (!found) return undefined;
    await deps.store.record(customerId, sale.saleId, found, sale.total, sale.currency);
    // Published again on a replay too: its event id makes the copy a duplicate for ingest.
    await deps.events?.publish([
      {
        eventId: `attributed:${sale.saleId}`,
        detailType: 'SaleAttributed',
        detail: { programmeId: '-', customerId, saleId: sale.saleId, decisionId: found.decisionId, campaignId: found.campaignId, ...(found.offer ? { offer: found.offer } : {}), touch: found.touch, revenue: sale.total, currency: sale.currency, occurredAt: sale.at },
      },
    ]);
    return found;
  };
}
