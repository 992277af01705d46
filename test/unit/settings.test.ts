// Settings: read once from a function's environment into one typed object (lib/contract/config.ts),
// a bad variable named with what was expected and never its value; the unsubscribe key read by
// ARN from Secrets Manager (here a small HTTP stand-in speaking its JSON protocol to the real SDK).
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENV, parseSettings, SettingsError, type Settings } from '../../lib/contract/config.ts';
import { TABLE_KEYS, tableEnvVar, tableNames } from '../../lib/contract/tables.ts';
import { awsClients } from '../../lib/wiring/clients.ts';
import { dispatchDeps } from '../../lib/wiring/dispatch.ts';
import { decisionApiDeps } from '../../lib/wiring/decision-api.ts';
import { once } from '../../lib/wiring/once.ts';
import { SecretsManagerSecrets } from '../../lib/adapters/aws/secrets.ts';
import { outboxRef, pendingOutboxMessage } from '../../lib/adapters/dynamo/decisions.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';

const TABLES = Object.fromEntries(TABLE_KEYS.map((k) => [tableEnvVar(k), `baton-dev-${k}`]));
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:baton-dev-unsubscribe-AbCdEf';
const KEY = 'k3y-that-must-never-be-printed-0123456789';
const quiet = { port: new MemoryMetrics(), logger: { warn: () => undefined } };

function problems(env: Record<string, string | undefined>): string[] {
  try {
    parseSettings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(SettingsError);
    return [...(err as SettingsError).problems];
  }
  throw new Error('expected the settings to be refused');
}

