// `baton simulate <decisionId|messageId> <kind>`: the feedback a channel would report for a message
// the local stack sent, published the way the channel reports it, so every feedback path can be
// tried on a laptop:
//   e-mail  delivered, bounced, complained   the local SES reports them (POST /local/ses/feedback;
//                                             only the local stack may publish aws.ses events)
//           opened, clicked                   following the mail's pixel or a tracked link, as a reader does
//           unsubscribed                      the one-click POST of the mail's unsubscribe link (RFC 8058)
//   device  displayed, clicked                MessageDisplayed / MessageClicked, as the device agent publishes
//   sms     opted-out                         ConsentChanged (via sms-stop), as the CRM does after a STOP reply
import { Parser } from 'htmlparser2';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { publishEvents } from '../../lib/adapters/aws/publisher.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoDecisionStore, type OutboxItem } from '../../lib/adapters/dynamo/decisions.ts';
import { BUS_NAME } from '../../lib/contract/routes.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { busClient, isCloud, localBusEndpoint, report, UsageError, type CliFlags, type Printer } from '../io.ts';
import { DEFAULT_LINK, SIMULATION_KINDS, SIMULATIONS, type SimulationKind } from './simulations.ts';

export interface SimulateContext extends Printer {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
  /** The local stack's HTTP endpoint (the bus port). */
  readonly stack: string;
}

interface Target {
  readonly channel: 'email' | 'device' | 'sms';
  readonly decisionId?: string;
  readonly customerId?: string;
  /** SES message id for e-mail, device id for device messages. */
  readonly messageId?: string;
  readonly deviceId?: string;
}

interface Simulated {
  kind: SimulationKind;
  channel: string;
  decisionId?: string;
  messageId?: string;
  /** clicked: the link followed. */
  link?: string;
  /** What reached the local bus (for links followed, what the local SES publishes then). */
  published: string[];
  /** Already reported before: nothing new was published. */
  already?: string;
}

export async function simulate(ref: string, kind: string, flags: CliFlags, ctx: SimulateContext): Promise<number> {
  if (!(kind in SIMULATIONS)) throw new UsageError(`kind must be one of ${SIMULATION_KINDS.join(', ')}; got "${kind}"`);
  const k = kind as SimulationKind;
  const target = await targetOf(ref, k, typeof flags.channel === 'string' ? flags.channel : undefined, ctx);
  if (typeof target === 'string') {
    (ctx.err ?? ctx.out)(target);
    if (flags.json) ctx.out(JSON.stringify({ status: 'not-simulated', reason: target }));
    return 1;
  }
  const done = await perform(k, target, flags, ctx);
  if (typeof done === 'string') {
    (ctx.err ?? ctx.out)(done);
    if (flags.json) ctx.out(JSON.stringify({ status: 'not-simulated', reason: done }));
    return 1;
  }
  report(flags, ctx, done, (d) => [
    d.already
      ? `${d.kind}: already reported for this ${d.channel} message (${d.already}); nothing new was published`
      : `simulated ${d.kind} on the ${d.channel} message${d.decisionId ? ` of ${d.decisionId}` : ''}: ${d.published.join(', ')} on the local bus`,
  ]);
  return 0;
}

/** The message the feedback is about, or why there is none to simulate on. */
async function targetOf(ref: string, kind: SimulationKind, channel: string | undefined, ctx: SimulateContext): Promise<Target | string> {
  const allowed: readonly string[] = SIMULATIONS[kind];
  if (channel && !allowed.includes(channel)) throw new UsageError(`--channel ${channel} has no "${kind}"; "${kind}" applies to ${allowed.join(', ')}`);
  // A device message id is <decisionId>@<deviceId> (what IoT delivery is recorded as).
  const at = ref.indexOf('@');
  if (at > 0 && !ref.slice(at + 1).includes('.')) {
    if (!allowed.includes('device')) return `"${ref}" is a device message; "${kind}" applies to ${allowed.join(', ')}`;
    return { channel: 'device', decisionId: ref.slice(0, at), deviceId: ref.slice(at + 1) };
  }
  const found = await new DynamoDecisionStore(ctx.db, ctx.names.decisions).decision(ref);
  if (!found) {
    // Not a decision: an SES message id, as the local SES web UI and /local/messages show them.
    if (!allowed.includes('email')) return `no decision ${ref} (a ${allowed.join(' or ')} feedback needs the decision id)`;
    return { channel: 'email', messageId: ref };
  }
  const messages = found.messages.filter((m) => (channel ? m.channel === channel : allowed.includes(String(m.channel))));
  if (messages.length > 1) throw new UsageError(`decision ${ref} has ${messages.map((m) => m.channel).join(' and ')} messages; say which with --channel`);
  const m: OutboxItem | undefined = messages[0];
  if (!m) return `decision ${ref} has no ${channel ?? allowed.join(' or ')} message (it has ${found.messages.map((x) => x.channel).join(', ') || 'none'})`;
  const customerId = String(found.decision.customerId);
  if (m.channel === 'sms') return { channel: 'sms', decisionId: ref, customerId };
  if (m.status !== 'sent') return `the ${m.channel} message of ${ref} is ${m.status}${m.failure ? ` (${m.failure})` : ''}; only a sent message gets feedback`;
  const provider = typeof m.providerMessageId === 'string' && m.providerMessageId !== 'unknown' ? m.providerMessageId : undefined;
  if (m.channel === 'device') {
    const deviceId = provider?.includes('@') ? provider.slice(provider.indexOf('@') + 1) : undefined;
    if (!deviceId) return `the device message of ${ref} has no device id recorded`;
    return { channel: 'device', decisionId: ref, customerId, deviceId };
  }
  if (!provider) return `the email of ${ref} has no SES message id recorded`;
  return { channel: 'email', decisionId: ref, customerId, messageId: provider };
}

