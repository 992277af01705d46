// The local SES accepts mail but drops configuration sets and tags and emits no events, so the
// local stack plays SES's part: for each new mail in its store it publishes "Email Sent" and
// "Email Delivered" to the default bus, as SES's event destination does in the cloud.
import { verifyUnsubscribe } from '../../lib/channels/unsubscribe.ts';
import type { LocalBus } from './bus.ts';

interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  headers?: { name: string; value: string }[];
  at: number;
}

export class LocalSesFeedback {
  readonly stats = { emails: 0, events: 0, untracked: 0 };
  private readonly seen = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly sesEndpoint: string,
    private readonly bus: LocalBus,
    private readonly secret: string,
  ) {}

  start(intervalMs = 250): void {
    this.timer = setInterval(() => {
      this.polling ??= this.poll().finally(() => {
        this.polling = undefined;
      });
    }, intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.polling;
  }

  /** Reads the store once; exposed so tests and the demo can settle without waiting a tick. */
  async poll(): Promise<void> {
    let emails: StoredEmail[];
    try {
      const res = await fetch(`${this.sesEndpoint}/store`);
      emails = ((await res.json()) as { emails: StoredEmail[] }).emails;
    } catch {
      return; // the SES server is stopping
    }
    for (const email of emails) {
      if (this.seen.has(email.messageId)) continue;
      this.seen.add(email.messageId);
      this.stats.emails++;
      const header = email.headers?.find((h) => h.name.toLowerCase() === 'list-unsubscribe')?.value ?? '';
      const token = /[?&]t=([^&>]+)/.exec(header)?.[1];
      const claim = token ? verifyUnsubscribe(decodeURIComponent(token), this.secret) : undefined;
      if (!claim) {
        this.stats.untracked++;
        continue;
      }
      const sentAt = new Date(email.at * 1000).toISOString();
      const mail = {
        timestamp: sentAt,
        messageId: email.messageId,
        source: email.from,
        destination: email.destination.to,
        tags: { decisionId: [claim.decisionId], customerId: [claim.customerId] },
      };
      const entries = [
        { eventType: 'Send', type: 'Email Sent', extra: { send: {} } },
        { eventType: 'Delivery', type: 'Email Delivered', extra: { delivery: { timestamp: sentAt, recipients: mail.destination, processingTimeMillis: 1, smtpResponse: '250 2.0.0 OK (local)' } } },
      ].map(({ eventType, type, extra }) => ({
        Source: 'aws.ses',
        DetailType: type,
        Detail: JSON.stringify({ eventType, mail, ...extra }),
        EventBusName: 'default',
      }));
      this.bus.putEvents(entries, { trusted: true });
      this.stats.events += entries.length;
    }
  }
}