describe('parseSettings', () => {
  it('reads a Lambda environment into one typed object, with the defaults where nothing is set', () => {
    const settings = parseSettings({ ...TABLES, [ENV.busName]: 'baton', [ENV.sender]: 'offers@example.com', [ENV.channelRates]: '{"email": 2.8, "sms": 0.6}', AWS_REGION: 'eu-west-1' });
    expect(settings).toEqual({
      tables: tableNames('dev'),
      aws: { endpoints: {} },
      busName: 'baton',
      email: { from: 'offers@example.com' },
      sms: { monthlyBudgetUsd: 1, costPerPartUsd: 0.01 },
      channelRates: { email: 2.8, sms: 0.6 },
      deliverabilityGuard: true,
      unsubscribe: {},
      queues: {},
    } satisfies Settings);
  });

  it('carries the unsubscribe key as an ARN, and ignores the old plain-text variable', () => {
    const settings = parseSettings({ ...TABLES, [ENV.unsubscribeBaseUrl]: 'https://example.com/unsubscribe', [ENV.unsubscribeSecretArn]: ARN, BATON_UNSUBSCRIBE_SECRET: KEY });
    expect(settings.unsubscribe).toEqual({ baseUrl: 'https://example.com/unsubscribe', secret: { arn: ARN } });
    expect(JSON.stringify(settings)).not.toContain(KEY);
  });

  it('reads every endpoint, queue, SMS and guard setting', () => {
    const settings = parseSettings({
      ...TABLES,
      [ENV.dynamodbEndpoint]: 'http://127.0.0.1:8000',
      [ENV.sesEndpoint]: 'http://127.0.0.1:8005',
      [ENV.busEndpoint]: 'http://127.0.0.1:4010',
      [ENV.snsEndpoint]: 'http://127.0.0.1:4010',
      [ENV.iotEndpoint]: 'https://abc-ats.iot.eu-west-1.amazonaws.com',
      [ENV.sqsEndpoint]: '',
      [ENV.heldQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/held',
      [ENV.dispatchDeadLetterQueueUrl]: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
      [ENV.smsMonthlyBudgetUsd]: '25',
      [ENV.smsCostPerPartUsd]: '0.0085',
      [ENV.smsOriginationNumber]: '+18005550100',
      [ENV.deliverabilityGuard]: 'off',
      [ENV.rulesRefreshMs]: '300',
      [ENV.sesConfigurationSet]: 'baton-dev',
      [ENV.sender]: 'offers@example.com',
    });
    expect(settings).toMatchObject({
      aws: { endpoints: { dynamodb: 'http://127.0.0.1:8000', ses: 'http://127.0.0.1:8005', bus: 'http://127.0.0.1:4010', sns: 'http://127.0.0.1:4010', iot: 'https://abc-ats.iot.eu-west-1.amazonaws.com' } },
      queues: { held: 'https://sqs.eu-west-1.amazonaws.com/123456789012/held', deadLetters: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq' },
      sms: { monthlyBudgetUsd: 25, costPerPartUsd: 0.0085, originationNumber: '+18005550100' },
      email: { from: 'offers@example.com', configurationSet: 'baton-dev' },
      deliverabilityGuard: false,
      rulesRefreshMs: 300,
    });
    expect(settings.aws.endpoints).not.toHaveProperty('sqs');
  });

  it('names every variable at fault and what it expected', () => {
    const { [tableEnvVar('customers')]: _missing, ...tables } = TABLES;
    expect(
      problems({
        ...tables,
        [ENV.smsMonthlyBudgetUsd]: '-3',
        [ENV.channelRates]: '{"email": 0, "fax": 2}',
        [ENV.deliverabilityGuard]: 'false',
        [ENV.dynamodbEndpoint]: 'localhost:8000',
        [ENV.rulesRefreshMs]: 'soon',
        [ENV.unsubscribeSecretArn]: 'baton-dev-unsubscribe',
      }),
    ).toEqual([
      'BATON_TABLE_CUSTOMERS is not set; expected the name of the customers table',
      'BATON_UNSUBSCRIBE_SECRET_ARN: expected the ARN of a Secrets Manager secret',
      'BATON_DYNAMODB_ENDPOINT: expected an http(s) URL such as http://127.0.0.1:8000',
      'BATON_CHANNEL_RATES (email): expected a positive number of messages per second',
      'BATON_CHANNEL_RATES: expected a JSON object of channel (email, sms, push, device, call, bus) to messages per second, such as {"email": 2.8, "sms": 0.6}',
      'BATON_SMS_MONTHLY_BUDGET_USD: expected an amount in US dollars such as 25 or 0.0085',
      'BATON_DELIVERABILITY_GUARD: expected on or off',
      'BATON_RULES_REFRESH_MS: expected milliseconds, a positive whole number',
    ]);
    expect(problems({ ...TABLES, [ENV.channelRates]: '{email: 2}' })).toEqual(['BATON_CHANNEL_RATES: expected JSON, an object such as {"email": 2.8, "sms": 0.6}']);
  });

  it('never repeats a value it refuses: a mistyped secret in any variable stays out of the message', () => {
    const env = Object.fromEntries(
      [ENV.unsubscribeSecretArn, ENV.dynamodbEndpoint, ENV.channelRates, ENV.smsCostPerPartUsd, ENV.rulesRefreshMs, ENV.deliverabilityGuard, ENV.heldQueueUrl].map((name) => [name, KEY]),
    );
    const found = problems({ ...TABLES, ...env });
    expect(found).toHaveLength(7);
    for (const problem of found) expect(problem).not.toContain(KEY);
    const err = (() => {
      try {
        parseSettings({ ...TABLES, ...env });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(`${err?.message} ${JSON.stringify(err)}`).not.toContain(KEY);
  });
});

describe('the unsubscribe key from Secrets Manager', () => {
  let server: Server;
  let endpoint = '';
  const reads: string[] = [];
  beforeAll(async () => {
    // Secrets Manager's JSON protocol (awsJson1_1), GetSecretValue only.
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const { SecretId } = JSON.parse(body) as { SecretId: string };
        reads.push(`${String(req.headers['x-amz-target'])} ${SecretId}`);
        const found = SecretId === ARN;
        res.writeHead(found ? 200 : 400, { 'content-type': 'application/x-amz-json-1.1' });
        res.end(JSON.stringify(found ? { ARN, Name: 'baton-dev-unsubscribe', SecretString: KEY, VersionId: 'v1' } : { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." }));
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

  const cloudSettings = (env: Record<string, string> = {}): Settings => {
    const settings = parseSettings({ ...TABLES, [ENV.unsubscribeBaseUrl]: 'https://example.com/unsubscribe', [ENV.unsubscribeSecretArn]: ARN, ...env });
    return { ...settings, aws: { region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, endpoints: { secretsManager: endpoint } } };
  };

  it('reads the key by its ARN when dispatch and the decision API are built, not from the environment', async () => {
    reads.length = 0;
    const settings = cloudSettings();
    const clients = awsClients(settings.aws);
    const dispatch = await dispatchDeps(settings, quiet, clients);
    const api = await decisionApiDeps(settings, quiet, clients);
    expect(dispatch.unsubscribe).toEqual({ baseUrl: 'https://example.com/unsubscribe', secret: KEY });
    expect(api.unsubscribe?.secret).toBe(KEY);
    expect(reads).toEqual([`secretsmanager.GetSecretValue ${ARN}`, `secretsmanager.GetSecretValue ${ARN}`]);
  });

  it('keeps a value read for its cache time, so one instance asks once', async () => {
    reads.length = 0;
    const secrets = new SecretsManagerSecrets(awsClients(cloudSettings().aws).secretsManager());
    expect([await secrets.text(ARN), await secrets.text(ARN)]).toEqual([KEY, KEY]);
    expect(reads).toHaveLength(1);
  });

  it('fails naming the secret it could not read, never a value', async () => {
    const settings = cloudSettings({ [ENV.unsubscribeSecretArn]: `${ARN}-gone` });
    const err = await dispatchDeps(settings, quiet).then(() => undefined, (e: Error) => e);
    expect(err?.message).toContain(`${ARN}-gone`);
    expect(err?.message).toMatch(/expected it to exist and the function to be allowed secretsmanager:GetSecretValue/);
    expect(err?.message).not.toContain(KEY);
  });

  it('needs no Secrets Manager when the settings carry the value (the local stack)', async () => {
    reads.length = 0;
    const settings = { ...cloudSettings(), unsubscribe: { baseUrl: 'http://127.0.0.1:4010/unsubscribe', secret: { value: 'local-only' } } };
    expect((await dispatchDeps(settings, quiet)).unsubscribe).toEqual({ baseUrl: 'http://127.0.0.1:4010/unsubscribe', secret: 'local-only' });
    expect(reads).toEqual([]);
  });
});

describe('once', () => {
  it('builds on the first call, reuses the result, and builds again after a failure', async () => {
    let builds = 0;
    const built = once(async () => {
      builds++;
      if (builds === 1) throw new Error('throttled');
      return builds;
    });
    await expect(built()).rejects.toThrow('throttled');
    expect(await Promise.all([built(), built()])).toEqual([2, 2]);
    expect(await built()).toBe(2);
    expect(builds).toBe(2);
  });
});

describe('outbox keys for dispatch', () => {
  const image = (item: Record<string, string>) => Object.fromEntries(Object.entries(item).map(([k, v]) => [k, { S: v }]));

  it('takes a pending outbox message from a stream image, and passes every other change through', () => {
    expect(pendingOutboxMessage(image({ pk: 'DEC#d-1', sk: 'MSG#email', status: 'pending', notBefore: '2026-01-01T08:00:00.000Z' }))).toEqual({
      pk: 'DEC#d-1', sk: 'MSG#email', decisionId: 'd-1', channel: 'email', notBefore: '2026-01-01T08:00:00.000Z',
    });
    expect(pendingOutboxMessage(image({ pk: 'DEC#d-1', sk: 'MSG#sms', status: 'sent' }))).toBeUndefined();
    expect(pendingOutboxMessage(image({ pk: 'DEC#d-1', sk: 'DECISION', status: 'pending' }))).toBeUndefined();
    expect(pendingOutboxMessage(undefined)).toBeUndefined();
  });

  it('reads a held message body, and refuses what names no outbox message', () => {
    expect(outboxRef({ pk: 'DEC#d-2', sk: 'MSG#push', notBefore: '2026-01-01T08:00:00.000Z' })).toEqual({
      pk: 'DEC#d-2', sk: 'MSG#push', decisionId: 'd-2', channel: 'push', notBefore: '2026-01-01T08:00:00.000Z',
    });
    for (const body of [null, 'DEC#d-2', { pk: 'DEC#d-2' }, { pk: 'CUS#c-1', sk: 'MSG#push' }, { pk: 'DEC#d-2', sk: 'DECISION' }]) expect(outboxRef(body)).toBeUndefined();
  });
});
