import { it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { createIngest } from '../../lib/ingest.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { RuleSet } from '../../lib/rules/engine.ts';
import { StaticCampaignBook } from '../../lib/rules/campaign.ts';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { db, tables, unique } from '../support/local.ts';
it('timing', async () => {
  const repo = new DynamoCustomerRepository<any>(db(), tables());
  const ingest = createIngest({ customers: repo, quarantine: { put: async () => undefined }, rules: { current: async () => new RuleSet([]) }, campaigns: { current: async () => new StaticCampaignBook() }, metrics: { count: () => undefined } });
  const card = unique('LC');
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) {
    await ingest(JSON.stringify({ version: '0', id: randomUUID(), source: 'baton.crm', 'detail-type': 'CustomerUpserted', account: '1', time: new Date().toISOString(), region: 'eu-west-1', resources: [], detail: { occurredAt: new Date().toISOString(), ids: { loyaltyCard: card }, profile: { locale: 'en' } } }));
  }
  const t1 = performance.now();
  for (let i = 0; i < 20; i++) await db().send(new GetCommand({ TableName: tables().counters, Key: { pk: 'x', sk: 'y' } }));
  const t2 = performance.now();
  process.stderr.write(`ingest ${(t1 - t0) / 20} ms, get ${(t2 - t1) / 20} ms\n`);
});
