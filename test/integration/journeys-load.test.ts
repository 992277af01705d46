// An invalid journey written straight into the campaigns table: evaluate skips it with a logged,
// counted reason, and the last good version stays in force (for entries and for the customers in it).
import { describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createIngest } from '../../lib/app/ingest.ts';
import { ingestDeps } from '../../lib/wiring/ingest.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { CachedJourneySource, DynamoJourneyRepository, scanJourneys } from '../../lib/adapters/dynamo/journeys.ts';
import { db } from '../support/local.ts';
import { freshTables } from '../support/tables.ts';
import { customerEvent, journeyFrom } from '../support/journeys.ts';
import { renewal } from '../support/renewal-scenario.ts';

describe('journeys at load', () => {
  it('skip an invalid item written to the table, log and count it, and keep the last good version', async () => {
    const client = db();
    const tables = await freshTables('jload');
    const repo = new DynamoJourneyRepository(client, tables.campaigns);
    expect(await repo.put(renewal(), 'test')).toEqual({ journeyId: 'renewal', version: 1 });
    // Straight into the table: a send without a template.
    await client.send(
      new PutCommand({
        TableName: tables.campaigns,
        Item: { pk: 'CAMPAIGN#renewals', sk: 'JOURNEY#renewal#CURRENT', ...renewal(), version: 2, steps: [{ id: 'email', type: 'send', channel: 'email' }] },
      }),
    );
    const metrics = new MemoryMetrics();
    const warnings: { message: string; attributes: Record<string, unknown> }[] = [];
    const logger = { warn: (message: string, attributes: Record<string, unknown>) => void warnings.push({ message, attributes }) };
    const settings = { tables, scheduler: { group: 'baton-test', roleArn: 'arn:aws:iam::123456789012:role/s', targetArn: 'arn:aws:sqs:eu-west-1:123456789012:evaluate' } };
    const deps = ingestDeps(settings, { port: metrics, logger }, { dynamodb: () => client });
    const ingest = createIngest({ ...deps, sleep: async () => {} });
    // An event that enters no journey: the journeys are loaded all the same.
    const out = await ingest(JSON.stringify(customerEvent('baton.crm', 'CustomerUpserted', { ids: { crmId: 'crm-load' }, profile: { tier: 'gold' } }, new Date())));
    expect(out.status).toBe('applied');
    expect(warnings).toEqual([{ message: 'journey skipped', attributes: { journeyId: 'renewal', reason: expect.stringMatching(/^step "email" \(steps\[0\]\) field template: /), kept: 1 } }]);
    expect(metrics.counts.JourneysRejected).toBe(1);

    // The same source, read directly: version 1 stays in force, and is reported once, not at every refresh.
    const rejected: string[] = [];
    const source = new CachedJourneySource(scanJourneys(client, tables.campaigns), { refreshMs: 1, onRejected: (r) => void rejected.push(r.journeyId) });
    const book = await source.current();
    expect(book.journeys.map((j) => [j.journeyId, j.version, j.steps[0]])).toEqual([['renewal', 1, journeyFrom(renewal()).steps[0]]]);
    await new Promise((r) => setTimeout(r, 5));
    await source.current();
    expect(rejected).toEqual(['renewal']);
  }, 60_000);
});
