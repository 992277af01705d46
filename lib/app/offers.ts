// Offers that learn: the feedback Baton already receives, credited to the offer and context a
// learning rule's message went out with (docs/offers.md). An exposure is the first proof that the
// channel took the message (or a sale attributed to it); a click is the message's first click; a
// conversion is the first sale attributed to the decision, with its revenue. Each is added once per
// message (a replayed event adds nothing), so responses never outnumber exposures.
import { PROOF_OF_SENDING, type MessageFeedback } from '../core/channels/feedback.ts';
import type { LearningMessage, OfferLearningStore, OfferMessages } from './ports.ts';

export interface OfferLearningDeps {
  readonly store: OfferLearningStore;
  readonly messages: OfferMessages;
}

export interface OfferLearningFeedback {
  /** Feedback on one outbox message, with the message as the outbox now holds it. */
  message(feedback: MessageFeedback, message: LearningMessage | void): Promise<void>;
  /** The message of this decision on this channel went out (a simulation, or a channel without feedback). */
  exposed(decisionId: string, channel: string): Promise<void>;
  /** A sale attributed to the decision's offer (SaleAttributed). */
  converted(decisionId: string, offer: string | undefined, revenue: number): Promise<void>;
}

const learns = (m: LearningMessage | void): m is LearningMessage & { offer: string; offerContext: string } =>
  m !== undefined && m.offer !== undefined && m.offerContext !== undefined;
const arm = (m: { ruleId: string; offer: string; offerContext: string }) => ({ ruleId: m.ruleId, context: m.offerContext, offer: m.offer });
const PROOF: ReadonlySet<string> = new Set(PROOF_OF_SENDING);

export function createOfferLearning(deps: OfferLearningDeps): OfferLearningFeedback {
  const { store } = deps;
  const expose = (decisionId: string, m: LearningMessage & { offer: string; offerContext: string }) =>
    store.add(`${decisionId}#${m.channel}#exposed`, { ...arm(m), exposures: 1 });

  return {
    async message(f, m) {
      if (!learns(m)) return;
      // A click proves the send too: counted as the exposure first, so clicks never pass exposures.
      if (PROOF.has(f.field)) await expose(f.decisionId, m);
      if (f.field === 'clickedAt') await store.add(`${f.decisionId}#${m.channel}#clicked`, { ...arm(m), clicks: 1 });
    },

    async exposed(decisionId, channel) {
      const m = (await deps.messages.messagesOf(decisionId)).find((x) => x.channel === channel);
      if (learns(m)) await expose(decisionId, m);
    },

    async converted(decisionId, offer, revenue) {
      const m = (await deps.messages.messagesOf(decisionId)).find((x) => learns(x) && (offer === undefined || x.offer === offer));
      if (!learns(m)) return;
      await expose(decisionId, m);
      await store.add(`${decisionId}#converted`, { ...arm(m), conversions: 1, revenue: Number.isFinite(revenue) && revenue > 0 ? revenue : 0 });
    },
  };
}
