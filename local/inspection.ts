// Read-only local endpoints for people and tests: what the pipeline did, and what every channel
// sent (GET /local/messages?channel=&customer=), with the dead letters of each stage.
import type { Channel } from '../events/catalog.ts';
import type { DeadLetterEntry } from '../lib/app/ports.ts';
import type { HttpExtension, LocalBus } from './bus.ts';
import { sendJson } from './bus.ts';
import type { LocalQueue } from './queue.ts';
import type { LocalStreamPoller } from './streams.ts';
import type { LocalSesFeedback } from './ses-feedback.ts';
import type { TimerDeadLetter } from './scheduler.ts';

export interface LocalMessage {
  readonly channel: Channel | 'bus';
  readonly providerMessageId: string;
  /** Phone number, endpoint ARN, MQTT topic, e-mail address or bus name. */
  readonly to: string;
  readonly subject?: string;
  readonly text: string;
  readonly html?: string;
  readonly at: string;
  readonly attributes?: Record<string, string>;
  decisionId?: string;
  customerId?: string;
  ruleId?: string;
  campaignId?: string;
}

export interface MessageMeta {
  readonly channel: Channel | 'bus';
  readonly decisionId: string;
  readonly customerId: string;
  readonly ruleId: string;
  readonly campaignId: string;
  /** For channels without a stand-in record (bus actions): what was sent. */
  readonly text?: string;
  readonly to?: string;
}

/** What the local SNS and IoT stand-ins received, joined with who dispatch sent it for. */
export class LocalMessages {
  private readonly byId = new Map<string, LocalMessage>();
  private readonly meta = new Map<string, MessageMeta>();
  private readonly sent = new Map<Channel | 'bus', number>();

  record(message: Omit<LocalMessage, 'at'>): void {
    const m: LocalMessage = { ...message, at: new Date().toISOString() };
    this.apply(m, this.meta.get(m.providerMessageId));
    this.byId.set(m.providerMessageId, m);
  }

  /** Called by the local stack's sender wrapper once the provider answered with its message id. */
  annotate(providerMessageId: string, meta: MessageMeta): void {
    if (!this.meta.has(providerMessageId)) this.sent.set(meta.channel, (this.sent.get(meta.channel) ?? 0) + 1);
    this.meta.set(providerMessageId, meta);
    const m = this.byId.get(providerMessageId);
    if (m) this.apply(m, meta);
    else if (meta.channel === 'bus' || meta.channel === 'call') {
      const { text = '', to = 'baton', ...ids } = meta;
      this.byId.set(providerMessageId, { providerMessageId, to, text, at: new Date().toISOString(), ...ids });
    }
  }

  /** Messages the providers accepted for dispatch, per channel. */
  sentPerChannel(): Record<string, number> {
    return Object.fromEntries(this.sent);
  }

  metaOf(providerMessageId: string): MessageMeta | undefined {
    return this.meta.get(providerMessageId);
  }

  list(): LocalMessage[] {
    return [...this.byId.values()];
  }

  private apply(m: LocalMessage, meta: MessageMeta | undefined): void {
    if (!meta) return;
    m.decisionId = meta.decisionId;
    m.customerId = meta.customerId;
    m.ruleId = meta.ruleId;
    m.campaignId = meta.campaignId;
  }
}

interface StoredEmail {
  messageId: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  at: number;
}

export function localInspection(parts: {
  bus: LocalBus;
  queue: LocalQueue;
  stream: LocalStreamPoller;
  sesFeedback: LocalSesFeedback;
  sesEndpoint: string;
  messages: LocalMessages;
  sendFailures: DeadLetterEntry[];
  /** Journey timers the local Scheduler could not deliver (the cloud's timer DLQ). */
  timerDeadLetters?: readonly TimerDeadLetter[];
  /** The live summary's figures (local/summary.ts, which reads LocalMessages from here). */
  summary?: { figures(): object };
  stats?: () => Record<string, unknown>;
}): HttpExtension {
  async function emails(): Promise<LocalMessage[]> {
    const res = await fetch(`${parts.sesEndpoint}/store`);
    const { emails: stored } = (await res.json()) as { emails: StoredEmail[] };
    return stored.map((e) => {
      const meta = parts.messages.metaOf(e.messageId) ?? parts.sesFeedback.claimOf(e.messageId);
      return {
        channel: 'email' as const,
        providerMessageId: e.messageId,
        to: e.destination.to.join(', '),
        subject: e.subject,
        text: e.body.text ?? '',
        ...(e.body.html ? { html: e.body.html } : {}),
        at: new Date(e.at * 1000).toISOString(),
        ...(meta ? { decisionId: meta.decisionId, customerId: meta.customerId } : {}),
        ...(meta && 'ruleId' in meta ? { ruleId: meta.ruleId, campaignId: meta.campaignId } : {}),
      };
    });
  }

  return async (req, res) => {
    if (req.method !== 'GET') return false;
    const [path, query = ''] = (req.url ?? '').split('?');
    if (path === '/local/messages') {
      const params = new URLSearchParams(query);
      const channel = params.get('channel');
      const customer = params.get('customer');
      const all = [...(await emails()), ...parts.messages.list()]
        .filter((m) => !channel || m.channel === channel)
        .filter((m) => !customer || m.customerId === customer)
        .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
      sendJson(res, 200, { messages: all });
      return true;
    }
    if (path === '/local/stats') {
      sendJson(res, 200, {
        bus: parts.bus.stats,
        queue: { ...parts.queue.stats, depth: parts.queue.depth },
        dispatch: { ...parts.stream.stats, idle: parts.stream.isIdle },
        ses: parts.sesFeedback.stats,
        ...parts.stats?.(),
        ...(parts.summary ? { summary: parts.summary.figures() } : {}),
      });
      return true;
    }
    if (path === '/local/dead-letters') {
      // inbound: events evaluate failed 5 times; dispatch: stream batches that kept failing;
      // sends: permanent send failures (the cloud's dispatch DLQ); timers: journey timers the
      // local Scheduler gave up delivering (the cloud's timer DLQ).
      sendJson(res, 200, { inbound: parts.queue.deadLetters, dispatch: parts.stream.failures, sends: parts.sendFailures, timers: parts.timerDeadLetters ?? [] });
      return true;
    }
    if (path === '/health') {
      sendJson(res, 200, { ok: true });
      return true;
    }
    return false;
  };
}
