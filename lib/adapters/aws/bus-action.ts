// Bus actions: a `baton` event `ActionRequested` on the Baton bus, for any subscriber (a CRM
// update, a call-centre list, a webhook through an API destination). The routes never feed
// Baton's own source back into evaluate (lib/contract/routes.ts).
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SOURCES } from '../../../events/catalog.ts';
import { PermanentSendError, type OutgoingMessage } from '../../core/channels/senders.ts';
import { type ChannelSender } from '../../app/ports.ts';

export const ACTION_DETAIL_TYPE = 'ActionRequested';

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
    };
    const out = await this.bus.send(
      new PutEventsCommand({
        Entries: [{ Source: SOURCES.baton, DetailType: ACTION_DETAIL_TYPE, Detail: JSON.stringify(detail), EventBusName: this.busName, Resources: [] }],
      }),
    );
    const entry = out.Entries?.[0];
    if (entry?.EventId) return { providerMessageId: entry.EventId };
    const code = entry?.ErrorCode ?? 'Unknown';
    // Throttling and internal failures per entry are retried; anything else will not change.
    if (['ThrottlingException', 'InternalFailure', 'ServiceUnavailable'].includes(code)) {
      throw Object.assign(new Error(`the bus did not take the action (${code})`), { name: code, $metadata: { httpStatusCode: 200 } });
    }
    throw new PermanentSendError(`the bus refused the action (${code})`, 'rejected');
  }
}
