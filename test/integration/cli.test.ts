// The real `baton` command, spawned as a user runs it, against the test stack's local bus.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonSchemas } from '../../events/json-schema.ts';
import { loadSample } from '../../events/samples.ts';
import { baton } from '../support/cli.ts';
import { endpoints, eventually, profileByExternalId, quarantined, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const send = (...args: string[]) => baton('send', ...args, '--endpoint', endpoints().bus);

function upsert(crmId: string, profile: Record<string, unknown> = { firstName: 'Ida' }) {
  const sample = loadSample('baton.crm/CustomerUpserted');
  return { source: sample.source, 'detail-type': sample['detail-type'], detail: { ...sample.detail, ids: { crmId }, profile } };
}

describe('baton send', () => {
  it('sends a sample by name and reports it accepted', async () => {
    const run = await send('baton.pos/SaleCompleted');

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^entry 1: accepted as [0-9a-f-]{36}$/m);
    expect(run.stdout).toContain('sent 1 of 1 events');
  }, 300_000); // spawns baton several times; the machine may be slow

  it('sends a JSON-lines file in batches, names the one invalid entry, and gets the other 11 processed', async () => {
    const crmIds = Array.from({ length: 11 }, () => unique('CLI'));
    const invalid = { Source: 'baton.crm', DetailType: 'CustomerUpserted', Detail: '[1]' };
    const lines = crmIds.map((id) => JSON.stringify(upsert(id)));
    lines.splice(6, 0, JSON.stringify(invalid)); // entry 7 of 12, in the first batch of 10
    const file = join(work, 'events.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const run = await send(file);

    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n')).toEqual(['entry 7 (baton.crm CustomerUpserted): MalformedDetail: Detail is malformed.']);
    const accepted = [...run.stdout.matchAll(/^entry (\d+): accepted as [0-9a-f-]{36}$/gm)].map((m) => Number(m[1]));
    expect(accepted).toEqual([1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]);
    expect(run.stdout).toContain('sent 11 of 12 events; 1 failed');
    const profiles = await Promise.all(crmIds.map((id) => eventually(`profile of ${id}`, () => profileByExternalId('crmId', id))));
    expect(profiles.map((p) => p.identities)).toEqual(crmIds.map((id) => expect.arrayContaining([`crmId#${id}`])));
  }, 300_000); // spawns baton several times; the machine may be slow

  it('exits 2 with a message for an unknown sample or a missing argument, and sends nothing', async () => {
    const [unknown, noArgs] = await Promise.all([send('baton.pos/SaleVoided'), send()]);

    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('"baton.pos/SaleVoided" is neither a file nor a sample');
    expect(unknown.stderr).toContain('baton.pos/SaleCompleted'); // the known samples are listed
    expect(unknown.stdout).toBe('');
    expect(noArgs.code).toBe(2);
    expect(noArgs.stderr).toContain('usage: baton send <file|sample-name>');
  }, 300_000); // spawns baton several times; the machine may be slow

  it('quarantines an event whose envelope is valid and whose detail is not, with the original body', async () => {
    const [badId, goodId] = [unique('CLI-Q'), unique('CLI-Q')];
    const badEmail = `${badId}-at-example.com`;
    const bad = upsert(badId, { firstName: 'Quentin', email: badEmail });
    const file = join(work, 'mixed.json');
    writeFileSync(file, JSON.stringify([bad, upsert(goodId)], null, 2)); // a JSON array file this time

    const run = await send(file);

    // The bus accepts both; validation happens behind the bus.
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('sent 2 of 2 events');
    const entry = await eventually('the event in quarantine', async () =>
      (await quarantined()).find((q) => typeof q.body === 'string' && q.body.includes(badId)),
    );
    expect(entry.code).toBe('invalid-detail');
    expect(entry.reason).toContain('detail.profile.email');
    expect(entry.reason).not.toContain(badEmail);
    const body = JSON.parse(entry.body as string) as Record<string, unknown>;
    expect(body).toMatchObject({ source: 'baton.crm', 'detail-type': 'CustomerUpserted' });
    expect(body.detail).toEqual(bad.detail);
    await eventually(`profile of ${goodId}`, () => profileByExternalId('crmId', goodId));
    expect(await profileByExternalId('crmId', badId)).toBeUndefined();
  }, 300_000); // spawns baton several times; the machine may be slow
});

describe('baton schemas export', () => {
  it('writes one JSON Schema file per catalog type', async () => {
    const dir = join(work, 'schemas');
    const expected = jsonSchemas().map((s) => s.file).sort();

    const run = await baton('schemas', 'export', dir);

    expect(run.code).toBe(0);
    expect(expected).toHaveLength(44); // 25 + SegmentEntered and SegmentLeft (baton.segments) + JourneyTimerDue (baton.journeys) + MemberEnrolled, the partners' two and the seven loyalty events + 3 business-context events + CaseOpened, CallCompleted and CallRequested (calls)
    expect(run.stdout).toContain(`wrote ${expected.length} JSON Schemas to ${dir}`);
    const written = readdirSync(dir).sort();
    expect(written).toEqual(expected);
    const sale = JSON.parse(readFileSync(join(dir, 'baton.pos.SaleCompleted.schema.json'), 'utf8')) as { $id: string; required: string[] };
    expect(sale.$id).toBe('https://baton.dev/schemas/baton.pos/SaleCompleted.json');
    expect(sale.required).toContain('detail');
  }, 300_000); // spawns baton several times; the machine may be slow
});
