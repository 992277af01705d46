// What tests use to talk to the local stack: real SDK clients pointed at its endpoints.
import { inject, TestRunner } from 'vitest';
import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { GetCommand, QueryCommand, ScanCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../../lib/contract/tables.ts';
import { documentClient } from '../../lib/adapters/dynamo/client.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';

export const endpoints = () => inject('endpoints');
export const tables = () => inject('tables');

export function busClient(): EventBridgeClient {
  return new EventBridgeClient({ endpoint: endpoints().bus, region: LOCAL_REGION, credentials: { accessKeyId: 'any', secretAccessKey: 'any' } });
}

let client: ReturnType<typeof documentClient> | undefined;
/** The test file's one client for the shared stack: a client per call paid a new SDK set-up and connection each time. */
export function db() {
  return (client ??= documentClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS }));
}

/** A suffix that keeps one test's customers, rules and stores apart from every other's. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

export interface Patience {
  /** Give up when the local stack has made no progress at all for this long. Default 30 s. */
  readonly quietMs?: number;
  /** Give up after this long even while it makes progress. Default 120 s, and always 1 s before the test's own timeout. */
  readonly maxMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * What the shared stack has done so far (events accepted, batches handled, messages sent, SES
 * feedback read): it changes whenever anything moves through the pipeline, for any test.
 */
async function pipelineProgress(): Promise<string> {
  try {
    const res = await fetch(`${endpoints().bus}/local/stats`);
    const s = (await res.json()) as Record<string, unknown>;
    return JSON.stringify([s.bus, s.queue, s.dispatch, s.ses, s.sns, s.iot, s.summary]);
  } catch {
    return 'unreachable';
  }
}

/** Milliseconds left before vitest times the running test out (undefined outside a test). */
function testTimeLeft(): number | undefined {
  const test = TestRunner.getCurrentTest();
  const started = test?.result?.startTime;
  return test && started && test.timeout > 0 ? test.timeout - (Date.now() - started) : undefined;
}

/**
 * Polls until `probe` returns a value (not undefined). Waits as long as the local stack keeps
 * making progress, so a slow, busy machine only makes it wait longer; fails with what it was
 * waiting for once the stack stood still for `quietMs`, after `maxMs`, or just before the test's
 * own timeout would.
 */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, patience: Patience | number = {}): Promise<T> {
  // A number is the fixed timeout of old: now the least the wait tolerates the stack standing still.
  const { quietMs = 30_000, maxMs = 120_000 } = typeof patience === 'number' ? { quietMs: Math.max(30_000, patience) } : patience;
  const started = Date.now();
  const left = testTimeLeft();
  const deadline = started + Math.min(maxMs, left === undefined ? Infinity : left - 1_000);
  let progress = await pipelineProgress();
  let movedAt = started;
  for (let pause = 100; ; pause = Math.min(500, pause * 1.5)) {
    const value = await probe();
    if (value !== undefined) return value;
    const now = Date.now();
    const seen = await pipelineProgress();
    if (seen !== progress) [progress, movedAt] = [seen, now];
    if (now - movedAt > quietMs) throw new Error(`gave up waiting for ${what}: the local stack made no progress for ${quietMs} ms (${now - started} ms in all)`);
    if (now > deadline) throw new Error(`timed out after ${now - started} ms waiting for ${what} (the local stack was still busy)`);
    await sleep(pause);
  }
}

/**
 * Waits until nothing is in flight in the shared stack: the inbound queue is empty and the dispatch
 * stream found nothing new, twice in a row. After it, every send caused by an event already
 * evaluated has happened.
 */
export async function pipelineQuiet(patience?: Patience): Promise<void> {
  let quietReads = 0;
  await eventually(
    'the local stack to have nothing in flight',
    async () => {
      const s = (await (await fetch(`${endpoints().bus}/local/stats`)).json()) as { queue: { depth: number }; dispatch: { idle?: boolean } };
      quietReads = s.queue.depth === 0 && s.dispatch.idle === true ? quietReads + 1 : 0;
      return quietReads >= 2 ? true : undefined;
    },
    patience,
  );
}

/**
 * Waits until the stack's rule and campaign caches (refreshed every BATON_RULES_REFRESH_MS, 300 ms
 * in tests) have reread the tables since now: a cache serves a value for at most two refresh
 * periods, plus however long a refresh that had already started takes to finish, measured
 * here as the time one read of the rules table takes on this machine right now.
 */
export async function rulesRefreshed(): Promise<void> {
  const since = Date.now();
  await db().send(new ScanCommand({ TableName: tables().rules, Select: 'COUNT' }));
  const readMs = Date.now() - since;
  const period = Number(process.env.BATON_RULES_REFRESH_MS) || 300;
  await sleep(Math.max(0, since + 2 * period + 3 * readMs + 100 - Date.now()));
}

export async function profileByExternalId(kind: string, value: string): Promise<Record<string, unknown> | undefined> {
  const client = db();
  const link = await client.send(new GetCommand({ TableName: tables().customers, Key: { pk: `ID#${kind}#${value}`, sk: 'ID' } }));
  if (!link.Item) return undefined;
  const profile = await client.send(
    new GetCommand({ TableName: tables().customers, Key: { pk: `CUS#${link.Item.customerId}`, sk: 'PROFILE' }, ConsistentRead: true }),
  );
  return profile.Item;
}

export async function quarantined(): Promise<Record<string, unknown>[]> {
  const out = await db().send(new ScanCommand({ TableName: tables().quarantine }));
  return out.Items ?? [];
}

export async function decisionsOf(customerId: string): Promise<Record<string, unknown>[]> {
  const out = await db().send(
    new QueryCommand({
      TableName: tables().decisions,
      IndexName: 'byCustomer',
      KeyConditionExpression: 'customerId = :c',
      ExpressionAttributeValues: { ':c': customerId },
    }),
  );
  return out.Items ?? [];
}

/** Where test data goes: the shared stack of the run, or a stack a test started for itself. */
export interface StackTables {
  readonly db: DynamoDBDocumentClient;
  readonly tables: TableNames;
}
const shared = (): StackTables => ({ db: db(), tables: tables() });

export async function putRule(rule: Record<string, unknown>, to: StackTables = shared()): Promise<void> {
  await to.db.send(new PutCommand({ TableName: to.tables.rules, Item: { pk: `RULE#${rule.ruleId}`, sk: 'CURRENT', version: 1, ...rule } }));
}

export async function putTemplate(template: { templateId: string; channel: string; locale: string } & Record<string, unknown>, to: StackTables = shared()): Promise<void> {
  await to.db.send(
    new PutCommand({
      TableName: to.tables.templates,
      Item: { pk: `TPL#${template.templateId}`, sk: `${template.channel}#${template.locale}`, ...template },
    }),
  );
}

export interface SesEmail {
  messageId: string;
  destination: { to: string[] };
  subject: string;
  body: { html?: string; text?: string };
  headers?: { name: string; value: string }[];
}

/** When this test file started (SES's store counts in seconds): older emails are other files'. */
const fileStartedAt = Math.floor(Date.now() / 1000) - 1;

export async function emailsTo(address: string): Promise<SesEmail[]> {
  // Only this file's emails: the shared store holds the whole run's, megabytes by its end.
  const res = await fetch(`${endpoints().ses}/store?since=${fileStartedAt}`);
  const { emails } = (await res.json()) as { emails: SesEmail[] };
  return emails.filter((e) => e.destination.to.includes(address));
}
