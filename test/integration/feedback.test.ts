// Feedback on the local stack: SES events (the local stack plays SES's event destination and its
// mailbox simulator) update the contact history and the outbox message; a complaint withdraws
// email consent so no further email goes out; tracked links emit opens and clicks; the one-click
// unsubscribe (RFC 8058) withdraws consent through the bus.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DomUtils, parseDocument } from 'htmlparser2';
import { busClient, db, decisionsOf, emailsTo, endpoints, eventually, pipelineQuiet, profileByExternalId, putRule, putTemplate, rulesRefreshed, tables, unique } from '../support/local.ts';

type Entry = [source: string, detailType: string, detail: unknown];
async function send(...entries: Entry[]): Promise<void> {
  const out = await busClient().send(
    new PutEventsCommand({ Entries: entries.map(([Source, DetailType, detail]) => ({ Source, DetailType, Detail: JSON.stringify(detail), EventBusName: 'baton' })) }),
  );
  expect(out.FailedEntryCount).toBe(0);
}
const sale = (crmId: string, storeId: string): Entry => [
  'baton.pos',
  'SaleCompleted',
  { ids: { crmId }, occurredAt: new Date().toISOString(), saleId: unique('S'), storeId, items: [{ sku: 'X', category: 'c', quantity: 1, unitPrice: 9 }], total: 9, currency: 'EUR' },
];

/** A customer with email consent and a rule that e-mails them on a sale in their own store. */
const OFFER_HTML = '<p>Hi {{ customer.firstName }}, see <a href="https://shop.example.com/offer?c={{ offer }}">the offer</a> or <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>';
async function emailedCustomer(address: string, html = OFFER_HTML) {
  const crmId = unique('CRM');
  const store = unique('fb-store');
  await putTemplate({
    templateId: store,
    channel: 'email',
    locale: 'en',
    subject: 'Offer for {{ customer.firstName }}',
    html,
    text: 'Hi {{ customer.firstName }}: {{ offer }}',
  });
  await putRule({
    ruleId: store,
    campaignId: 'feedback-test',
    enabled: true,
    priority: 10,
    when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [store] } },
    then: { channel: 'email', template: store, offer: 'FB10' },
  });
  const at = new Date().toISOString();
  await send(
    ['baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: at, profile: { firstName: 'Fay', email: address, locale: 'en' } }],
    ['baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' }],
  );
  const profile = await eventually('consent applied', async () => {
    const p = await profileByExternalId('crmId', crmId);
    return JSON.stringify(p?.state ?? {}).includes('web-form') ? p : undefined;
  });
  await rulesRefreshed();
  return { crmId, store, customerId: profile.customerId as string };
}

/** The stored state (JSON text in the profile item). */
const state = async (crmId: string): Promise<Record<string, any>> => {
  const raw = (await profileByExternalId('crmId', crmId))?.state;
  return typeof raw === 'string' ? JSON.parse(raw) : ((raw ?? {}) as Record<string, any>);
};
const message = async (customerId: string) => (await decisionsOf(customerId)).filter((d) => d.sk === 'MSG#email');

