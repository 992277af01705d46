// The operator's commands on customer state, spawned as a user runs them against the test stack:
// customer show, quarantine list/replay, erasures reapply, templates put.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { putTombstone } from '../../lib/adapters/dynamo/customers.ts';
import { baton } from '../support/cli.ts';
import { busClient, db, endpoints, eventually, profileByExternalId, tables, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-state-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const onTables = () => ['--endpoint', endpoints().dynamodb, '--stage', 'test'];

async function customer(crmId: string, firstName: string) {
  await busClient().send(
    new PutEventsCommand({
      Entries: [{
        Source: 'baton.crm', DetailType: 'CustomerUpserted', EventBusName: 'baton',
        Detail: JSON.stringify({ ids: { crmId }, occurredAt: new Date().toISOString(), profile: { firstName, tier: 'gold' } }),
      }],
    }),
  );
  return eventually(`profile ${crmId}`, () => profileByExternalId('crmId', crmId));
}

describe('baton customer show', () => {
  it('finds a customer by any external id and prints derived fields, or says it found none', async () => {
    const crmId = unique('CRM');
    const profile = await customer(crmId, 'Wendeline');
    const shown = await baton('customer', 'show', crmId, '--json', ...onTables());
    expect(shown.code).toBe(0);
    const json = JSON.parse(shown.stdout);
    expect(json.customerId).toBe(profile.customerId);
    expect(json.view).toMatchObject({ firstName: 'Wendeline', tier: 'gold', lifecycle: expect.any(String) });
    const human = await baton('customer', 'show', String(profile.customerId), ...onTables());
    expect(human.stdout).toContain('firstName: Wendeline');
    const missing = await baton('customer', 'show', unique('nobody'), ...onTables());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no customer');
  }, 300_000); // spawns baton several times; the machine may be slow
});

describe('baton quarantine', () => {
  it('lists quarantined events with their reasons, and replay applies the ones that now pass', async () => {
    const crmId = unique('CRM');
    const now = new Date();
    // One entry that still fails, one whose body is valid (as after a catalog fix).
    const bad = { version: '0', id: unique('bad'), source: 'baton.crm', 'detail-type': 'CustomerUpserted', time: now.toISOString(), detail: { ids: {}, occurredAt: 'yesterday' } };
    const fixed = { ...bad, id: unique('fixed'), detail: { ids: { crmId }, occurredAt: now.toISOString(), profile: { firstName: 'Quirin' } } };
    for (const [i, body] of [bad, fixed].entries()) {
      await db().send(new PutCommand({
        TableName: tables().quarantine,
        Item: { pk: `Q#${now.toISOString().slice(0, 10)}`, sk: `${now.toISOString()}#${body.id}`, quarantineId: body.id, receivedAt: now.toISOString(), code: 'invalid-detail', reason: `case ${i}`, body: JSON.stringify(body) },
      }));
    }
    const list = await baton('quarantine', 'list', '--json', ...onTables());
    const listed = JSON.parse(list.stdout) as { quarantineId: string }[];
    expect(listed.map((q) => q.quarantineId)).toEqual(expect.arrayContaining([bad.id, fixed.id]));

    const replay = await baton('quarantine', 'replay', ...onTables());
    expect(replay.stdout).toMatch(/still invalid: .*invalid-detail/);
    expect(replay.code).toBe(1); // something is still invalid
    expect(await profileByExternalId('crmId', crmId)).toMatchObject({ identities: [`crmId#${crmId}`] });
    const after = JSON.parse((await baton('quarantine', 'list', '--json', ...onTables())).stdout) as { quarantineId: string }[];
    expect(after.map((q) => q.quarantineId)).toContain(bad.id);
    expect(after.map((q) => q.quarantineId)).not.toContain(fixed.id);
  }, 300_000); // spawns baton several times; the machine may be slow
});

describe('baton erasures reapply', () => {
  it('erases again a customer that a restore brought back while its tombstone stayed', async () => {
    const crmId = unique('CRM');
    const keep = unique('CRM');
    await customer(crmId, 'Restored');
    await customer(keep, 'Kept');
    // As after a point-in-time restore: the tombstone exists, the profile is back.
    await putTombstone(db(), tables().customers, `crmId#${crmId}`);
    const run = await baton('erasures', 'reapply', ...onTables());
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/erased again: [1-9]\d* customer/);
    expect(await profileByExternalId('crmId', crmId)).toBeUndefined();
    expect(await profileByExternalId('crmId', keep)).toBeDefined();
  }, 300_000); // spawns baton several times; the machine may be slow
});

describe('baton templates put', () => {
  it('rejects a template naming a field the customer cannot have, with the line and the field', async () => {
    const file = join(work, 'bad-template.json');
    writeFileSync(file, JSON.stringify({ templateId: unique('tpl'), channel: 'email', locale: 'en', subject: 'Hi', text: 'Hello\n{{ customer.shoeSize }}' }));
    const run = await baton('templates', 'put', file, ...onTables());
    expect(run.code).not.toBe(0);
    expect(`${run.stdout}${run.stderr}`).toMatch(/line 2/);
    expect(`${run.stdout}${run.stderr}`).toContain('shoeSize');
  }, 300_000); // spawns baton several times; the machine may be slow
});
