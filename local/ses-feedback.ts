// The local SES accepts mail but drops configuration sets and tags and emits no events, so the
// local stack plays SES's part: for each new mail in its store it publishes "Email Sent" and
// "Email Delivered" to the default bus, as SES's event destination does in the cloud. Like SES's
// mailbox simulator, mail to bounce@ / complaint@ / suppressionlist@simulator.amazonses.com (a
// `+label` allowed) bounces or draws a complaint. Following a link of a local e-mail through
// /local/mail/<messageId> emits "Email Opened" and "Email Clicked", as SES's tracking does.
import { DomUtils, parseDocument } from 'htmlparser2';
import { verifyUnsubscribe } from '../lib/core/channels/unsubscribe.ts';
import { sendJson, type HttpExtension, type LocalBus } from './bus.ts';

interface StoredEmail {
  messageId: string;
  from: string;
  destination: { to: string[] };
  subject: string;
  body?: { html?: string; text?: string };
  headers?: { name: string; value: string }[];
  at: number;
}

interface Tracked {
  readonly email: StoredEmail;
  readonly decisionId: string;
  readonly customerId: string;
  opened: boolean;
}

/** The decision tags the local stack can add beyond the signed token (rule and campaign). */
export type TagLookup = (messageId: string) => { ruleId?: string; campaignId?: string } | undefined;

const SIMULATOR = /^(success|bounce|complaint|ooto|suppressionlist)(\+[^@]*)?@simulator\.amazonses\.com$/i;

/** The after-the-send feedback `report` can publish (opens and clicks come from following the mail's links). */
export const SIMULATED_KINDS = ['delivered', 'bounced', 'complained'] as const;
export type SimulatedKind = (typeof SIMULATED_KINDS)[number];

export class LocalSesFeedback {
  readonly stats = { emails: 0, events: 0, untracked: 0, opens: 0, clicks: 0 };
  private readonly seen = new Set<string>();
  private readonly tracked = new Map<string, Tracked>();
  private readonly reported = new Map<string, Set<string>>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;

  constructor(
    private readonly sesEndpoint: string,
    private readonly bus: LocalBus,
    private readonly secret: string,
    private readonly tags: TagLookup = () => undefined,
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

  /** The decision and customer of a mail, read from its signed List-Unsubscribe link. */
  claimOf(messageId: string): { decisionId: string; customerId: string } | undefined {
    const t = this.tracked.get(messageId);
    return t && { decisionId: t.decisionId, customerId: t.customerId };
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
      this.tracked.set(email.messageId, { email, decisionId: claim.decisionId, customerId: claim.customerId, opened: false });
      const sentAt = new Date(email.at * 1000).toISOString();
      const to = email.destination.to;
      const kind = SIMULATOR.exec(to[0] ?? '')?.[1]?.toLowerCase() ?? 'success';
      const events: { eventType: string; type: string; extra: Record<string, unknown> }[] = [{ eventType: 'Send', type: 'Email Sent', extra: { send: {} } }];
      const delivery = { delivery: { timestamp: sentAt, recipients: to, processingTimeMillis: 1, smtpResponse: '250 2.0.0 OK (local)' } };
      if (kind === 'bounce' || kind === 'suppressionlist') {
        events.push({
          eventType: 'Bounce',
          type: 'Email Bounced',
          extra: {
            bounce: {
              bounceType: 'Permanent',
              bounceSubType: kind === 'bounce' ? 'General' : 'OnAccountSuppressionList',
              bouncedRecipients: to.map((emailAddress) => ({ emailAddress })),
              timestamp: sentAt,
              feedbackId: `local-${email.messageId}`,
            },
          },
        });
      } else {
        events.push({ eventType: 'Delivery', type: 'Email Delivered', extra: delivery });
        if (kind === 'complaint') {
          events.push({
            eventType: 'Complaint',
            type: 'Email Complaint Received',
            extra: { complaint: { complainedRecipients: to.map((emailAddress) => ({ emailAddress })), timestamp: sentAt, feedbackId: `local-${email.messageId}`, complaintFeedbackType: 'abuse' } },
          });
        }
      }
      this.publish(email.messageId, events);
    }
  }

  /** Following a tracked link: Opened (once per mail) then Clicked, as SES's tracking reports them. */
  engage(messageId: string, link?: string): boolean {
    const t = this.tracked.get(messageId);
    if (!t) return false;
    const at = new Date().toISOString();
    const events: { eventType: string; type: string; extra: Record<string, unknown> }[] = [];
    if (!t.opened) {
      t.opened = true;
      this.stats.opens++;
      events.push({ eventType: 'Open', type: 'Email Opened', extra: { open: { timestamp: at, userAgent: 'local', ipAddress: '127.0.0.1' } } });
    }
    if (link) {
      this.stats.clicks++;
      events.push({ eventType: 'Click', type: 'Email Clicked', extra: { click: { timestamp: at, link, userAgent: 'local', ipAddress: '127.0.0.1' } } });
    }
    if (events.length) this.publish(messageId, events);
    return true;
  }

