// The `aws dynamodb put-item` example of docs/rules.md, run as written against the local stack
// (with the AWS CLI when it is installed, else the SDK's PutItem with the same item JSON), then
// managed with the CLI as the doc shows: listed unversioned, disabled, rolled back.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoDBClient, PutItemCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { batonWith, ROOT, stackEnv } from '../support/cli.ts';
import { endpoints, tables } from '../support/local.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-docs-put-item-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const local = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

/** The item file of the doc's here-document, exactly as the doc has it. */
function docItem(): string {
  const doc = readFileSync(join(ROOT, 'docs/rules.md'), 'utf8');
  const found = /^cat > (\S+\.json) <<'JSON'\n([\s\S]*?)\nJSON$/m.exec(doc);
  if (!found) throw new Error("docs/rules.md has no `cat > ….json <<'JSON'` put-item example");
  return found[2]!;
}

const awsCli = (args: string[]): Promise<{ code: number; out: string }> =>
  new Promise((resolve) => {
    const env = { ...process.env, AWS_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey };
    execFile('aws', args, { cwd: work, env, timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: `${stdout}${stderr}` }),
    );
  });

describe("docs/rules.md's put-item example", () => {
  it('puts a rule the CLI then lists, disables and rolls back, keeping the hand-written content as version 1', async () => {
    const text = docItem();
    const item = JSON.parse(text) as Record<string, AttributeValue>;
    const ruleId = item.ruleId!.S!;
    writeFileSync(join(work, 'item.json'), text);
    const args = ['dynamodb', 'put-item', '--table-name', tables().rules, '--item', 'file://item.json', '--endpoint-url', endpoints().dynamodb, '--region', LOCAL_REGION];
    if ((await awsCli(['--version'])).code === 0) {
      const put = await awsCli(args);
      expect(put, put.out).toMatchObject({ code: 0 });
    } else {
      const client = new DynamoDBClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
      await client.send(new PutItemCommand({ TableName: tables().rules, Item: item }));
      client.destroy();
    }

    const listed = JSON.parse((await local('rules', 'list', '--json')).stdout) as { ruleId: string; version: number | null; invalid?: string }[];
    expect(listed.find((r) => r.ruleId === ruleId)).toMatchObject({ version: null });
    expect(listed.find((r) => r.ruleId === ruleId)?.invalid).toBeUndefined();
    const disabled = await local('rules', 'disable', ruleId, '--by', 'ana');
    expect([disabled.code, disabled.stdout.trim()]).toEqual([0, `disabled ${ruleId} (version 2) (the item written to the table directly is kept as version 1)`]);
    const rolledBack = await local('rules', 'rollback', ruleId, '--by', 'ana');
    expect([rolledBack.code, rolledBack.stdout.trim()]).toEqual([0, `rolled back ${ruleId} to the content of version 1 (now version 3)`]);
    const after = JSON.parse((await local('rules', 'list', '--json')).stdout) as { ruleId: string; version: number; enabled: boolean }[];
    expect(after.find((r) => r.ruleId === ruleId)).toMatchObject({ version: 3, enabled: true });
  }, 180_000);
});
