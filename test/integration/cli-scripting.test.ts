// `baton` as scripts use it, spawned against the test stack: help and usage per command, the
// version, refused options and values (exit code 2), --json giving one JSON document alone on
// stdout for every command, and a closed stdout (`| head`) ending the command quietly.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { baton, batonEntry, batonWith, ROOT, stackEnv } from '../support/cli.ts';
import { busClient, db, endpoints, eventually, profileByExternalId, tables, unique } from '../support/local.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-cli-scripting-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const file = (name: string, value: unknown) => {
  const path = join(work, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value));
  return path;
};
/** The CLI pointed at the test stack as a user with `npm start` on those ports has it. */
const local = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('baton help, version and usage', () => {
  it('prints its version, the help of each command, and the exit codes', async () => {
    const [version, help, helpRules, putHelp, showHelp, none] = await Promise.all([
      // The entry a user runs (bin/baton.js through tsx), not the suite's bundle of it.
      batonEntry('--version'),
      batonEntry('help'),
      batonEntry('help', 'rules'),
      batonEntry('rules', 'put', '--help'),
      batonEntry('customer', 'show', '--help'),
      batonEntry(),
    ]);

    expect([version.code, version.stdout.trim()]).toEqual([0, VERSION]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: baton /);
    for (const command of ['send', 'rules', 'campaigns', 'policies', 'templates', 'customer', 'explain', 'simulate', 'quarantine', 'erasures', 'schemas']) {
      expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    }
    expect(help.stdout).toContain('Exit codes:');
    expect(help.stdout).toMatch(/^ {2}2 {2}the command line is wrong/m);
    expect(help.stdout).toMatch(/^ {2}3 {2}could not finish/m);
    expect(helpRules.code).toBe(0);
    expect(helpRules.stdout).toContain('Usage: baton rules');
    expect(helpRules.stdout).toMatch(/^ {2}rollback /m);
    // A subcommand's own help, not the global one.
    expect(putHelp.code).toBe(0);
    expect(putHelp.stdout).toMatch(/^Usage: baton rules put \[options\] <files\.\.\.>/);
    expect(putHelp.stdout).toContain('--by <name>');
    expect(putHelp.stdout).not.toContain('Exit codes:');
    expect(showHelp.stdout).toMatch(/^Usage: baton customer show \[options\] <id>/);
    expect(showHelp.stdout).toContain('--limit <n>');
    // No command: the usage on stderr, exit code 2.
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Usage: baton');
  }, 300_000);

  it('refuses unknown commands, options and option values with exit code 2, naming what was expected', async () => {
    const [code, days, option, command, kind] = await Promise.all([
      local('quarantine', 'list', '--code', 'nope'),
      local('quarantine', 'list', '--days', '0'),
      local('rules', 'list', '--bogus'),
      local('rulez', 'list'),
      local('simulate', 'dec-x', 'read'),
    ]);

    expect(code.code).toBe(2);
    expect(code.stderr).toContain("argument 'nope' is invalid");
    expect(code.stderr).toContain('invalid-detail');
    expect(code.stdout).toBe('');
    expect(days.code).toBe(2);
    expect(days.stderr).toContain('--days must be a whole number from 1 to 30');
    expect(option.code).toBe(2);
    expect(option.stderr).toContain("unknown option '--bogus'");
    expect(command.code).toBe(2);
    expect(command.stderr).toContain("unknown command 'rulez'");
    expect(kind.code).toBe(2);
    expect(kind.stderr).toContain('Allowed choices are delivered, opened, clicked');
  }, 300_000);
});

