// `baton destinations` against the test stack: a valid destination put as a version and listed; an
// invalid one refused naming each field, never its value; one written to the table directly that
// fails its schema listed INVALID, and skipped by dispatch's loader with the reason reported.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { batonWith, stackEnv } from '../support/cli.ts';
import { db, endpoints, tables, unique } from '../support/local.ts';
import { DynamoDestinationSource, destinationKey } from '../../lib/adapters/dynamo/destinations.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-destinations-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (value: unknown) => {
  const path = join(work, `${unique('dest')}.json`);
  writeFileSync(path, JSON.stringify(value));
  return path;
};
const cli = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

describe('baton destinations', { timeout: 120_000 }, () => {
  it('validates, puts, lists and diffs destinations; refuses an invalid one naming each field', async () => {
    const id = unique('crm');
    const good = { destinationId: id, url: 'https://crm.example.com/api/contacts', auth: { kind: 'api-key', header: 'x-api-key', secretName: 'baton/crm-api-key' }, rateLimitPerSecond: 20, payload: '{"tier": {{ customer.tier | json }}}' };
    expect((await cli('destinations', 'validate', file(good))).code).toBe(0);
    const put = await cli('destinations', 'put', file(good));
    expect(put.code).toBe(0);
    expect(put.stdout).toContain(`put ${id} version 1`);
    const diff = await cli('destinations', 'diff', file({ ...good, rateLimitPerSecond: 50 }));
    expect(diff.stdout).toContain('rateLimitPerSecond: 20 → 50');
    const list = await cli('destinations', 'list');
    expect(list.stdout).toMatch(new RegExp(`${id}\\s+v1\\s+POST crm.example.com\\s+20/s`));

    const bad = { destinationId: unique('bad'), url: 'http://crm.example.com/x', auth: { kind: 'api-key', header: 'x-api-key' }, rateLimitPerSecond: 0, payload: '{"name": "sk_live_123"}' };
    const refused = await cli('destinations', 'put', file(bad));
    expect(refused.code).toBe(1);
    const text = refused.stdout + refused.stderr;
    for (const field of ['url: an https:// URL', 'auth.secretName', 'rateLimitPerSecond']) expect(text).toContain(field);
    expect(text).not.toContain('sk_live_123');
    expect(text).toContain('nothing written');

    const local = await cli('destinations', 'validate', file({ ...good, destinationId: unique('hook'), url: 'http://localhost:4010/local/webhooks/x' }));
    expect(local.code).toBe(0);
    expect(local.stdout).toContain('url: plain http://');
  });

  it('lists an item written to the table directly that fails its schema as INVALID; dispatch skips it with the reason', async () => {
    const id = unique('direct');
    await db().send(new PutCommand({ TableName: tables().templates, Item: { ...destinationKey(id), destinationId: id, url: 'https://crm.example.com', auth: { kind: 'basic', secretName: 'baton/x' }, rateLimitPerSecond: 1000, payload: '{}' } }));
    const list = await cli('destinations', 'list');
    expect(list.stdout).toMatch(new RegExp(`${id}.*INVALID: .*rateLimitPerSecond`));
    const rejected: { destinationId: string; reason: string }[] = [];
    expect(await new DynamoDestinationSource(db(), tables().templates, (r) => void rejected.push(r)).find(id)).toBeUndefined();
    expect(rejected).toEqual([{ destinationId: id, reason: expect.stringContaining('rateLimitPerSecond') }]);
  });
});
