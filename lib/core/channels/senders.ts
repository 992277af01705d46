// The port each channel implements; adapters live in lib/adapters (SES, SNS, IoT, bus).
import type { Channel } from '../../../events/catalog.ts';
import type { RenderedMessage } from './template.ts';
import { BatonError } from '../../contract/errors.ts';
import type { PermanentCode } from './failures.ts';

export type { PermanentCode };

export interface Recipient {
  readonly customerId: string;
  readonly email?: string;
  /** E.164, for SMS. */
  readonly phone?: string;
  /** The SNS platform endpoint of the customer's most recently seen device that has one (mobile push). */
  readonly pushEndpointArn?: string;
  /** The customer's most recently seen device (device messages go to `baton/devices/<deviceId>/messages`). */
  readonly deviceId?: string;
}

export interface OutgoingMessage {
  readonly channel: Channel | 'bus';
  readonly decisionId: string;
  readonly ruleId: string;
  readonly campaignId: string;
  readonly recipient: Recipient;
  readonly content: RenderedMessage;
  readonly transactional: boolean;
  readonly offer?: string;
  readonly unsubscribeUrl?: string;
  /** Bus actions: what the subscriber should do, and its parameters from the rule. */
  readonly action?: string;
  readonly payload?: Record<string, unknown>;
  /** Bus actions: the destination whose HTTP API gets the action (docs/destinations.md). */
  readonly destination?: string;
  /** Calls: the team whose call list gets the entry. */
  readonly team?: string;
}

/** A send that will never succeed as it is (no address, rejected, suppressed): recorded, not retried. */
export class PermanentSendError extends BatonError<PermanentCode> {
  override readonly name = 'PermanentSendError';
  constructor(message: string, code: PermanentCode, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** The provider's error name, for mapping to permanent or transient. */
export const errorName = (err: unknown): string => (err as { name?: string } | null)?.name ?? '';
