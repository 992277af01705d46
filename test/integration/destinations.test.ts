// Destinations on the local stack (docs/destinations.md): a bus action naming a CRM destination
// reaches the webhook stand-in with the templated payload and only the fields the template names; a
// destination answering 500 is retried by its retry policy and then dead-lettered; a 4xx is not
// retried. Invalid destination items are refused at write with the field named.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { busClient, db, decisionsOf, endpoints, eventually, profileByExternalId, putRule, rulesRefreshed, tables, unique } from '../support/local.ts';
import { DynamoDestinationRepository } from '../../lib/adapters/dynamo/destinations.ts';

const send = (source: string, detailType: string, detail: unknown) =>
  busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));
const local = async <T>(path: string, init?: RequestInit): Promise<T> => (await (await fetch(`${endpoints().bus}${path}`, init)).json()) as T;
interface Call {
  path: string;
  body: Record<string, unknown>;
  headers: string[];
}
interface DeadLetter {
  destinationId: string;
  decisionId: string;
  status: number;
  attempts: number;
  reason: string;
}

describe('destinations on the local stack', { timeout: 120_000 }, () => {
  const repo = () => new DynamoDestinationRepository(db(), tables().templates);
  const destination = (destinationId: string, path: string, maximumAttempts: number) => ({
    destinationId,
    url: `${endpoints().bus}/local/webhooks${path}`,
    auth: { kind: 'api-key', header: 'x-api-key', secretName: 'baton/crm-api-key' },
    rateLimitPerSecond: 10,
    retry: { maximumAttempts, maximumEventAgeSeconds: 600 },
    payload: '{"contact": {{ decision.payload.contact | json }}, "tier": {{ customer.tier | json }}, "segment": {{ decision.action | json }}, "ref": {{ decision.decisionId | json }}}',
  });

  it('delivers the templated payload; retries a 500 then dead-letters it; does not retry a 404', async () => {
    const crmId = unique('CRM');
    const store = unique('store');
    const [ok, failing, refusing] = [unique('crm'), unique('loader'), unique('hook')];
    const paths = { [ok]: `/crm/${ok}`, [failing]: `/warehouse/${failing}`, [refusing]: `/hook/${refusing}` };
    for (const [id, retries] of [[ok, 2], [failing, 2], [refusing, 2]] as const) await repo().put(destination(id, paths[id]!, retries), 'test');
    await local('/local/webhooks-answers', { method: 'PUT', body: JSON.stringify({ path: paths[failing], status: 500 }) });
    await local('/local/webhooks-answers', { method: 'PUT', body: JSON.stringify({ path: paths[refusing], status: 404 }) });
    // One bus action per event: a sale in each store goes to one destination.
    for (const id of [ok, failing, refusing]) {
      const when = { source: ['baton.pos'], 'detail-type': ['SaleCompleted'], detail: { storeId: [`${store}-${id}`] } };
      await putRule({ ruleId: id, campaignId: 'crm-sync', enabled: true, priority: 10, when, then: { channel: 'bus', action: 'vip-buyer', destination: id, payload: { contact: 'update' } } });
    }
    await send('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: new Date().toISOString(), profile: { firstName: 'Olga', email: `${crmId.toLowerCase()}@example.com`, tier: 'gold' } });
    const customerId = await eventually('the profile', async () => (await profileByExternalId('crmId', crmId))?.customerId as string | undefined);
    await rulesRefreshed();
    for (const id of [ok, failing, refusing]) {
      await send('baton.pos', 'SaleCompleted', {
        ids: { crmId },
        occurredAt: new Date().toISOString(),
        saleId: unique('S'),
        storeId: `${store}-${id}`,
        items: [{ sku: 'PHONE-X', category: 'hardware', quantity: 1, unitPrice: 499 }],
        total: 499,
        currency: 'EUR',
      });
    }

    const callsTo = async (path: string) => (await local<{ calls: Call[] }>('/local/webhooks')).calls.filter((c) => c.path === path);
    const [delivered] = await eventually('the CRM call', async () => ((await callsTo(paths[ok]!)).length ? callsTo(paths[ok]!) : undefined));
    const decisionOf = async (ruleId: string) => (await decisionsOf(customerId)).find((d) => d.sk === 'MSG#bus' && d.ruleId === ruleId)!;
    const decision = await decisionOf(ok);
    // Only what the template names: no name, no e-mail address.
    expect(delivered!.body).toEqual({ contact: 'update', tier: 'gold', segment: 'vip-buyer', ref: decision.decisionId });
    expect(delivered!.headers).toContain('x-api-key');

    const letters = await eventually('both dead letters', async () => {
      const all = (await local<{ deadLetters: DeadLetter[] }>('/local/destinations/dead-letters')).deadLetters.filter((d) => d.destinationId === failing || d.destinationId === refusing);
      return all.length === 2 ? all : undefined;
    });
    // 500: the first attempt and the policy's two retries; 404: one attempt, not retried.
    expect(letters.find((d) => d.destinationId === failing)).toMatchObject({ status: 500, attempts: 3, decisionId: (await decisionOf(failing)).decisionId });
    expect(letters.find((d) => d.destinationId === refusing)).toMatchObject({ status: 404, attempts: 1 });
    expect(letters.find((d) => d.destinationId === refusing)!.reason).toContain('not retried');
    expect(await callsTo(paths[failing]!)).toHaveLength(3);
    expect(await callsTo(paths[refusing]!)).toHaveLength(1);

    // The outcome is feedback on the outbox message.
    const outcomes = await eventually('the delivery outcomes on the outbox', async () => {
      const [d, f] = [await decisionOf(ok), await decisionOf(refusing)];
      return d?.deliveredAt && f?.failedAt ? { delivered: d, failed: f } : undefined;
    });
    expect(outcomes.delivered.failedAt).toBeUndefined();
    expect(outcomes.failed.deliveredAt).toBeUndefined();
  });

  it('refuses an invalid destination at write, naming each field and never its value', async () => {
    const bad = { destinationId: 'crm-bad', url: 'http://crm.example.com/contacts', auth: { kind: 'api-key', header: 'x-api-key', secretName: 'sk_live 123 secret!' }, rateLimitPerSecond: 1000, payload: '{"name": {{ customer.firstName }}' };
    const err = await repo().put(bad, 'test').then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/url: an https:\/\/ URL/);
    expect(err?.message).toContain('auth.secretName: a Secrets Manager secret name');
    expect(err?.message).toContain('rateLimitPerSecond');
    expect(err?.message).toContain('payload: does not render valid JSON');
    expect(err?.message).not.toContain('sk_live');
    expect(await repo().current('crm-bad')).toBeUndefined();
  });
});
