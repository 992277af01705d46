// What tests use to talk to the local stack: real SDK clients pointed at its endpoints.
import { inject } from 'vitest';
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

export function db() {
  return documentClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
}

/** A suffix that keeps one test's customers, rules and stores apart from every other's. */
export const unique = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** Polls until `probe` returns a value (not undefined), or fails with what it was waiting for. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
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

export async function emailsTo(address: string): Promise<SesEmail[]> {
  const res = await fetch(`${endpoints().ses}/store`);
  const { emails } = (await res.json()) as { emails: SesEmail[] };
  return emails.filter((e) => e.destination.to.includes(address));
}
