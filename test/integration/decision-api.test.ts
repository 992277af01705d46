// The decision API on the local stack (POST /v1/decisions on the bus port, through the real
// Lambda handler): offers with reasons under the contact policy, the offer recorded as presented,
// 4xx with a reason for bad requests, and never a 5xx for any input (fast-check).
import { describe, expect, it, beforeAll } from 'vitest';
import fc from 'fast-check';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { busClient, decisionsOf, endpoints, eventually, profileByExternalId, putRule, rulesRefreshed, unique } from '../support/local.ts';

const post = async (body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) => {
  const res = await fetch(`${endpoints().bus}/v1/decisions`, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

async function customer(consent: boolean): Promise<{ crmId: string; customerId: string }> {
  const crmId = unique('CRM');
  const at = new Date().toISOString();
  const entries = [
    { Source: 'baton.crm', DetailType: 'CustomerUpserted', Detail: JSON.stringify({ ids: { crmId }, occurredAt: at, profile: { firstName: 'Ines', tier: 'gold' } }), EventBusName: 'baton' },
    { Source: 'baton.crm', DetailType: 'ConsentChanged', Detail: JSON.stringify({ ids: { crmId }, occurredAt: at, channel: 'email', granted: consent, via: 'web-form' }), EventBusName: 'baton' },
  ];
  await busClient().send(new PutEventsCommand({ Entries: entries }));
  const p = await eventually('customer applied', async () => {
    const found = await profileByExternalId('crmId', crmId);
    return found && String(found.state).includes('web-form') ? found : undefined;
  });
  return { crmId, customerId: p.customerId as string };
}

const CHANNEL = 'call-centre';
let context: string;
let ruleId: string;

describe('decision API on the local stack', () => {
  beforeAll(async () => {
    context = unique('queue');
    ruleId = unique('api-offer');
    await putRule({
      ruleId,
      campaignId: 'api-test',
      enabled: true,
      priority: 20,
      when: { source: ['baton.api'], 'detail-type': ['OfferRequested'], detail: { channel: [CHANNEL], context: { queue: [context] } } },
      if: { tier: ['gold'] },
      then: { channel: 'email', template: 'unused', offer: 'CALL20' },
      limit: { count: 1, periodDays: 30 },
    });
    await rulesRefreshed(); // rule cache refresh (300 ms in tests)
  });

  it('answers with the offer and its reason, records it as presented, then honours the rule limit', async () => {
    // prepare
    const c = await customer(true);
    const request = { customer: { kind: 'crmId', value: c.crmId }, channel: CHANNEL, context: { queue: context } };

    // act
    const first = await post(request);

    // assess
    expect(first.status).toBe(200);
    expect(first.body.customerId).toBe(c.customerId);
    expect(first.body.offers).toEqual([expect.objectContaining({ ruleId, offer: 'CALL20', channel: 'email', reason: expect.stringContaining('ranked highest') })]);
    expect(first.body.candidates).toEqual([expect.objectContaining({ ruleId, outcome: 'chosen' })]);
    const stored = await eventually('the decision stored', async () => {
      const d = (await decisionsOf(c.customerId)).find((x) => x.sk === 'DECISION');
      return d;
    });
    expect(stored.decisionId).toBe(first.body.decisionId);
    expect(stored.eventType).toBe('baton.api/OfferRequested');
    expect((await decisionsOf(c.customerId)).filter((x) => String(x.sk).startsWith('MSG#'))).toEqual([]); // nothing to dispatch

    const second = await post(request);
    expect(second.status).toBe(200);
    expect(second.body.offers).toEqual([]);
    expect(second.body.candidates).toEqual([expect.objectContaining({ ruleId, outcome: 'rule-limit', reason: expect.stringContaining('at most 1 per customer in 30 days') })]);
  });

  it('offers nothing without consent, and says why', async () => {
    const c = await customer(false);
    const res = await post({ customer: { kind: 'crmId', value: c.crmId }, channel: CHANNEL, context: { queue: context } });
    expect(res.status).toBe(200);
    expect(res.body.offers).toEqual([]);
    expect(res.body.candidates).toEqual([expect.objectContaining({ outcome: 'no-consent', reason: 'no consent for email' })]);
  });

  it('answers a repeated requestId with the same decision, and refuses its reuse for another request', async () => {
    const c = await customer(true);
    const requestId = unique('req');
    const request = { customer: { kind: 'crmId', value: c.crmId }, channel: CHANNEL, context: { queue: context }, requestId };
    const first = await post(request);
    const again = await post(request);
    expect(again.status).toBe(200);
    expect(again.body.decisionId).toBe(first.body.decisionId);
    expect(again.body.offers.map((o: { ruleId: string }) => o.ruleId)).toEqual([ruleId]);
    const other = await customer(true);
    const reused = await post({ ...request, customer: { kind: 'crmId', value: other.crmId } });
    expect(reused).toEqual({ status: 409, body: { code: 'request-id-reused', reason: expect.stringContaining('new requestId') } });
  });

  it('refuses a requestId reused for a request no rule matches (409), and answers the same request again', async () => {
    const c = await customer(true);
    const requestId = unique('req');
    const matched = await post({ customer: { kind: 'crmId', value: c.crmId }, channel: CHANNEL, context: { queue: context }, requestId });
    expect(matched.status).toBe(200);
    expect(matched.body.offers.map((o: { ruleId: string }) => o.ruleId)).toEqual([ruleId]);
    const unmatched = { customer: { kind: 'crmId', value: c.crmId }, channel: 'kiosk', context: { queue: unique('no-rule') }, requestId };
    expect(await post(unmatched)).toEqual({ status: 409, body: { code: 'request-id-reused', reason: expect.stringContaining('new requestId') } });

    // The other way round: a request no rule matches holds its requestId too.
    const other = unique('req');
    const first = await post({ ...unmatched, requestId: other });
    expect(first).toEqual({ status: 200, body: { decisionId: null, customerId: c.customerId, offers: [], candidates: [] } });
    expect(await post({ ...unmatched, requestId: other })).toEqual(first);
    const reused = await post({ customer: { kind: 'crmId', value: c.crmId }, channel: CHANNEL, context: { queue: context }, requestId: other });
    expect(reused).toEqual({ status: 409, body: { code: 'request-id-reused', reason: expect.stringContaining('new requestId') } });
  });

  it.each([
    ['not JSON', '{"customer": ', 400, 'invalid-json', 'not JSON'],
    ['no customer', { channel: 'web' }, 400, 'invalid-request', 'customer:'],
    ['an unknown id kind', { customer: { kind: 'passport', value: 'X' }, channel: 'web' }, 400, 'invalid-request', 'customer.kind'],
    ['an unknown channel', { customer: { kind: 'crmId', value: 'X' }, channel: 'fax' }, 400, 'invalid-request', 'channel'],
    ['an extra field', { customer: { kind: 'crmId', value: 'X' }, channel: 'web', admin: true }, 400, 'invalid-request', 'admin'],
    ['an unknown customer', { customer: { kind: 'crmId', value: 'nobody-at-all' }, channel: 'web' }, 404, 'unknown-customer', 'crmId'],
  ])('refuses %s with a 4xx and a reason', async (_name, body, status, code, mentions) => {
    const res = await post(body);
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.body.reason).toContain(mentions);
  });

  it('refuses wrong methods, media types and oversized bodies with a 4xx', async () => {
    const get = await fetch(`${endpoints().bus}/v1/decisions`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await post('{}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await post(JSON.stringify({ pad: 'x'.repeat(10_000) }))).status).toBe(413);
  });

  it.each([
    ['over the API limit', 10_000],
    ["over the local bus's own limit", 600 * 1024],
    ["over API Gateway's payload limit", 11 * 1024 * 1024],
  ])('refuses a body %s with the one 413 problem shape', async (_name, bytes) => {
    const res = await post(JSON.stringify({ customer: { kind: 'crmId', value: 'X' }, channel: 'web', context: { pad: 'x'.repeat(bytes) } }));
    expect(res).toEqual({ status: 413, body: { code: 'too-large', reason: expect.stringContaining('request body is over') } });
  });

  it('never answers 5xx, whatever the body (fuzz)', async () => {
    const value = fc.oneof(
      fc.json(),
      fc.string(),
      fc.record({
        customer: fc.oneof(fc.anything(), fc.record({ kind: fc.constantFrom('crmId', 'email', 'deviceId', '__proto__'), value: fc.string() })),
        channel: fc.oneof(fc.constantFrom('web', 'pos', 'call-centre'), fc.string()),
        context: fc.oneof(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.double(), fc.boolean(), fc.object())), fc.anything()),
        requestId: fc.oneof(fc.string(), fc.constant(undefined)),
      }),
    );
    await fc.assert(
      fc.asyncProperty(value, async (v) => {
        const res = await fetch(`${endpoints().bus}/v1/decisions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: typeof v === 'string' ? v : JSON.stringify(v) ?? 'null',
        });
        expect(res.status, await res.text()).toBeLessThan(500);
      }),
      { numRuns: 80 },
    );
  });
});
