// One-click unsubscribe tokens (RFC 8058): the link in the email and the List-Unsubscribe header
// carry a signed token naming the customer and channel, so a click needs no login and cannot be forged.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Channel } from '../../../events/catalog.ts';

export interface UnsubscribeClaim {
  readonly customerId: string;
  readonly decisionId: string;
  readonly channel: Channel;
}

export function signUnsubscribe(claim: UnsubscribeClaim, secret: string): string {
  const body = Buffer.from(JSON.stringify([claim.customerId, claim.decisionId, claim.channel])).toString('base64url');
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

export function verifyUnsubscribe(token: string, secret: string): UnsubscribeClaim | undefined {
  const [body, signature] = token.split('.');
  if (!body || !signature) return undefined;
  const expected = createHmac('sha256', secret).update(body).digest();
  const given = Buffer.from(signature, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const [customerId, decisionId, channel] = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    return { customerId, decisionId, channel };
  } catch {
    return undefined;
  }
}
