// Dispatch one outbox message: hold it until its `notBefore` (quiet hours), claim it, check it may
// still go (customer, consent, deliverability guard, SMS budget), render its template for the
// customer, take a capacity token, send it through its channel, record the result.
//
// At most once: a message is claimed (conditional update) before anything is sent, and the claim
// is marked `sendStartedAt` just before the provider is called. A crash before that mark leaves a
// claim that is taken again after `claimMs` and sent then (none lost). A crash after it (between
// send and record) is never sent again: the retry records it as sent, confirmed by feedback when
// the channel reported it, otherwise `unconfirmed` and dead-lettered. Evidence that comes later
// resolves it (the outbox adapter): the provider's own late answer, or feedback proving the channel
// took it (SES Send/Delivery/Bounce/Complaint/Open/Click carry the decisionId tag; a device's
// MessageDisplayed). What no evidence ever reaches stays unconfirmed, for a person.
import type { Channel } from '../../events/catalog.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { customerView } from '../core/customer/index.ts';
import { renderTemplate, templateReads, type RenderedMessage, type Template } from '../core/channels/template.ts';
import { loyaltyTemplateView } from '../core/loyalty/statement.ts';
import type { Loyalty } from './loyalty.ts';
import { recheckCall } from '../core/channels/call-recheck.ts';
import { PermanentSendError, type OutgoingMessage, type Recipient } from '../core/channels/senders.ts';
import { signUnsubscribe } from '../core/channels/unsubscribe.ts';
import { billingMonth, smsParts } from '../core/channels/sms.ts';
import type { Assessment } from '../core/channels/deliverability.ts';
import { PROOF_OF_SENDING } from '../core/channels/feedback.ts';
import { failure, type FailureCode } from '../core/channels/failures.ts';
import { renderPayload } from '../core/channels/destinations.ts';
import type { CampaignSource, ChannelSender, ContextSource, DeadLetters, DestinationSource, HeldMessages, Metrics, MetricName, OutboxPort, SmsBudget, StoredProfile } from './ports.ts';

export interface DispatchDeps {
  readonly outbox: OutboxPort;
  readonly customers: { load(customerId: string): Promise<StoredProfile<CustomerState> | undefined> };
  readonly templates: { find(templateId: string, channel: Channel, locale: string | undefined): Promise<Template | undefined> };
  readonly senders: Partial<Record<Channel | 'bus', ChannelSender>>;
  readonly metrics: Metrics;
  readonly unsubscribe?: { baseUrl: string; secret: string };
  readonly clock?: () => Date;
  /** How long a claim holds before another attempt may take it (longer than one send can take). */
  readonly claimMs?: number;
  /** Without it a message held by quiet hours stays pending (and is logged by the handler). */
  readonly held?: HeldMessages;
  readonly deadLetters?: DeadLetters;
  /** Per-channel token buckets (lib/core/channels/capacity.ts). */
  readonly capacity?: { take(channel: Channel | 'bus'): Promise<number> };
  /** The deliverability guard's current assessment (cached by the adapter). */
  readonly deliverability?: { assess(now: Date): Promise<Assessment> };
  readonly smsBudget?: SmsBudget;
  /** Destination items: a bus action naming one gets its payload rendered from the destination's template. */
  readonly destinations?: DestinationSource;
  /** The member's balance and next expiry per programme, read only for a template that names `loyalty`. */
  readonly loyalty?: Pick<Loyalty, 'summaries'>;
  /** Calls are checked again at delivery against the team's load (docs/context.md) and the policy's quiet hours. */
  readonly context?: ContextSource;
  readonly campaigns?: CampaignSource;
}

export type DispatchOutcome = 'sent' | 'already-handled' | 'held' | 'failed' | 'suppressed' | 'unconfirmed';

/** Metrics dispatch counts beyond lib/app/ports.ts's list (see the report: add them to MetricName). */

