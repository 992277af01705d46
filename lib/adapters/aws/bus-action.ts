// Bus actions and call-list entries: `baton` events on the Baton bus. `ActionRequested` is for any
// subscriber (a CRM update, a webhook); one naming a `destination` is routed to that system's HTTP
// API (docs/destinations.md) with the payload dispatch rendered from the destination's template.
// `CallRequested` is a call booked with a team (channel `call`, docs/channels.md), for the team's
// system. The routes never feed Baton's own source back into evaluate (lib/contract/routes.ts).
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SOURCES } from '../../../events/catalog.ts';
import { PermanentSendError, type OutgoingMessage } from '../../core/channels/senders.ts';
import { type ChannelSender } from '../../app/ports.ts';

export const ACTION_DETAIL_TYPE = 'ActionRequested';
export const CALL_DETAIL_TYPE = 'CallRequested';

/** Puts one `baton` event on the bus; per-entry throttling and internal failures are retried. */
async function putBatonEvent(bus: EventBridgeClient, busName: string, detailType: string, detail: Record<string, unknown>, what: string): Promise<{ providerMessageId: string }> {
  const out = await bus.send(
    new PutEventsCommand({ Entries: [{ Source: SOURCES.baton, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: busName, Resources: [] }] }),
  );
  const entry = out.Entries?.[0];
  if (entry?.EventId) return { providerMessageId: entry.EventId };
  const code = entry?.ErrorCode ?? 'Unknown';
  if (['ThrottlingException', 'InternalFailure', 'ServiceUnavailable'].includes(code)) {
    throw Object.assign(new Error(`the bus did not take the ${what} (${code})`), { name: code, $metadata: { httpStatusCode: 200 } });
  }
  throw new PermanentSendError(`the bus refused the ${what} (${code})`, 'rejected');
}

export class BusActionSender implements ChannelSender {
  constructor(
    private readonly bus: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    if (!message.action) throw new PermanentSendError('bus message has no action', 'invalid-parameter');
    const detail = {
      decisionId: message.decisionId,
      customerId: message.recipient.customerId,
      ruleId: message.ruleId,
      campaignId: message.campaignId,
      action: message.action,
      ...(message.payload ? { payload: message.payload } : {}),
      ...(message.destination ? { destination: message.destination } : {}),
    };
    return putBatonEvent(this.bus, this.busName, ACTION_DETAIL_TYPE, detail, 'action');
  }
}

/**
 * A call-list entry for the team's system. It carries the phone number (the one personal field an
 * agent needs to call) and the rendered brief; the team's system knows the customer by customerId.
 */
export class CallListSender implements ChannelSender {
  constructor(
    private readonly bus: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    if (!message.team) throw new PermanentSendError('call has no team', 'invalid-parameter');
    if (!message.recipient.phone) throw new PermanentSendError('customer has no phone number to call', 'no-address');
    const detail = {
      decisionId: message.decisionId,
      customerId: message.recipient.customerId,
      ruleId: message.ruleId,
      campaignId: message.campaignId,
      team: message.team,
      brief: message.content.text,
      phone: message.recipient.phone,
    };
    return putBatonEvent(this.bus, this.busName, CALL_DETAIL_TYPE, detail, 'call-list entry');
  }
}