async function perform(kind: SimulationKind, t: Target, flags: CliFlags, ctx: SimulateContext): Promise<Simulated | string> {
  const base = { kind, channel: t.channel, ...(t.decisionId ? { decisionId: t.decisionId } : {}), ...(t.messageId ? { messageId: t.messageId } : {}) };
  const link = typeof flags.link === 'string' ? flags.link : undefined;
  if (t.channel === 'email') {
    const m = encodeURIComponent(t.messageId!);
    if (kind === 'delivered' || kind === 'bounced' || kind === 'complained') {
      const res = await fetch(`${ctx.stack}/local/ses/feedback?m=${m}&kind=${kind}`, { method: 'POST' });
      const body = (await res.json()) as { published?: string; already?: string; message?: string };
      if (!res.ok) return `the local SES refused: ${body.message ?? res.status}`;
      return { ...base, published: body.published ? [body.published] : [], ...(body.already ? { already: body.already } : {}) };
    }
    if (kind === 'opened') {
      const res = await fetch(`${ctx.stack}/local/track/open?m=${m}`);
      if (!res.ok) return `the local SES has no tracked mail ${t.messageId}`;
      return { ...base, published: ['Email Opened (the first time only)'] };
    }
    const page = await fetch(`${ctx.stack}/local/mail/${m}`);
    if (!page.ok) return `the local SES has no tracked mail ${t.messageId}`;
    const links = anchors(await page.text());
    if (kind === 'unsubscribed') {
      const url = links.find((href) => href.includes('/unsubscribe?'));
      if (!url) return `the mail shows no unsubscribe link`;
      // The one-click POST a mail client sends for List-Unsubscribe-Post (RFC 8058).
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
      if (!res.ok) return `the unsubscribe link answered ${res.status}`;
      return { ...base, published: ['ConsentChanged (email withdrawn via unsubscribe-link)'] };
    }
    // Clicked: follow a tracked link of the mail, as a reader does; a mail without one gets DEFAULT_LINK.
    const tracked = links.find((href) => href.startsWith('/local/track/click?'));
    const chosen = link || !tracked ? `/local/track/click?m=${m}&u=${encodeURIComponent(link ?? DEFAULT_LINK)}` : tracked;
    const res = await fetch(`${ctx.stack}${chosen}`, { redirect: 'manual' });
    if (res.status !== 302) return `following the link answered ${res.status}`;
    const followed = res.headers.get('location') ?? '';
    return { ...base, link: followed, published: ['Email Opened (the first time only)', `Email Clicked (${followed})`] };
  }
  const now = new Date().toISOString();
  let event: { source: string; 'detail-type': string; detail: Record<string, unknown> };
  if (t.channel === 'device') {
    event = {
      source: 'baton.device',
      'detail-type': kind === 'displayed' ? 'MessageDisplayed' : 'MessageClicked',
      detail: { ids: { deviceId: t.deviceId }, occurredAt: now, deviceId: t.deviceId, decisionId: t.decisionId, ...(kind === 'clicked' && link ? { link } : {}) },
    };
  } else {
    const profile = await new DynamoCustomerRepository<CustomerState>(ctx.db, ctx.names).load(t.customerId!);
    const id = profile?.identities[0];
    if (!id) return `customer ${t.customerId} has no external id to publish a ConsentChanged with`;
    const sep = id.indexOf('#');
    event = {
      source: 'baton.crm',
      'detail-type': 'ConsentChanged',
      detail: { ids: { [id.slice(0, sep)]: id.slice(sep + 1) }, occurredAt: now, channel: 'sms', granted: false, via: 'sms-stop' },
    };
  }
  const client = busClient({ ...flags, endpoint: ctx.stack });
  try {
    const [result] = await publishEvents(client, BUS_NAME, [event]);
    if (result?.errorCode) return `the bus refused the ${event['detail-type']}: ${result.errorCode}: ${result.errorMessage ?? ''}`;
  } finally {
    client.destroy();
  }
  return { ...base, published: [event['detail-type']] };
}

/** The href of every link in an HTML page. */
function anchors(html: string): string[] {
  const hrefs: string[] = [];
  const parser = new Parser({
    onopentag(name, attributes) {
      if (name === 'a' && attributes.href) hrefs.push(attributes.href);
    },
  });
  parser.write(html);
  parser.end();
  return hrefs;
}

/** The local stack only: in AWS, SES and the devices report feedback themselves. */
export function localStack(flags: CliFlags): string {
  if (isCloud(flags)) throw new UsageError('simulate works on the local stack only (npm start); in AWS, SES and the devices report feedback themselves');
  return flags.endpoint ?? localBusEndpoint();
}