// Each wait lasts as long as the stack makes progress (test/support/local.ts): on a busy machine a test takes longer, it does not fail.
describe('feedback on the local stack', { timeout: 600_000 }, () => {
  it('a complaint is recorded on the contact and the message, withdraws email consent, and stops further email', async () => {
    // prepare
    const address = `complaint+${unique('c')}@simulator.amazonses.com`;
    const c = await emailedCustomer(address);

    // act: the first sale e-mails; SES reports sent, delivered and the complaint
    await send(sale(c.crmId, c.store));
    const complained = await eventually('the complaint applied', async () => {
      const s = await state(c.crmId);
      return s.consent?.email?.v === false ? s : undefined;
    });

    // assess: the contact history and the outbox message carry the feedback
    expect(complained.consent.email.via).toBe('complaint');
    const [contact] = complained.contacts.filter((x: any) => x.channel === 'email' && x.complainedAt);
    expect(contact.sentAt).toBeDefined();
    expect(contact.deliveredAt).toBeDefined();
    expect(complained.counters.complaints).toBe(1);
    const [first] = await eventually('feedback on the message', async () => {
      const m = await message(c.customerId);
      return m.length === 1 && m[0]!.complainedAt && m[0]!.deliveredAt ? m : undefined;
    });
    expect(first!.status).toBe('sent');

    // act again: a second sale for the same rule
    await send(sale(c.crmId, c.store));
    const decision = await eventually('the second decision', async () => {
      const all = (await decisionsOf(c.customerId)).filter((d) => d.sk === 'DECISION');
      return all.length === 2 ? all : undefined;
    });
    const outcomes = decision.flatMap((d) => (d.candidates as { outcome: string }[]).map((x) => x.outcome)).sort();
    expect(outcomes).toEqual(['chosen', 'no-consent']);
    await pipelineQuiet(); // a second email would have been sent by now
    expect(await emailsTo(address)).toHaveLength(1);
    expect(await message(c.customerId)).toHaveLength(1);
  });

  it('a hard bounce withdraws consent and counts in the deliverability counters', async () => {
    const address = `bounce+${unique('b')}@simulator.amazonses.com`;
    const c = await emailedCustomer(address);
    await send(sale(c.crmId, c.store));
    const bounced = await eventually('the bounce applied', async () => {
      const s = await state(c.crmId);
      return s.consent?.email?.v === false ? s : undefined;
    });
    expect(bounced.consent.email.via).toBe('bounce');
    expect(bounced.contacts.find((x: any) => x.channel === 'email').permanent).toBe(true);
    const [m] = await eventually('bounce on the message', async () => {
      const all = await message(c.customerId);
      return all[0]?.bouncedAt ? all : undefined;
    });
    expect(m!.bounceType).toBe('Permanent');
    const day = new Date().toISOString().slice(0, 10);
    const counts = await db().send(new GetCommand({ TableName: tables().counters, Key: { pk: 'DELIVERABILITY#email', sk: `D#${day}` }, ConsistentRead: true }));
    expect(counts.Item?.sent).toBeGreaterThanOrEqual(1);
    expect(counts.Item?.bounces).toBeGreaterThanOrEqual(1);
  });

  it('following a tracked link emits Email Opened and Email Clicked into the contact history', async () => {
    const address = `${unique('open')}@example.com`;
    const c = await emailedCustomer(address);
    await send(sale(c.crmId, c.store));
    const [mail] = await eventually('the mail', async () => {
      const m = await emailsTo(address);
      return m.length ? m : undefined;
    });
    const page = await eventually('the tracked mail page', async () => {
      const res = await fetch(`${endpoints().bus}/local/mail/${encodeURIComponent(mail!.messageId)}`);
      return res.ok ? res.text() : undefined;
    });
    const tracked = /href="(\/local\/track\/click[^"]+)"/.exec(page)?.[1];
    expect(tracked).toBeDefined();
    expect(page).toContain('/unsubscribe?t='); // the unsubscribe link is not tracked
    const res = await fetch(`${endpoints().bus}${tracked!.replace(/&amp;/g, '&')}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example.com/offer?c=FB10');
    const s = await eventually('open and click applied', async () => {
      const st = await state(c.crmId);
      return st.counters?.clicks === 1 ? st : undefined;
    });
    expect(s.counters.opens).toBe(1);
    const contact = s.contacts.find((x: any) => x.channel === 'email');
    expect(contact.openedAt).toBeDefined();
    expect(contact.clickedAt).toBeDefined();
    const [m] = await eventually('click on the message', async () => {
      const all = await message(c.customerId);
      return all[0]?.clickedAt ? all : undefined;
    });
    expect(m!.openedAt).toBeDefined();
  });

  it('tracks links however their href is quoted, and leaves the unsubscribe link and links in comments and scripts alone', async () => {
    const address = `${unique('quotes')}@example.com`;
    const html = [
      "<p>Hi {{ customer.firstName }}: <a href='https://shop.example.com/single?c={{ offer }}'>single</a>",
      '<a class="x" href="https://shop.example.com/double?c={{ offer }}&amp;n=2">double</a>',
      '<a href=https://shop.example.com/unquoted>unquoted</a></p>',
      '<!-- <a href="https://shop.example.com/commented">old offer</a> -->',
      '<script>var link = \'<a href="https://shop.example.com/scripted">\';</script>',
      "<a href='{{ unsubscribeUrl }}'>unsubscribe</a>",
    ].join('\n');
    const c = await emailedCustomer(address, html);
    await send(sale(c.crmId, c.store));
    const [mail] = await eventually('the mail', async () => {
      const m = await emailsTo(address);
      return m.length ? m : undefined;
    });
    const page = await eventually('the tracked mail page', async () => {
      const res = await fetch(`${endpoints().bus}/local/mail/${encodeURIComponent(mail!.messageId)}`);
      return res.ok ? res.text() : undefined;
    });

    const hrefs = DomUtils.getElementsByTagName('a', parseDocument(page)).map((a) => a.attribs.href ?? '');
    const clicks = hrefs.filter((h) => h.startsWith('/local/track/click?'));
    expect(clicks.map((h) => new URLSearchParams(h.split('?')[1]).get('u'))).toEqual([
      'https://shop.example.com/single?c=FB10',
      'https://shop.example.com/double?c=FB10&n=2',
      'https://shop.example.com/unquoted',
    ]);
    expect(hrefs.filter((h) => !h.startsWith('/local/track/')).map((h) => h.split('?')[0])).toEqual([`${endpoints().bus}/unsubscribe`]);
    expect(page).toContain('<!-- <a href="https://shop.example.com/commented">old offer</a> -->');
    expect(page).toContain('<script>var link = \'<a href="https://shop.example.com/scripted">\';</script>');
    const res = await fetch(`${endpoints().bus}${clicks[0]!}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://shop.example.com/single?c=FB10');
  });

  it('/local/events lists each SES event of a mail once, with its own id', async () => {
    const address = `${unique('listed')}@example.com`;
    const c = await emailedCustomer(address);
    await send(sale(c.crmId, c.store));
    const [mail] = await eventually('the mail', async () => {
      const m = await emailsTo(address);
      return m.length ? m : undefined;
    });
    type Listed = { id: string; source: string; 'detail-type': string; detail: { mail?: { messageId?: string } } };
    const ses = await eventually('Email Sent and Email Delivered on the bus', async () => {
      const { events } = (await (await fetch(`${endpoints().bus}/local/events`)).json()) as { events: Listed[] };
      const mine = events.filter((e) => e.source === 'aws.ses' && e.detail.mail?.messageId === mail!.messageId);
      return mine.some((e) => e['detail-type'] === 'Email Delivered') ? mine : undefined;
    });
    expect(ses.map((e) => e['detail-type']).sort()).toEqual(['Email Delivered', 'Email Sent']);
    expect(new Set(ses.map((e) => e.id)).size).toBe(2);
  });

  it('one-click unsubscribe (RFC 8058) from the List-Unsubscribe header withdraws consent via unsubscribe-link', async () => {
    const address = `${unique('unsub')}@example.com`;
    const c = await emailedCustomer(address);
    await send(sale(c.crmId, c.store));
    const [mail] = await eventually('the mail', async () => {
      const m = await emailsTo(address);
      return m.length ? m : undefined;
    });
    const url = /<([^>]+)>/.exec(mail!.headers!.find((h) => h.name === 'List-Unsubscribe')!.value)![1]!;
    const confirm = await fetch(url);
    expect(confirm.status).toBe(200);
    expect(await confirm.text()).toContain('<form method="post"');
    expect((await state(c.crmId)).consent.email.v).toBe(true); // GET alone changes nothing
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' });
    expect(res.status).toBe(200);
    const s = await eventually('consent withdrawn', async () => {
      const st = await state(c.crmId);
      return st.consent.email.v === false ? st : undefined;
    });
    expect(s.consent.email.via).toBe('unsubscribe-link');
    const forged = await fetch(url.replace(/t=[^.]+/, 't=eyJ4Ijoi'), { method: 'POST', body: 'List-Unsubscribe=One-Click' });
    expect(forged.status).toBe(400);
  });
});
