// What a feedback event (SES, device) says about one outbox message. Pure; lib/app/feedback.ts
// records it.
import { sesEventTime, type BatonEvent, type Channel } from '../../../events/catalog.ts';

/**
 * Every time that can be known about one message, the one list the others derive from. `outbox`:
 * feedback sets it on the outbox message (each keeps the first time it happened); `contact`: the
 * customer's contact history keeps it; `proof`: it shows the channel took the message, so dispatch
 * knows a send that crashed before it was recorded did go out.
 */
export const MESSAGE_TIMES = {
  /** Sent (email), or for a contact also displayed (device) and handed to SNS (SMS, push). */
  sentAt: { outbox: true, contact: true, proof: true },
  deliveredAt: { outbox: true, contact: true, proof: true },
  openedAt: { outbox: true, contact: true, proof: true },
  clickedAt: { outbox: true, contact: true, proof: true },
  bouncedAt: { outbox: true, contact: true, proof: true },
  complainedAt: { outbox: true, contact: true, proof: true },
  rejectedAt: { outbox: true, contact: false, proof: false },
  /** Failed to render; for a contact also rejected by SES. */
  failedAt: { outbox: true, contact: true, proof: false },
  delayedAt: { outbox: true, contact: false, proof: false },
  displayedAt: { outbox: true, contact: false, proof: true },
  /** The customer unsubscribed through this message (its link, SES's list page): reports count it on the message. */
  unsubscribedAt: { outbox: true, contact: true, proof: false },
  /** A booked call was made (CallCompleted, whatever its outcome; the outcome is the customer's `lastCallOutcome`). */
  calledAt: { outbox: true, contact: false, proof: true },
} as const satisfies Record<string, { outbox: boolean; contact: boolean; proof: boolean }>;
export type MessageTime = keyof typeof MESSAGE_TIMES;
type Use = keyof (typeof MESSAGE_TIMES)[MessageTime];
type TimesFor<U extends Use> = { [K in MessageTime]: (typeof MESSAGE_TIMES)[K][U] extends true ? K : never }[MessageTime];
const timesFor = <U extends Use>(use: U): readonly TimesFor<U>[] =>
  (Object.keys(MESSAGE_TIMES) as MessageTime[]).filter((k): k is TimesFor<U> => MESSAGE_TIMES[k][use]);

/** Fields feedback sets on an outbox message. */
export const FEEDBACK_FIELDS = timesFor('outbox');
export type FeedbackField = TimesFor<'outbox'>;
/** Times the customer's contact history keeps per message. */
export const CONTACT_TIMES = timesFor('contact');
export type ContactTime = TimesFor<'contact'>;
/** Feedback that proves the channel took the message. */
export const PROOF_OF_SENDING = timesFor('proof');

export interface MessageFeedback {
  readonly decisionId: string;
  /** `bus`: a destination's delivery outcome (docs/destinations.md). */
  readonly channel: Channel | 'bus';
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
    if (!decisionId) return undefined;
    if (event['detail-type'] === 'Email Subscribed') {
      // Only "unsubscribe from everything" is an unsubscribe (as the reducers say); a topic change is not.
      const prefs = event.detail.subscription['newTopicPreferences'] as { unsubscribeAll?: unknown } | undefined;
      if (prefs?.unsubscribeAll !== true) return undefined;
      return { decisionId, channel: 'email', field: 'unsubscribedAt', at: sesEventTime(event['detail-type'], event.detail).at };
    }
    if (!field) return undefined;
    return {
      decisionId,
      channel: 'email',
      field,
      at: sesEventTime(event['detail-type'], event.detail).at,
      providerMessageId: event.detail.mail.messageId,
      ...(event['detail-type'] === 'Email Bounced' ? { bounceType: event.detail.bounce.bounceType } : {}),
    };
  }
  if (event.source === 'baton.crm' && event['detail-type'] === 'CallCompleted') {
    return { decisionId: event.detail.decisionId, channel: 'call', field: 'calledAt', at: event.detail.occurredAt };
  }
  // A withdrawal that names the message it came through: the unsubscribe link (lib/app/unsubscribe.ts)
  // or any channel's opt-out (an SMS STOP) that says which decision's message it answered.
  if (event.source === 'baton.crm' && event['detail-type'] === 'ConsentChanged' && event.detail.granted === false) {
    const decisionId = (event.detail as { decisionId?: unknown }).decisionId;
    if (typeof decisionId !== 'string' || decisionId === '') return undefined;
    return { decisionId, channel: event.detail.channel, field: 'unsubscribedAt', at: event.detail.occurredAt };
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
