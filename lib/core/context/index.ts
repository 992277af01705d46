// Business context (docs/context.md): what is true of the business right now, not of one customer.
// Source systems report it as events (stock per SKU and location, a call-centre team's load, a
// promotion's status); each fact is kept as the latest one that occurred, and rules read the whole
// as `context` in their `if`, with the same pattern syntax as the customer's fields.
import { z } from 'zod';
import type { BatonEvent } from '../../../events/catalog.ts';

export type ContextFact =
  | { readonly kind: 'inventory'; readonly sku: string; readonly location: string; readonly available: number; readonly at: string }
  | { readonly kind: 'team'; readonly team: string; readonly agentsFree: number; readonly queueLength: number; readonly at: string }
  | {
      readonly kind: 'promotion';
      readonly promotionId: string;
      readonly status: 'live' | 'ended';
      readonly validFrom?: string;
      readonly validUntil?: string;
      readonly at: string;
    };

export type ContextKind = ContextFact['kind'];

const code = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/);
const at = z.iso.datetime({ offset: false });
const count = z.number().int().min(0);
/** A fact as stored: checked again at load, so an item written past the catalog is skipped, not read. */
export const contextFactSchema: z.ZodType<ContextFact> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('inventory'), sku: code, location: code, available: count, at }),
  z.object({ kind: z.literal('team'), team: code, agentsFree: count, queueLength: count, at }),
  z.object({ kind: z.literal('promotion'), promotionId: code, status: z.enum(['live', 'ended']), validFrom: at.optional(), validUntil: at.optional(), at }),
]);

/** The fact a context event reports, or undefined for any other event. */
export function contextFactOf(event: BatonEvent): ContextFact | undefined {
  if (event.source === 'baton.erp' && event['detail-type'] === 'InventoryChanged') {
    const d = event.detail;
    return { kind: 'inventory', sku: d.sku, location: d.location, available: d.available, at: instant(d.occurredAt) };
  }
  if (event.source === 'baton.crm' && event['detail-type'] === 'CallCentreLoadReported') {
    const d = event.detail;
    return { kind: 'team', team: d.team, agentsFree: d.agentsFree, queueLength: d.queueLength, at: instant(d.occurredAt) };
  }
  if (event.source === 'baton.crm' && event['detail-type'] === 'PromotionChanged') {
    const d = event.detail;
    return {
      kind: 'promotion',
      promotionId: d.promotionId,
      status: d.status,
      ...(d.validFrom ? { validFrom: instant(d.validFrom) } : {}),
      ...(d.validUntil ? { validUntil: instant(d.validUntil) } : {}),
      at: instant(d.occurredAt),
    };
  }
  return undefined;
}

/** What one fact is about: a later fact with the same subject replaces it. */
export function contextSubject(fact: ContextFact): { readonly kind: ContextKind; readonly id: string } {
  switch (fact.kind) {
    case 'inventory':
      return { kind: 'inventory', id: `${fact.sku}/${fact.location}` };
    case 'team':
      return { kind: 'team', id: fact.team };
    case 'promotion':
      return { kind: 'promotion', id: fact.promotionId };
  }
}

/** Times compared as text must be in one form: UTC with milliseconds. */
function instant(iso: string): string {
  return new Date(Date.parse(iso)).toISOString();
}

export interface StockView {
  /** Units available over every location. */
  readonly available: number;
  readonly locations: Readonly<Record<string, number>>;
}
export interface TeamView {
  readonly agentsFree: number;
  readonly queueLength: number;
}
export interface PromotionView {
  /** Live now: reported live and within its validity window. */
  readonly live: boolean;
}

/** What rules read as `context` (field names are what marketers write in patterns). */
export interface BusinessContext {
  readonly inventory: Readonly<Record<string, StockView>>;
  readonly callCentre: Readonly<Record<string, TeamView>>;
  readonly promotions: Readonly<Record<string, PromotionView>>;
}

/** Records with no prototype: a SKU named `__proto__` or `constructor` is just a SKU. */
const record = <V>(): Record<string, V> => Object.create(null) as Record<string, V>;

export const EMPTY_CONTEXT: BusinessContext = Object.freeze({ inventory: record<StockView>(), callCentre: record<TeamView>(), promotions: record<PromotionView>() });

/** The context the facts describe at `now`. */
export function businessContext(facts: Iterable<ContextFact>, now: Date): BusinessContext {
  const stock = record<{ available: number; locations: Record<string, number> }>();
  const callCentre = record<TeamView>();
  const promotions = record<PromotionView>();
  const nowIso = now.toISOString();
  for (const fact of facts) {
    if (fact.kind === 'inventory') {
      const entry = (stock[fact.sku] ??= { available: 0, locations: record<number>() });
      entry.locations[fact.location] = fact.available;
      entry.available += fact.available;
    } else if (fact.kind === 'team') {
      callCentre[fact.team] = { agentsFree: fact.agentsFree, queueLength: fact.queueLength };
    } else {
      const started = fact.validFrom === undefined || fact.validFrom <= nowIso;
      const ongoing = fact.validUntil === undefined || nowIso < fact.validUntil;
      promotions[fact.promotionId] = { live: fact.status === 'live' && started && ongoing };
    }
  }
  return { inventory: stock, callCentre, promotions };
}

/** True when the SKU's stock is known and nothing is left anywhere; unknown SKUs are not held back. */
export function outOfStock(context: BusinessContext, sku: string): boolean {
  const entry = Object.hasOwn(context.inventory, sku) ? context.inventory[sku] : undefined;
  return entry !== undefined && entry.available <= 0;
}
