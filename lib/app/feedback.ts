// Feedback: what comes back from the channels after a message was sent. The customer's contact
// history and consent are updated by the reducers (lib/core/customer/reducers.ts) like any event; this
// module does the rest, as ingest's `afterApply` hook: it records on the outbox message what
// happened to it (delivered, opened, clicked, bounced, complained, displayed), and counts sends,
// hard bounces and complaints per day for the deliverability guard (lib/core/channels/deliverability.ts),
// and credits the offer a learning rule sent with its exposure, click or attributed sale (lib/app/offers.ts).
// It runs again when a duplicate arrives, so every effect is idempotent.
import { SOURCES, type BatonEvent } from '../../events/catalog.ts';
import type { OfferLearningFeedback } from './offers.ts';
import { messageFeedback } from '../core/channels/feedback.ts';
import type { DeliverabilityCounter, FeedbackRecorder } from './ports.ts';
import { countsOf } from '../core/channels/deliverability.ts';

export interface FeedbackDeps {
  readonly outbox: FeedbackRecorder;
  readonly deliverability?: DeliverabilityCounter;
  /** Reports: a goal event (a completed sale) converts the customer's open exposures (lib/app/reports.ts). */
  readonly goals?: (event: BatonEvent, applied: { readonly customerId: string } | undefined) => Promise<unknown>;
  /** Offers that learn: feedback and attributed sales update the counts of the offer that was sent. */
  readonly learning?: OfferLearningFeedback;
}

/** The `afterApply` hook of ingest. */
export function createFeedback(deps: FeedbackDeps): (event: BatonEvent, applied?: { readonly customerId: string }) => Promise<void> {
  return async function feedback(event, applied) {
    const message = messageFeedback(event);
    const counts = deps.deliverability ? countsOf(event) : undefined;
    const learning = deps.learning;
    const sale = learning && event.source === SOURCES.loyalty && event['detail-type'] === 'SaleAttributed' ? event.detail : undefined;
    await Promise.all([
      message ? deps.outbox.recordFeedback(message).then((recorded) => learning?.message(message, recorded)) : undefined,
      sale ? learning!.converted(sale.decisionId, sale.offer, sale.revenue) : undefined,
      counts ? deps.deliverability!.add(event.id, counts) : undefined,
      deps.goals?.(event, applied),
    ]);
  };
}