describe('baton --json', () => {
  const ruleId = unique('cli-json');
  const broken = unique('cli-json-broken');
  const rule = { ruleId, campaignId: 'cli-json', enabled: true, priority: 5, when: { source: ['baton.pos'], detail: { storeId: [ruleId] } }, then: { channel: 'bus', action: 'json-test' } };

  beforeAll(async () => {
    // An item that fails validation, written past the CLI (a channel Baton does not have).
    await db().send(new PutCommand({ TableName: tables().rules, Item: { pk: `RULE#${broken}`, sk: 'CURRENT', ...rule, ruleId: broken, then: { channel: 'fax', template: 'x' } } }));
  });
  afterAll(async () => {
    await db().send(new DeleteCommand({ TableName: tables().rules, Key: { pk: `RULE#${broken}`, sk: 'CURRENT' } }));
  });

  it('prints one JSON document and nothing else on stdout, for every command', async () => {
    const rules = file('rules.json', [rule]);
    const template = file('template.json', { templateId: unique('tpl'), channel: 'sms', locale: 'en', text: 'Hi {{ customer.firstName }}' });
    const events = file('events.json', [{ source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { ids: { loyaltyCard: unique('LC') }, occurredAt: new Date().toISOString(), saleId: 'S-1', storeId: ruleId, items: [{ sku: 'A', category: 'x', quantity: 1, unitPrice: 1 }], total: 1, currency: 'EUR' } }]);
    const runs = {
      validate: await local('rules', 'validate', rules, '--json'),
      diff: await local('rules', 'diff', rules, '--json'),
      put: await local('rules', 'put', rules, '--by', 'script', '--json'),
      list: await local('rules', 'list', '--json'),
      test: await local('rules', 'test', rules, '--events', events, '--json'),
      send: await baton('send', 'baton.pos/SaleCompleted', '--endpoint', endpoints().bus, '--json'),
      templates: await local('templates', 'validate', template, '--json'),
      schemas: await local('schemas', 'export', join(work, 'schemas'), '--json'),
      quarantine: await local('quarantine', 'list', '--days', '1', '--json'),
      policies: await local('policies', 'list', '--json'),
      customer: await local('customer', 'show', unique('nobody'), '--json'),
      explain: await local('explain', 'dec-none', '--json'),
    };

    for (const [name, run] of Object.entries(runs)) {
      // Not found is exit code 1, with the reason on stderr; the rest succeed.
      expect({ name, code: run.code }).toEqual({ name, code: ['customer', 'explain'].includes(name) ? 1 : 0 });
      expect(() => JSON.parse(run.stdout), `${name} prints JSON alone: ${run.stdout.slice(0, 200)}`).not.toThrow();
    }
    expect(JSON.parse(runs.put.stdout)).toMatchObject({ valid: true, written: [{ id: ruleId, version: 1 }] });
    expect(JSON.parse(runs.send.stdout)).toMatchObject({ sent: 1, failed: 0, entries: [{ entry: 1, eventId: expect.any(String) }] });
    expect(JSON.parse(runs.customer.stdout)).toEqual({ status: 'not-found' });
    expect(runs.customer.stderr).toContain('no customer');
    // The list keeps what the text shows: the version, and why an item is invalid.
    const listed = JSON.parse(runs.list.stdout) as { ruleId: string; version: number | null; invalid?: string }[];
    expect(listed.find((r) => r.ruleId === broken)?.invalid).toMatch(/^then\.channel: /);
    expect(listed.find((r) => r.ruleId === ruleId)).toMatchObject({ version: 1, enabled: true });
    expect(listed.find((r) => r.ruleId === ruleId)?.invalid).toBeUndefined();
    const text = await local('rules', 'list');
    expect(text.stdout).toMatch(new RegExp(`^${broken} .*INVALID: then\\.channel`, 'm'));
  }, 240_000);
});

describe('baton with a closed stdout', () => {
  it('stops quietly when the reader goes away, as `baton customer show … | head` does', async () => {
    const crmId = unique('CRM-head');
    await busClient().send(
      new PutEventsCommand({
        Entries: [{ Source: 'baton.crm', DetailType: 'CustomerUpserted', EventBusName: 'baton', Detail: JSON.stringify({ ids: { crmId }, occurredAt: new Date().toISOString(), profile: { firstName: 'Hedda' } }) }],
      }),
    );
    await eventually('the profile', () => profileByExternalId('crmId', crmId));

    const child = spawn(process.execPath, ['bin/baton.js', 'customer', 'show', crmId, '--stage', 'test'], {
      cwd: ROOT,
      env: { ...process.env, ...stackEnv(endpoints()) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // The reader closes before a line is written, as `head` does after its lines.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));

    expect(stderr).toBe('');
    expect(code).toBe(0);
  }, 300_000);
});
