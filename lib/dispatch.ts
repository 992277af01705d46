// Dispatch one outbox message: claim it, render its template for the customer, send it through
// its channel, record the result. A claimed message is never sent twice by a retry; a claim left
// by a crash is taken again after `claimMs`.
import type { Channel } from '../events/catalog.ts';
import { customerView, type CustomerState } from './customer/index.ts';
import { renderTemplate, type RenderedMessage, type Template } from './channels/template.ts';
import { PermanentSendError, type ChannelSender, type Recipient } from './channels/senders.ts';
import { signUnsubscribe } from './channels/unsubscribe.ts';
import type { OutboxItem } from './adapters/dynamo/decisions.ts';
import type { Metrics, StoredProfile } from './ports.ts';

export interface DispatchDeps {
  readonly outbox: {
    claim(pk: string, sk: string, now: Date, claimMs: number): Promise<OutboxItem | undefined>;
    complete(
      pk: string,
      sk: string,
      result: { status: 'sent'; providerMessageId: string } | { status: 'failed' | 'suppressed'; failure: string },
      now: Date,
    ): Promise<void>;
    release(pk: string, sk: string): Promise<void>;
  };
  readonly customers: { load(customerId: string): Promise<StoredProfile<CustomerState> | undefined> };
  readonly templates: { find(templateId: string, channel: Channel, locale: string | undefined): Promise<Template | undefined> };
  readonly senders: Partial<Record<Channel | 'bus', ChannelSender>>;
  readonly metrics: Metrics;
  readonly unsubscribe?: { baseUrl: string; secret: string };
  readonly clock?: () => Date;
  /** How long a claim holds before another attempt may take it (longer than one send can take). */
  readonly claimMs?: number;
}

export type DispatchOutcome = 'sent' | 'already-handled' | 'failed' | 'suppressed';

export function createDispatch(deps: DispatchDeps): (key: { pk: string; sk: string }) => Promise<DispatchOutcome> {
  const clock = deps.clock ?? (() => new Date());
  const claimMs = deps.claimMs ?? 60_000;

  return async function dispatch({ pk, sk }) {
    const message = await deps.outbox.claim(pk, sk, clock(), claimMs);
    if (!message) return 'already-handled';
    const fail = async (status: 'failed' | 'suppressed', failure: string): Promise<DispatchOutcome> => {
      await deps.outbox.complete(pk, sk, { status, failure }, clock());
      deps.metrics.count('MessagesFailed');
      return status;
    };
    const sender = deps.senders[message.channel];
    if (!sender) return fail('failed', `no sender configured for channel ${message.channel}`);
    const profile = await deps.customers.load(message.customerId);
    if (!profile) return fail('suppressed', 'customer no longer exists (erased or merged)');
    const view = customerView(profile.state, clock()) as Record<string, unknown>;
    let content: RenderedMessage = { text: JSON.stringify({ action: message.action, payload: message.payload ?? {} }) };
    const unsubscribeUrl =
      deps.unsubscribe && message.channel !== 'bus'
        ? `${deps.unsubscribe.baseUrl}?t=${signUnsubscribe({ customerId: message.customerId, decisionId: message.decisionId, channel: message.channel }, deps.unsubscribe.secret)}`
        : undefined;
    if (message.channel !== 'bus') {
      const template = await deps.templates.find(message.template ?? '', message.channel, view.locale as string | undefined);
      if (!template) return fail('failed', `template ${message.template} for ${message.channel} not found in any locale`);
      content = await renderTemplate(template, {
        customer: view,
        offer: message.offer,
        decisionId: message.decisionId,
        unsubscribeUrl,
      });
    }
    const recipient: Recipient = {
      customerId: message.customerId,
      ...(typeof view.email === 'string' ? { email: view.email } : {}),
      ...(typeof view.phone === 'string' ? { phone: view.phone } : {}),
    };
    try {
      const { providerMessageId } = await sender.send({
        decisionId: message.decisionId,
        ruleId: message.ruleId,
        campaignId: message.campaignId,
        recipient,
        content,
        transactional: message.transactional,
        ...(unsubscribeUrl ? { unsubscribeUrl } : {}),
      });
      await deps.outbox.complete(pk, sk, { status: 'sent', providerMessageId }, clock());
      deps.metrics.count('MessagesSent');
      return 'sent';
    } catch (err) {
      if (err instanceof PermanentSendError) return fail('failed', `${err.code}: ${err.message}`);
      // Transient: free the claim so the stream's retry can take it at once.
      await deps.outbox.release(pk, sk);
      throw err;
    }
  };
}
