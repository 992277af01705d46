// The port each channel implements; adapters live in lib/adapters (SES, SNS, IoT, bus).
import type { RenderedMessage } from './template.ts';

export interface Recipient {
  readonly customerId: string;
  readonly email?: string;
  readonly phone?: string;
  /** SNS platform endpoints (mobile push) and device ids (device messages). */
  readonly pushEndpoints?: readonly string[];
  readonly deviceIds?: readonly string[];
}

export interface OutgoingMessage {
  readonly decisionId: string;
  readonly ruleId: string;
  readonly campaignId: string;
  readonly recipient: Recipient;
  readonly content: RenderedMessage;
  readonly transactional: boolean;
  readonly unsubscribeUrl?: string;
}

export interface ChannelSender {
  send(message: OutgoingMessage): Promise<{ providerMessageId: string }>;
}

/** A send that will never succeed as it is (no address, rejected, suppressed): recorded, not retried. */
export class PermanentSendError extends Error {
  override readonly name = 'PermanentSendError';
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
