// Shared bits of the CLI: clients from flags, output, exit codes, reading files, finding a customer.
import { readFileSync, existsSync } from 'node:fs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { parse as parseYaml } from 'yaml';
import { ID_KINDS } from '../events/catalog.ts';
import { customerKey, DynamoCustomerRepository } from '../lib/adapters/dynamo/customers.ts';
import { documentClient } from '../lib/adapters/dynamo/client.ts';
import { tableNames, type TableNames } from '../lib/contract/tables.ts';
import { loadSample } from '../events/samples.ts';
import { DEFAULT_PORTS, LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STAGE } from '../local/constants.ts';
import { UsageError, type TargetFlags } from './basics.ts';

export * from './basics.ts';

/** AWS when asked (--cloud, or --bus without --endpoint, as ops name their bus); the local stack otherwise. */
export const isCloud = (flags: TargetFlags) => !flags.endpoint && (flags.cloud === true || flags.bus !== undefined);

/** The local stack's ports, as `npm start` reads them (BATON_BUS_PORT, BATON_DYNAMODB_PORT). */
export const localBusEndpoint = () => `http://127.0.0.1:${process.env.BATON_BUS_PORT ?? DEFAULT_PORTS.bus}`;
const localDynamoEndpoint = () => `http://127.0.0.1:${process.env.BATON_DYNAMODB_PORT ?? DEFAULT_PORTS.dynamodb}`;

/** Local by default (dummy credentials); the cloud with --cloud, using the caller's AWS credentials. */
export function busClient(flags: TargetFlags): EventBridgeClient {
  if (isCloud(flags)) return new EventBridgeClient(flags.region ? { region: flags.region } : {});
  return new EventBridgeClient({
    endpoint: flags.endpoint ?? localBusEndpoint(),
    region: flags.region ?? LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    maxAttempts: 3,
  });
}

export function tables(flags: TargetFlags): { db: DynamoDBDocumentClient; raw: DynamoDBClient; names: TableNames } {
  const cloud = isCloud(flags);
  const config = cloud
    ? flags.region
      ? { region: flags.region }
      : {}
    : { endpoint: flags.endpoint ?? localDynamoEndpoint(), region: flags.region ?? LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  return { db: documentClient(config), raw: new DynamoDBClient(config), names: tableNames(flags.stage ?? (cloud ? 'dev' : LOCAL_STAGE)) };
}

/** Runs `work` with the tables of the flags' target, and closes the client after. */
export async function withTables<T>(flags: TargetFlags, work: (t: { db: DynamoDBDocumentClient; names: TableNames }) => Promise<T>): Promise<T> {
  const { db, raw, names } = tables(flags);
  try {
    return await work({ db, names });
  } finally {
    db.destroy();
    raw.destroy();
  }
}

/** Events from a file (a JSON object, a JSON array, or JSON lines) or a sample name. */
export function readEvents(ref: string): unknown[] {
  if (!existsSync(ref)) {
    try {
      return [loadSample(ref)];
    } catch (err) {
      throw new UsageError(`"${ref}" is neither a file nor a sample: ${(err as Error).message}`);
    }
  }
  const text = readFileSync(ref, 'utf8').trim();
  if (text === '') return [];
  try {
    const value = JSON.parse(text);
    return Array.isArray(value) ? value : [value];
  } catch {
    return text.split('\n').filter((l) => l.trim()).map((line, i) => {
      try {
        return JSON.parse(line);
      } catch {
        throw new UsageError(`${ref}: line ${i + 1} is not JSON (expected a JSON array, one JSON object, or one JSON object per line)`);
      }
    });
  }
}

/** Items from a JSON or YAML file: one item, a list, or `{ <listKey>: [...] }`. */
export function readItemFile(path: string, listKey: string, noun: string): unknown[] {
  const yaml = /\.ya?ml$/i.test(path);
  if (!existsSync(path)) throw new UsageError(`${path}: no such file (expected a JSON or YAML ${noun} file)`);
  let value: unknown;
  try {
    value = yaml ? parseYaml(readFileSync(path, 'utf8')) : JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new UsageError(`${path}: not valid ${yaml ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (Array.isArray(value)) return value;
  const listed = value && typeof value === 'object' ? (value as Record<string, unknown>)[listKey] : undefined;
  if (Array.isArray(listed)) return listed;
  return [value];
}

export type CustomerLookup =
  | { readonly status: 'found'; readonly item: Record<string, unknown>; readonly customerIds: string[] }
  | { readonly status: 'erased' }
  | { readonly status: 'none' };

/** The stored profile for any external id (crmId, loyalty card, licenseId, deviceId, email) or a customerId. */
export async function findCustomer(db: DynamoDBDocumentClient, names: TableNames, ref: string): Promise<CustomerLookup> {
  let customerId = ref.startsWith('cus-') ? ref : undefined;
  if (!customerId) {
    const resolution = await new DynamoCustomerRepository(db, names).resolve(ID_KINDS.map((kind) => ({ kind, value: ref })));
    const owners = [...new Set(resolution.links.values())].sort();
    if (owners.length > 1) throw new UsageError(`"${ref}" is linked to several customers (${owners.join(', ')}); use the customerId`);
    customerId = owners[0];
    if (!customerId) return { status: resolution.erased ? 'erased' : 'none' };
  }
  const item = (await db.send(new GetCommand({ TableName: names.customers, Key: customerKey(customerId), ConsistentRead: true }))).Item;
  if (!item) return { status: 'none' };
  const formerIds = Array.isArray(item.formerIds) ? (item.formerIds as string[]) : [];
  return { status: 'found', item, customerIds: [customerId, ...formerIds] };
}

export const NOT_FOUND_HINT = `looked up as ${ID_KINDS.join(', ')} and customerId`;

/** The message for a customer that was not found. */
export const notFound = (ref: string, lookup: CustomerLookup) =>
  lookup.status === 'erased' ? `"${ref}" belonged to a customer who was erased; nothing is kept` : `no customer for "${ref}" (${NOT_FOUND_HINT})`;