  /**
   * What SES reports after the send, on demand (`baton simulate`): a delivery, a (permanent) bounce
   * or a complaint for a mail of the local SES, with the mail's tags like every other SES event.
   * Each is reported once per mail; delivery is already reported at the send unless the mail went
   * to a bounce address of the simulator. Undefined when the local SES holds no such tracked mail.
   */
  report(messageId: string, kind: SimulatedKind): { published?: string; already?: string } | undefined {
    const t = this.tracked.get(messageId);
    if (!t) return undefined;
    const at = new Date().toISOString();
    const to = t.email.destination.to;
    const bouncedAtSend = /^(bounce|suppressionlist)$/i.test(SIMULATOR.exec(to[0] ?? '')?.[1] ?? '');
    const event =
      kind === 'delivered'
        ? { eventType: 'Delivery', type: 'Email Delivered', extra: { delivery: { timestamp: at, recipients: to, processingTimeMillis: 1, smtpResponse: '250 2.0.0 OK (local)' } } }
        : kind === 'bounced'
          ? { eventType: 'Bounce', type: 'Email Bounced', extra: { bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: to.map((emailAddress) => ({ emailAddress })), timestamp: at, feedbackId: `local-${messageId}-bounce` } } }
          : { eventType: 'Complaint', type: 'Email Complaint Received', extra: { complaint: { complainedRecipients: to.map((emailAddress) => ({ emailAddress })), timestamp: at, feedbackId: `local-${messageId}-complaint`, complaintFeedbackType: 'abuse' } } };
    const done = this.reported.get(messageId) ?? new Set<string>();
    if (done.has(kind) || (kind === 'delivered' && !bouncedAtSend)) return { already: event.type };
    done.add(kind);
    this.reported.set(messageId, done);
    this.publish(messageId, [event]);
    return { published: event.type };
  }

  /** /local/mail/<messageId> shows the mail with tracked links; /local/track/{open,click} record. */
  extension(): HttpExtension {
    return async (req, res) => {
      const [path = '', query = ''] = (req.url ?? '').split('?');
      const params = new URLSearchParams(query);
      if (req.method === 'GET' && path.startsWith('/local/mail/')) {
        const id = decodeURIComponent(path.slice('/local/mail/'.length));
        await this.poll();
        const t = this.tracked.get(id);
        if (!t) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('no tracked mail with this id in the local SES');
          return true;
        }
        // The unsubscribe link goes straight to its page, as SES leaves it untracked too.
        const html = trackLinks(t.email.body?.html ?? `<pre>${escapeHtml(t.email.body?.text ?? '')}</pre>`, (url) =>
          url.includes('/unsubscribe?') ? undefined : `/local/track/click?m=${encodeURIComponent(id)}&u=${encodeURIComponent(url)}`,
        );
        const pixel = `<img src="/local/track/open?m=${encodeURIComponent(id)}" width="1" height="1" alt="">`;
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`${html}${pixel}`);
        return true;
      }
      if (req.method === 'GET' && path === '/local/track/open') {
        this.engage(params.get('m') ?? '');
        res.writeHead(200, { 'content-type': 'image/gif' }).end(Buffer.from('R0lGODlhAQABAAAAACw=', 'base64'));
        return true;
      }
      if (req.method === 'GET' && path === '/local/track/click') {
        const link = params.get('u') ?? '';
        if (!/^https?:\/\//.test(link) || !this.engage(params.get('m') ?? '', link)) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('unknown mail or link');
          return true;
        }
        res.writeHead(302, { location: link }).end();
        return true;
      }
      if (req.method === 'POST' && path === '/local/ses/feedback') {
        // POST /local/ses/feedback?m=<SES message id>&kind=delivered|bounced|complained
        const kind = params.get('kind') ?? '';
        if (!(SIMULATED_KINDS as readonly string[]).includes(kind)) {
          sendJson(res, 400, { message: `kind must be one of ${SIMULATED_KINDS.join(', ')}` });
          return true;
        }
        await this.poll();
        const done = this.report(params.get('m') ?? '', kind as SimulatedKind);
        if (!done) sendJson(res, 404, { message: 'no tracked mail with this id in the local SES' });
        else sendJson(res, 200, done);
        return true;
      }
      return false;
    };
  }

  private publish(messageId: string, events: { eventType: string; type: string; extra: Record<string, unknown> }[]): void {
    const t = this.tracked.get(messageId)!;
    const extra = this.tags(messageId);
    const mail = {
      timestamp: new Date(t.email.at * 1000).toISOString(),
      messageId,
      source: t.email.from,
      destination: t.email.destination.to,
      tags: {
        decisionId: [t.decisionId],
        customerId: [t.customerId],
        ...(extra?.ruleId ? { ruleId: [extra.ruleId] } : {}),
        ...(extra?.campaignId ? { campaignId: [extra.campaignId] } : {}),
      },
    };
    const entries = events.map(({ eventType, type, extra: body }) => ({
      Source: 'aws.ses',
      DetailType: type,
      Detail: JSON.stringify({ eventType, mail, ...body }),
      EventBusName: 'default',
    }));
    for (let i = 0; i < entries.length; i += 10) this.bus.putEvents(entries.slice(i, i + 10), { trusted: true });
    this.stats.events += entries.length;
  }
}

/**
 * The mail's HTML with the href of every followable link (`<a>`, `<area>` to an http(s) URL)
 * replaced by what `track` answers for it (undefined leaves it). Parsed, not pattern-matched:
 * any quoting works, entities in the URL are decoded, and links inside comments, scripts and
 * styles stay as written.
 */
export function trackLinks(html: string, track: (url: string) => string | undefined): string {
  const doc = parseDocument(html);
  for (const link of DomUtils.getElementsByTagName((name) => name === 'a' || name === 'area', doc)) {
    const url = link.attribs.href?.trim() ?? '';
    const tracked = /^https?:\/\//i.test(url) ? track(url) : undefined;
    if (tracked !== undefined) link.attribs.href = tracked;
  }
  return DomUtils.getOuterHTML(doc, { encodeEntities: 'utf8' });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
