// The live summary on a local stack of its own (the shared one counts every other test's events
// too): a known mix of events, rules and failures, and the figures GET /local/stats carries, the
// line `npm start` prints, and a dead letter reported as it happens with its code and ids only.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { startLocalStack, type LocalStack } from '../../local/stack.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { endpoints, putRule, putTemplate, type StackTables } from '../support/local.ts';
import { capture } from '../support/capture.ts';

const EMAIL = 'ilse.summary@example.com';
const PHONE = '+4915550001234';
const FIRST = 'Ilsemarie';

let stack: LocalStack;
let to: StackTables;
beforeAll(async () => {
  process.env.BATON_RULES_REFRESH_MS = '300';
  stack = await startLocalStack({ busPort: 0, dynamodbEndpoint: endpoints().dynamodb, sesPort: 0, stage: 'summary' });
  to = { db: documentClient({ endpoint: stack.endpoints.dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }), tables: stack.tables };
}, 300_000);
afterAll(async () => {
  to?.db.destroy();
  await stack?.stop();
}, 300_000);

const sale = (storeId: string) => ({
  ids: { crmId: 'CRM-SUM-1' },
  occurredAt: new Date().toISOString(),
  saleId: `S-${storeId}`,
  storeId,
  items: [{ sku: 'X', category: 'c', quantity: 1, unitPrice: 9 }],
  total: 9,
  currency: 'EUR',
});

describe('live summary', () => {
  it('counts a known mix of events, decisions, messages per channel, quarantine, dead letters and skipped rules', { timeout: 600_000 }, async () => {
    // prepare: one rule per channel outcome, one rule naming a template that does not exist, one invalid rule
    await putTemplate({ templateId: 'sum-email', channel: 'email', locale: 'en', subject: 'Hi {{ customer.firstName }}', html: '<p>Hi {{ customer.firstName }} <a href="{{ unsubscribeUrl }}">unsubscribe</a></p>', text: 'Hi' }, to);
    await putTemplate({ templateId: 'sum-sms', channel: 'sms', locale: 'en', text: 'Hi {{ customer.firstName }}' }, to);
    const rule = (ruleId: string, then: Record<string, unknown>) =>
      putRule({ ruleId, campaignId: 'summary', enabled: true, priority: 10, when: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [ruleId] } }, then }, to);
    await rule('to-email', { channel: 'email', template: 'sum-email', offer: 'O1' });
    await rule('to-sms', { channel: 'sms', template: 'sum-sms', offer: 'O2' });
    await rule('to-bus', { channel: 'bus', action: 'add-to-call-list', payload: { list: 'summary' } });
    await rule('to-nowhere', { channel: 'email', template: 'no-such-template', offer: 'O3' });
    await putRule({ ruleId: 'broken', campaignId: 'summary', enabled: true, priority: 10, when: { source: 'baton.pos' }, then: { channel: 'email', template: 'sum-email' } }, to);
    const written: string[] = [];
    const stopReport = stack.summary.report({ write: (text) => written.push(text) }, { checkMs: 50 });
    const bus = new EventBridgeClient({ endpoint: stack.endpoints.bus, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
    const put = async (entries: [string, string, unknown][]) => {
      const out = await bus.send(new PutEventsCommand({ Entries: entries.map(([Source, DetailType, detail]) => ({ Source, DetailType, Detail: JSON.stringify(detail), EventBusName: 'baton' })) }));
      expect(out.FailedEntryCount).toBe(0);
    };

    // act: 3 events set the customer up; 4 sales each match one rule; 2 bad events. What the
    // handlers log (the skipped rule) is kept from the terminal.
    const at = new Date().toISOString();
    const { lines } = await capture(async () => {
      await put([
        ['baton.crm', 'CustomerUpserted', { ids: { crmId: 'CRM-SUM-1' }, occurredAt: at, profile: { firstName: FIRST, email: EMAIL, phone: PHONE, locale: 'en' } }],
        ['baton.crm', 'ConsentChanged', { ids: { crmId: 'CRM-SUM-1' }, occurredAt: at, channel: 'email', granted: true, via: 'web-form' }],
        ['baton.crm', 'ConsentChanged', { ids: { crmId: 'CRM-SUM-1' }, occurredAt: at, channel: 'sms', granted: true, via: 'web-form' }],
      ]);
      await stack.settled(300_000);
      await put([
        ['baton.pos', 'SaleCompleted', sale('to-email')],
        ['baton.pos', 'SaleCompleted', sale('to-sms')],
        ['baton.pos', 'SaleCompleted', sale('to-bus')],
        ['baton.pos', 'SaleCompleted', sale('to-nowhere')],
        ['baton.pos', 'SaleCompleted', { ...sale('x'), items: [], total: -1, currency: 'euro' }],
        ['baton.crm', 'CustomerMoved', { ids: { crmId: 'CRM-SUM-1' }, occurredAt: at }],
      ]);
      await stack.settled(300_000);
    });
    const stats = (await (await fetch(`${stack.endpoints.bus}/local/stats`)).json()) as { summary: unknown };
    stopReport();
    bus.destroy();

    // assess: 9 events from source systems, Sent + Delivered for the one email, the bus action
    expect(stats.summary).toEqual({
      events: 12,
      eventsFrom: { sourceSystems: 9, sesFeedback: 2, batonActions: 1 },
      decisions: 4,
      messages: { email: 1, sms: 1, bus: 1 },
      quarantined: 2,
      deadLetters: 1,
      skippedRules: 1,
    });
    expect(stack.summary.line()).toBe('events in 12 · decisions 4 · messages sent: bus 1, email 1, sms 1 · quarantined 2 · dead letters 1 · skipped rules 1');
    // The dead letter was reported as it happened: its code and ids, nothing about the customer.
    const [failure] = stack.sendFailures;
    expect(failure?.code).toBe('no-template');
    const deadLines = written.join('').split('\n').filter((l) => l.startsWith('dead letter'));
    expect(deadLines).toEqual([`dead letter: no-template · email message of decision ${failure!.decisionId}`]);
    expect(lines.filter((l) => l.includes('"message":"rule skipped"')).map((l) => (JSON.parse(l) as { ruleId: string }).ruleId)).toEqual(['broken']);
    for (const secret of [EMAIL, PHONE, FIRST]) expect([...written, ...lines].join('')).not.toContain(secret);
  });
});
