// What a feedback event (SES, device) says about one outbox message. Pure; lib/app/feedback.ts
// records it.
import type { BatonEvent, Channel } from '../../../events/catalog.ts';

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
