// Feedback: what comes back from the channels after a message was sent. The customer's contact
// history and consent are updated by the reducers (lib/customer/reducers.ts) like any event; this
// module does the rest, as ingest's `afterApply` hook: it records on the outbox message what
// happened to it (delivered, opened, clicked, bounced, complained, displayed), and counts sends,
// hard bounces and complaints per day for the deliverability guard (lib/deliverability.ts).
// It runs again when a duplicate arrives, so every effect is idempotent.
import type { BatonEvent, Channel } from '../events/catalog.ts';
import { countsOf } from './deliverability.ts';

/** Fields feedback sets on an outbox message; each keeps the first time it happened. */
export const FEEDBACK_FIELDS = [
  'sentAt',
  'deliveredAt',
  'openedAt',
  'clickedAt',
  'bouncedAt',
  'complainedAt',
  'rejectedAt',
  'failedAt',
  'delayedAt',
  'displayedAt',
] as const;
export type FeedbackField = (typeof FEEDBACK_FIELDS)[number];

export interface MessageFeedback {
  readonly decisionId: string;
  readonly channel: Channel;
  readonly field: FeedbackField;
  /** When it happened (ISO). */
  readonly at: string;
  /** SES's message id, which confirms an email was accepted even when dispatch could not record it. */
  readonly providerMessageId?: string;
  /** `Permanent`, `Transient` or `Undetermined` for bounces. */
  readonly bounceType?: string;
}

const SES_FIELD: Record<string, FeedbackField> = {
  'Email Sent': 'sentAt',
  'Email Delivered': 'deliveredAt',
  'Email Opened': 'openedAt',
  'Email Clicked': 'clickedAt',
  'Email Bounced': 'bouncedAt',
  'Email Complaint Received': 'complainedAt',
  'Email Rejected': 'rejectedAt',
  'Email Rendering Failed': 'failedAt',
  'Email Delivery Delayed': 'delayedAt',
};

/** What one event says about one outbox message, or undefined when it is not feedback. */
export function messageFeedback(event: BatonEvent): MessageFeedback | undefined {
  if (event.source === 'aws.ses') {
    const field = SES_FIELD[event['detail-type']];
    const decisionId = event.detail.mail.tags?.['decisionId']?.[0];
    if (!field || !decisionId) return undefined;
    const d = event.detail as Record<string, unknown>;
    // The event's own object (delivery, open, click, bounce...) holds when it happened; `mail` holds the send time.
    const inner = Object.entries(d).find(([k, v]) => k !== 'mail' && typeof (v as { timestamp?: unknown } | null)?.timestamp === 'string')?.[1] as { timestamp: string } | undefined;
    return {
      decisionId,
      channel: 'email',
      field,
      at: inner?.timestamp ?? event.detail.mail.timestamp,
      providerMessageId: event.detail.mail.messageId,
      ...(event['detail-type'] === 'Email Bounced' ? { bounceType: event.detail.bounce.bounceType } : {}),
    };
  }
  if (event.source === 'baton.device' && (event['detail-type'] === 'MessageDisplayed' || event['detail-type'] === 'MessageClicked')) {
    return {
      decisionId: event.detail.decisionId,
      channel: 'device',
      field: event['detail-type'] === 'MessageDisplayed' ? 'displayedAt' : 'clickedAt',
      at: event.detail.occurredAt,
    };
  }
  return undefined;
}

export interface FeedbackDeps {
  readonly outbox: {
    /** Sets `field` if not set yet; a message that does not exist (erased, or not Baton's) is ignored. */
    recordFeedback(feedback: MessageFeedback): Promise<void>;
  };
  readonly deliverability?: {
    /** Adds the counts once per event id (a replay adds nothing). */
    add(eventId: string, counts: { day: string; sent: number; bounces: number; complaints: number }): Promise<void>;
  };
}

/** The `afterApply` hook of ingest. */
export function createFeedback(deps: FeedbackDeps): (event: BatonEvent) => Promise<void> {
  return async function feedback(event) {
    const message = messageFeedback(event);
    const counts = deps.deliverability ? countsOf(event) : undefined;
    await Promise.all([
      message ? deps.outbox.recordFeedback(message) : undefined,
      counts ? deps.deliverability!.add(event.id, counts) : undefined,
    ]);
  };
}
