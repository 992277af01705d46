// A replay (the bus archive, a DLQ redrive) of an INVALID event naming an erased customer must not
// put their personal data back into the quarantine: ingest checks the ids it can read in the raw
// body (detail.ids, and every email-shaped text) against the erasure tombstones before it stores
// the body. On DynamoDB Local, with the real repository and quarantine.
import { beforeAll, describe, expect, it } from 'vitest';
import { createIngest } from '../../lib/app/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../../lib/adapters/dynamo/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { db, unique } from '../support/local.ts';
import { freshTables, scanTable } from '../support/tables.ts';

const AT = '2026-05-01T10:00:00Z';

describe('replayed invalid events of an erased customer (DynamoDB Local)', () => {
  let names: TableNames;
  const client = db();
  beforeAll(async () => {
    names = await freshTables('erased-replay');
  });

  const ingestOn = () => {
    const metrics = new MemoryMetrics();
    const ingest = createIngest({
      customers: new DynamoCustomerRepository<CustomerState>(client, names),
      quarantine: new DynamoQuarantine(client, names.quarantine),
      rules: { current: async () => new RuleSet([]) },
      metrics,
      clock: () => new Date(AT),
    });
    return { ingest, metrics };
  };
  const event = (source: string, detailType: string, detail: unknown) => JSON.stringify({ version: '0', id: unique('ev'), source, 'detail-type': detailType, time: AT, detail });
  const quarantineText = async () => JSON.stringify(await scanTable(client, names.quarantine));

  it('erasure removes them from the quarantine, and a replay does not store them again; others are still quarantined', async () => {
    const { ingest, metrics } = ingestOn();
    const run = unique('x').slice(-8);
    const crmId = `CRM-${run}`;
    const email = `Mixed.Case.${run}@Example.com`;
    const name = `Ysoldecanary${run}`;
    expect((await ingest(event('baton.crm', 'CustomerUpserted', { ids: { crmId, email }, occurredAt: AT, profile: { firstName: name, email } }))).status).toBe('applied');
    // Invalid events naming them: by crmId, by the email in another case, by the email only outside `ids`
    // (an SES event with no Baton tag), and by the email where `ids` itself is broken.
    const invalid = [
      event('baton.pos', 'SaleCompleted', { ids: { crmId }, occurredAt: AT, note: name }),
      event('baton.pos', 'SaleCompleted', { ids: { email: email.toUpperCase() }, occurredAt: 'yesterday', note: name }),
      event('baton.crm', 'ConsentChanged', { ids: { email: 42 }, occurredAt: AT, channel: 'email', granted: true, via: `form of ${email.toLowerCase()} (${name})` }),
    ];
    for (const body of invalid) expect((await ingest(body)).status).toBe('quarantined');
    expect(await quarantineText()).toContain(name);

    expect((await ingest(event('baton.crm', 'CustomerErased', { ids: { crmId }, occurredAt: AT, requestId: unique('DSR') }))).status).toBe('erased');
    expect(await quarantineText()).not.toContain(name);

    // The replay: the same invalid events again, as the archive or a redrive would deliver them.
    const before = metrics.counts.EventsQuarantined ?? 0;
    const outcomes = [];
    for (const body of invalid) outcomes.push(await ingest(body));
    expect(outcomes.map((o) => o.status)).toEqual(['erased', 'erased', 'erased']);
    expect(metrics.counts.EventsQuarantined ?? 0).toBe(before);
    const text = (await quarantineText()).toLowerCase();
    for (const secret of [name, email, crmId]) expect(text, secret).not.toContain(secret.toLowerCase());

    // Someone not erased: their invalid events are still quarantined, so the check above is not vacuous.
    const other = `other.${run}@example.com`;
    expect((await ingest(event('baton.pos', 'SaleCompleted', { ids: { email: other }, occurredAt: 'yesterday' }))).status).toBe('quarantined');
    expect((await ingest('{"not": "an event", "email": 7')).status).toBe('quarantined');
    expect(await quarantineText()).toContain(other);
  });

  it('a body that is not JSON, naming the customer only by a crmId, is recognised after erasure', async () => {
    const { ingest } = ingestOn();
    const run = unique('y').slice(-8);
    const crmId = `CRM-${run}`;
    const name = `Brokencanary${run}`;
    expect((await ingest(event('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: AT, profile: { firstName: name } }))).status).toBe('applied');
    // Cut off mid-way (a truncated redrive): no parser reads it, only its text names the customer.
    const broken = event('baton.pos', 'SaleCompleted', { ids: { crmId }, occurredAt: AT, note: name, rest: '.'.repeat(40) }).slice(0, -12);
    // Escaped in the text (`\u0043RM-…`), it is still the same id.
    const escaped = broken.replace(`"${crmId}"`, `"\\u0043${crmId.slice(1)}"`).replace(name, `${name}-escaped`);
    expect(escaped).not.toContain(crmId);
    expect((await ingest(broken)).status).toBe('quarantined');
    expect((await ingest(escaped)).status).toBe('quarantined');
    expect(await quarantineText()).toContain(`${name}-escaped`);
    expect((await ingest(event('baton.crm', 'CustomerErased', { ids: { crmId }, occurredAt: AT, requestId: unique('DSR') }))).status).toBe('erased');
    expect(await quarantineText()).not.toContain(name);
    expect((await ingest(broken)).status).toBe('erased');
    expect((await ingest(escaped)).status).toBe('erased');
    expect(await quarantineText()).not.toContain(name);
  });

  it('an invalid event stored while the erasure runs does not outlive it', async () => {
    const run = unique('z').slice(-8);
    const crmId = `CRM-${run}`;
    const name = `Racecanary${run}`;
    const { ingest } = ingestOn();
    expect((await ingest(event('baton.crm', 'CustomerUpserted', { ids: { crmId }, occurredAt: AT, profile: { firstName: name } }))).status).toBe('applied');
    // The interleaving: the invalid event's tombstone check reads "not erased", then the whole
    // erasure (tombstones, then the quarantine scan) runs, and only then is the body stored.
    const repository = new DynamoCustomerRepository<CustomerState>(client, names);
    let raced = false;
    const racing = Object.create(repository) as typeof repository;
    racing.resolve = async (ids) => {
      const seen = await repository.resolve(ids);
      if (!raced) {
        raced = true;
        expect((await ingest(event('baton.crm', 'CustomerErased', { ids: { crmId }, occurredAt: AT, requestId: unique('DSR') }))).status).toBe('erased');
      }
      return seen;
    };
    const slow = createIngest({
      customers: racing,
      quarantine: new DynamoQuarantine(client, names.quarantine),
      rules: { current: async () => new RuleSet([]) },
      metrics: new MemoryMetrics(),
      clock: () => new Date(AT),
    });
    await slow(event('baton.pos', 'SaleCompleted', { ids: { crmId }, occurredAt: 'yesterday', note: name }));
    expect(raced).toBe(true);
    expect(await quarantineText()).not.toContain(name);
  });
});