/** An SDK error that came with no response: the request may have reached the provider. */
function ambiguous(err: unknown): boolean {
  const meta = (err as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata;
  return !meta?.httpStatusCode;
}

export function createDispatch(deps: DispatchDeps): (key: { pk: string; sk: string; notBefore?: string | undefined }) => Promise<DispatchOutcome> {
  const clock = deps.clock ?? (() => new Date());
  const claimMs = deps.claimMs ?? 60_000;
  const count = (name: MetricName, value = 1) => deps.metrics.count(name, value);

  return async function dispatch({ pk, sk, notBefore }) {
    if (notBefore && Date.parse(notBefore) > clock().getTime()) {
      if (!deps.held) return 'held';
      await deps.held.hold({ pk, sk, notBefore });
      count('MessagesHeld');
      return 'held';
    }
    const message = await deps.outbox.claim(pk, sk, clock(), claimMs);
    if (!message) return 'already-handled';
    // A message that reached the queue without its notBefore (an old record): hold it now.
    if (message.notBefore && Date.parse(message.notBefore) > clock().getTime() + 1000 && deps.held) {
      await deps.outbox.release(pk, sk, { clearMark: true });
      await deps.held.hold({ pk, sk, notBefore: message.notBefore });
      count('MessagesHeld');
      return 'held';
    }

    const deadLetter = async (code: FailureCode, reason: string) => {
      await deps.deadLetters?.put({
        pk,
        sk,
        decisionId: message.decisionId,
        customerId: message.customerId,
        channel: message.channel,
        code,
        reason,
        at: clock().toISOString(),
      });
      count('MessagesDeadLettered');
    };
    const suppress = async (code: FailureCode, reason: string): Promise<DispatchOutcome> => {
      await deps.outbox.complete(pk, sk, { status: 'suppressed', failure: failure(code, reason) }, clock());
      count('MessagesSuppressed');
      return 'suppressed';
    };
    const fail = async (code: FailureCode, reason: string): Promise<DispatchOutcome> => {
      await deps.outbox.complete(pk, sk, { status: 'failed', failure: failure(code, reason) }, clock());
      count('MessagesFailed');
      await deadLetter(code, reason);
      return 'failed';
    };

    // A previous attempt crashed after it started sending: never send twice.
    if (message.sendStartedAt) {
      const confirmed = PROOF_OF_SENDING.some((f) => typeof message[f] === 'string');
      const id = typeof message.providerMessageId === 'string' ? message.providerMessageId : 'unknown';
      await deps.outbox.complete(pk, sk, { status: 'sent', providerMessageId: id, ...(confirmed ? {} : { unconfirmed: true }) }, clock());
      if (confirmed) {
        count('MessagesSent');
        return 'sent';
      }
      count('MessagesUnconfirmed');
      await deadLetter('outcome-unknown', 'a previous attempt stopped after it started sending; not sent again (at most once), no feedback confirms it yet');
      return 'unconfirmed';
    }

    const sender = deps.senders[message.channel];
    if (!sender) return fail('not-configured', `no sender configured for channel ${message.channel}`);
    const profile = await deps.customers.load(message.customerId);
    if (!profile || profile.state.erased) return suppress('no-customer', 'customer no longer exists (erased or merged)');
    const view = customerView(profile.state, clock()) as unknown as Record<string, unknown> & { consent: Record<string, boolean> };

    if (message.channel !== 'bus' && !message.transactional) {
      // Consent can be withdrawn (a complaint, a hard bounce, an unsubscribe) after the decision.
      if (view.consent[message.channel] !== true) return suppress('no-consent', `consent for ${message.channel} was withdrawn after the decision`);
      if (message.channel === 'email' && deps.deliverability) {
        const guard = await deps.deliverability.assess(clock());
        if (guard.status === 'paused') {
          count('DeliverabilityPaused');
          return suppress(`deliverability-${guard.code}`, guard.reason);
        }
      }
    }

    // A call waited (for agents, or quiet hours): is its team free and the customer's clock right now?
    if (message.channel === 'call' && message.team && deps.held && (deps.context || deps.campaigns)) {
      const [context, book] = await Promise.all([deps.context?.current(), deps.campaigns?.current()]);
      const check = recheckCall({
        team: message.team,
        context,
        policy: book?.policy(book.campaign(message.campaignId).policyId),
        timeZone: typeof view.timeZone === 'string' ? view.timeZone : undefined,
        transactional: message.transactional,
        nowMs: clock().getTime(),
        decidedAtMs: Date.parse(message.createdAt),
        retryMinutes: message.retryMinutes,
      });
      if (check.verdict === 'drop') return suppress('team-busy', check.reason);
      if (check.verdict === 'hold') {
        // Pending again with the later time: its stream record holds it (one hold per wait, never a copy per retry).
        await deps.outbox.release(pk, sk, { clearMark: true, notBefore: new Date(check.until).toISOString() });
        count('MessagesHeld');
        return 'held';
      }
    }

    const recipient = recipientOf(message.customerId, view, profile.state);
    const unsubscribeUrl =
      deps.unsubscribe && message.channel === 'email'
        ? `${deps.unsubscribe.baseUrl}?t=${signUnsubscribe({ customerId: message.customerId, decisionId: message.decisionId, channel: message.channel }, deps.unsubscribe.secret)}`
        : undefined;
    let content: RenderedMessage = { text: '' };
    if (message.channel !== 'bus') {
      const template = await deps.templates.find(message.template ?? '', message.channel, typeof view.locale === 'string' ? view.locale : undefined);
      if (!template) return fail('no-template', `template ${message.template} for ${message.channel} not found in any locale`);
      // The ledger is read only for a template that shows it: no extra read for any other message.
      const loyalty =
        deps.loyalty && templateReads(template, 'loyalty')
          ? loyaltyTemplateView(await deps.loyalty.summaries(message.customerId, { timeZone: typeof view.timeZone === 'string' ? view.timeZone : undefined, now: clock() }), view)
          : undefined;
      try {
        content = await renderTemplate(template, { customer: view, offer: message.offer, decisionId: message.decisionId, unsubscribeUrl, ...(loyalty ? { loyalty } : {}) });
      } catch (err) {
        // Checked at write (baton templates put), so this is a template put past the check.
        return fail('render-failed', `template ${message.template} (${message.channel}/${template.locale}) failed to render: ${(err as Error).name}`);
      }
    }

    // A bus action to a destination sends only what the destination's template names.
    let payload = message.payload;
    if (message.channel === 'bus' && message.destination) {
      const destination = await deps.destinations?.find(message.destination);
      if (!destination) return fail('not-found', `destination ${message.destination} not found, or not valid`);
      try {
        const decision = { decisionId: message.decisionId, ruleId: message.ruleId, campaignId: message.campaignId, action: message.action ?? '', payload: message.payload ?? {} };
        payload = await renderPayload(destination, { decision, customer: view });
      } catch (err) {
        return fail('render-failed', `the payload of destination ${message.destination} failed to render: ${(err as Error).name}`);
      }
    }

    let smsCost = 0;
    const month = billingMonth(clock());
    if (message.channel === 'sms' && deps.smsBudget) {
      smsCost = smsParts(content.text).parts * deps.smsBudget.costPerPartMicros;
      if (!(await deps.smsBudget.reserve(month, smsCost, deps.smsBudget.monthlyMicros))) {
        count('SmsBudgetExhausted');
        return suppress('sms-budget-spent', `the monthly SMS budget of $${(deps.smsBudget.monthlyMicros / 1e6).toFixed(2)} is spent`);
      }
    }
    await deps.capacity?.take(message.channel);

    if (!(await deps.outbox.markSending(pk, sk, message.attempts, clock()))) {
      // Our claim ran out and another attempt holds the message now: leave it to that one.
      if (smsCost) await deps.smsBudget!.refund(month, smsCost);
      return 'already-handled';
    }
    const outgoing: OutgoingMessage = {
      channel: message.channel,
      decisionId: message.decisionId,
      ruleId: message.ruleId,
      campaignId: message.campaignId,
      recipient,
      content,
      transactional: message.transactional,
      ...(message.offer ? { offer: message.offer } : {}),
      ...(unsubscribeUrl ? { unsubscribeUrl } : {}),
      ...(message.action ? { action: message.action } : {}),
      ...(payload ? { payload } : {}),
      ...(message.destination ? { destination: message.destination } : {}),
      ...(message.team ? { team: message.team } : {}),
    };
    let providerMessageId: string;
    try {
      ({ providerMessageId } = await sender.send(outgoing));
    } catch (err) {
      if (err instanceof PermanentSendError) {
        if (smsCost) await deps.smsBudget!.refund(month, smsCost);
        return fail(err.code, err.message);
      }
      // Transient. With a response the provider refused it: free the claim for the retry. Without
      // one (timeout, reset) it may have been sent: keep the mark, so no retry sends it again.
      const refused = !ambiguous(err);
      if (smsCost && refused) await deps.smsBudget!.refund(month, smsCost);
      await deps.outbox.release(pk, sk, { clearMark: refused });
      throw err;
    }
    await deps.outbox.complete(pk, sk, { status: 'sent', providerMessageId }, clock());
    count('MessagesSent');
    return 'sent';
  };
}

/** Where the message goes: the view's address fields and, from the state, the newest device. */
export function recipientOf(customerId: string, view: Record<string, unknown>, state: CustomerState): Recipient {
  const byNewest = [...state.devices].sort((a, b) => (a.lastSeen === b.lastSeen ? (a.id < b.id ? -1 : 1) : a.lastSeen > b.lastSeen ? -1 : 1));
  const device = byNewest[0];
  const push = byNewest.find((d) => d.pushEndpointArn !== undefined);
  return {
    customerId,
    ...(typeof view.email === 'string' ? { email: view.email } : {}),
    ...(typeof view.phone === 'string' ? { phone: view.phone } : {}),
    ...(push?.pushEndpointArn ? { pushEndpointArn: push.pushEndpointArn.v } : {}),
    ...(device ? { deviceId: device.id } : {}),
  };
}
