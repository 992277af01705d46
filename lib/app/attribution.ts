// A POS sale attributed to the offer that caused it (lib/core/loyalty/attribution.ts), stored on
// the sale and the decision, and SaleAttributed published so a rule or journey sends the follow-up.
import { attribute, DEFAULT_ATTRIBUTION, type Attribution, type AttributionRule } from '../core/loyalty/attribution.ts';
import { SOURCES, utcTime, type BatonEvent } from '../../events/catalog.ts';
import type { AttributionStore, LoyaltyEventPublisher, Metrics, OfferExposures } from './ports.ts';

export interface AttributionDeps {
  readonly exposures: OfferExposures;
  readonly store: AttributionStore;
  readonly events?: LoyaltyEventPublisher;
  readonly rule?: AttributionRule;
  readonly metrics?: Metrics;
}

export interface SaleToAttribute {
  readonly saleId: string;
  readonly at: string;
  readonly total: number;
  readonly currency: string;
  readonly offerCodes?: readonly string[] | undefined;
}

export function createAttribution(deps: AttributionDeps) {
  const rule = deps.rule ?? DEFAULT_ATTRIBUTION;
  return async function attributeSale(customerId: string, sale: SaleToAttribute): Promise<Attribution | undefined> {
    const since = new Date(Date.parse(sale.at) - rule.windowDays * 86_400_000).toISOString();
    const found = attribute(sale, await deps.exposures.since(customerId, since), rule);
    if (!found) return undefined;
    if (await deps.store.record(customerId, sale.saleId, found, sale.total, sale.currency, sale.at)) deps.metrics?.count('SalesAttributed');
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

/**
 * Attribution on the ingest path: after ingest applied a store's or a partner's sale (and again for a
 * duplicate: the store records a sale once), it is attributed to the customer's last offer.
 */
export function attributionConsumer(attributeSale: ReturnType<typeof createAttribution>, customerOf: (event: BatonEvent) => Promise<string | undefined>) {
  return async (event: BatonEvent): Promise<void> => {
    const pos = event.source === SOURCES.pos && event['detail-type'] === 'SaleCompleted';
    const partner = event.source === SOURCES.partners && event['detail-type'] === 'PartnerSaleCompleted';
    if (!pos && !partner) return;
    const customerId = await customerOf(event);
    if (!customerId) return;
    const d = event.detail;
    const partnerId = 'partnerId' in d ? (d.partnerId as string) : undefined;
    // A partner's sale ids are its own: prefixed so two partners' ids never meet.
    await attributeSale(customerId, {
      saleId: partnerId ? `${partnerId}:${d.saleId}` : d.saleId,
      at: utcTime(d.occurredAt) ?? d.occurredAt,
      total: d.total,
      currency: d.currency,
      offerCodes: d.offerCodes,
    });
  };
}
