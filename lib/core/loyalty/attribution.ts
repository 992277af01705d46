// POS attribution (docs/loyalty.md): a sale is attributed to the offer the customer was exposed to
// last within the window (sent, delivered, opened or clicked); an offer code redeemed at the till
// wins outright; a customer held out of the campaign (its control group) is attributed nothing.

export const TOUCHES = ['sent', 'delivered', 'opened', 'clicked'] as const;
export type Touch = (typeof TOUCHES)[number];

/** One contact with an offer, from the decision and its feedback. */
export interface Exposure {
  readonly decisionId: string;
  readonly campaignId: string;
  readonly offer?: string | undefined;
  readonly touch: Touch;
  readonly at: string;
  /** The decision put the customer in the campaign's holdout: nothing was sent, nothing is attributed. */
  readonly holdout?: boolean;
}

export interface Attribution {
  readonly decisionId: string;
  readonly campaignId: string;
  readonly offer?: string | undefined;
  readonly touch: Touch | 'offer-code';
  readonly at: string;
}

export interface AttributionRule {
  /** How far back an exposure counts. */
  readonly windowDays: number;
}

export const DEFAULT_ATTRIBUTION: AttributionRule = { windowDays: 7 };

const strength = (t: Touch) => TOUCHES.indexOf(t);

export function attribute(sale: { at: string; offerCodes?: readonly string[] | undefined }, exposures: readonly Exposure[], rule: AttributionRule = DEFAULT_ATTRIBUTION): Attribution | undefined {
  const end = Date.parse(sale.at);
  const start = end - rule.windowDays * 86_400_000;
  const held = new Set(exposures.filter((e) => e.holdout).map((e) => e.campaignId));
  const inWindow = exposures.filter((e) => !e.holdout && !held.has(e.campaignId) && Date.parse(e.at) >= start && Date.parse(e.at) <= end);
  // Latest first; at the same instant the stronger touch (a click over an open).
  const latest = [...inWindow].sort((a, b) => Date.parse(b.at) - Date.parse(a.at) || strength(b.touch) - strength(a.touch));
  const codes = new Set(sale.offerCodes ?? []);
  const redeemed = latest.find((e) => e.offer !== undefined && codes.has(e.offer));
  if (redeemed) return { decisionId: redeemed.decisionId, campaignId: redeemed.campaignId, offer: redeemed.offer, touch: 'offer-code', at: redeemed.at };
  const last = latest[0];
  return last ? { decisionId: last.decisionId, campaignId: last.campaignId, offer: last.offer, touch: last.touch, at: last.at } : undefined;
}
