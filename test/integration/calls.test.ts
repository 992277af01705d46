// The `call` channel on the local stack (docs/channels.md, "Calls"): a VIP's complaint books a call
// with customer service while the team reports agents free, is deferred while it reports none, and
// the call's outcome (CallCompleted) comes back so the next decision's `if` sees it.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { busClient, db, decisionsOf, endpoints, eventually, profileByExternalId, putRule, putTemplate, rulesRefreshed, tables, unique } from '../support/local.ts';

const send = (source: string, detailType: string, detail: unknown) =>
  busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));

interface Candidate {
  ruleId: string;
  outcome: string;
  reason: string;
  notBefore?: string;
}

describe('the call channel on the local stack', { timeout: 120_000 }, () => {
  it("books a VIP's complaint with customer service while agents are free, defers it while none are, and reads the call's outcome", async () => {
    const crmId = unique('CRM');
    const team = unique('service');
    const campaignId = unique('service-calls');
    const policyId = unique('calls');
    const ruleId = unique('vip-complaint');
    const followUp = `${ruleId}-after-no-answer`;

    // Its own campaign and policy: other tests' default policy (quiet hours) does not reach it.
    await db().send(new PutCommand({ TableName: tables().campaigns, Item: { pk: `POLICY#${policyId}`, sk: 'CURRENT', version: 1, policyId, caps: { call: { perDay: 5 } } } }));
    await db().send(new PutCommand({ TableName: tables().campaigns, Item: { pk: `CAMPAIGN#${campaignId}`, sk: 'CURRENT', version: 1, campaignId, enabled: true, priority: 10, policyId } }));
    await putTemplate({ templateId: ruleId, channel: 'call', locale: 'en', text: '{{ customer.firstName }} ({{ customer.tier }}) opened a complaint. Apologise; offer {{ offer }}.' });
    const complaint = { source: ['baton.crm'], 'detail-type': ['CaseOpened'], detail: { sentiment: ['negative'] } };
    await putRule({ ruleId, campaignId, enabled: true, priority: 50, when: complaint, if: { tier: ['vip'] }, then: { channel: 'call', team, template: ruleId, offer: 'GOODWILL-20' } });
    // Reads the last call's outcome: matches only once the customer did not answer.
    await putRule({ ruleId: followUp, campaignId, enabled: true, priority: 10, when: complaint, if: { lastCallOutcome: ['no-answer'] }, then: { channel: 'bus', action: 'send-sorry-letter' } });

    const now = () => new Date().toISOString();
    await send('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: now(), profile: { firstName: 'Vera', tier: 'vip', phone: '+4915112345678', locale: 'en' } });
    await send('baton.crm', 'ConsentChanged', { ids: { crmId }, occurredAt: now(), channel: 'call', granted: true, via: 'call-centre' });
    await send('baton.crm', 'CallCentreLoadReported', { occurredAt: now(), team, agentsFree: 2, queueLength: 1 });
    const customerId = await eventually('the consent to be called', async () => {
      const p = await profileByExternalId('crmId', crmId);
      return JSON.stringify(p?.state ?? {}).includes('call-centre') ? (p!.customerId as string) : undefined;
    });
    const complain = () => send('baton.crm', 'CaseOpened', { ids: { crmId }, occurredAt: now(), caseId: unique('CASE'), category: 'billing', sentiment: 'negative' });
    const decision = async (n: number) =>
      eventually(`decision ${n}`, async () => {
        const all = (await decisionsOf(customerId)).filter((d) => d.sk === 'DECISION').sort((a, b) => String(a.at).localeCompare(String(b.at)));
        return all.length >= n ? all[n - 1]! : undefined;
      });
    const byRule = (d: Record<string, unknown>) => Object.fromEntries((d.candidates as Candidate[]).map((c) => [c.ruleId, c]));

    // Agents free: the call is booked and the team's call list gets the entry, with the brief.
    await rulesRefreshed();
    await complain();
    const first = await decision(1);
    expect(byRule(first)[ruleId]!.outcome).toBe('chosen');
    expect(byRule(first)[followUp]!.outcome).toBe('customer-not-matched');
    const entry = await eventually('the call-list entry', async () => {
      const res = await fetch(`${endpoints().bus}/local/messages?channel=call&customer=${customerId}`);
      const { messages } = (await res.json()) as { messages: Record<string, unknown>[] };
      return messages[0];
    });
    expect(entry).toMatchObject({ to: `team:${team}`, decisionId: first.decisionId, ruleId, text: 'Vera (vip) opened a complaint. Apologise; offer GOODWILL-20.' });

    // The call centre reports the call: nobody answered. The outbox message and the profile know it.
    await send('baton.crm', 'CallCompleted', { ids: { crmId }, occurredAt: now(), decisionId: first.decisionId, team, outcome: 'no-answer' });
    const state = await eventually('the call outcome on the profile', async () => {
      const p = await profileByExternalId('crmId', crmId);
      const raw = p?.state;
      const custom = ((typeof raw === 'string' ? JSON.parse(raw) : raw) as { custom?: Record<string, { v: unknown }> } | undefined)?.custom;
      return custom?.lastCallOutcome ? custom : undefined;
    });
    expect(state.lastCallOutcome!.v).toBe('no-answer');
    expect(state.lastCallTeam!.v).toBe(team);
    const called = await eventually('calledAt on the call message', async () => {
      const msg = (await decisionsOf(customerId)).find((d) => d.decisionId === first.decisionId && d.sk === 'MSG#call');
      return typeof msg?.calledAt === 'string' ? msg : undefined;
    });
    expect(called.status).toBe('sent');

    // No agent free: the next complaint's call is deferred by the rule's retry time (30 minutes by
    // default), and the next decision sees the last call's outcome.
    await send('baton.crm', 'CallCentreLoadReported', { occurredAt: now(), team, agentsFree: 0, queueLength: 12 });
    await rulesRefreshed();
    await complain();
    const second = byRule(await decision(2));
    expect(second[ruleId]).toMatchObject({ outcome: 'deferred' });
    expect(second[ruleId]!.reason).toContain(`team ${team} reports no agent free`);
    expect(Date.parse(second[ruleId]!.notBefore!) - Date.now()).toBeGreaterThan(20 * 60_000);
    expect(second[followUp]!.outcome).toBe('chosen');
  });

  it('quarantines an invalid call outcome with the field named', async () => {
    const crmId = unique('BADCALL');
    await send('baton.crm', 'CallCompleted', { ids: { crmId }, occurredAt: new Date().toISOString(), decisionId: 'dec-x', team: 'customer-service', outcome: 'hung-up-angrily' });
    const { quarantined } = await import('../support/local.ts');
    const entry = await eventually('the quarantined call report', async () => (await quarantined()).find((q) => String(q.body).includes(crmId)));
    expect(entry.reason).toContain('detail.outcome');
  });
});
