// Shared bits of the CLI: clients from flags, reading event files, exit codes.
import { readFileSync, existsSync } from 'node:fs';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ID_KINDS } from '../events/catalog.ts';
import { idKey } from '../lib/core/customer/identity.ts';
import { customerKey } from '../lib/adapters/dynamo/customers.ts';
import { documentClient } from '../lib/adapters/dynamo/client.ts';
import { tableNames, type TableNames } from '../lib/contract/tables.ts';
import { loadSample } from '../events/samples.ts';
import { DEFAULT_PORTS, LOCAL_CREDENTIALS, LOCAL_REGION, LOCAL_STAGE } from '../local/constants.ts';

/** A user error: printed as one line, exit code 2. */
export class UsageError extends Error {}

export interface TargetFlags {
  endpoint?: string | undefined;
  region?: string | undefined;
  stage?: string | undefined;
  cloud?: boolean | undefined;
  bus?: string | undefined;
}

/** Every flag the CLI knows; commands read the ones they need (parseArgs leaves unknown ones as given). */
export type CliFlags = TargetFlags & { json?: boolean | undefined } & Record<string, string | boolean | undefined>;

/** AWS when asked (--cloud, or --bus without --endpoint, as ops name their bus); the local stack otherwise. */
const isCloud = (flags: TargetFlags) => !flags.endpoint && (flags.cloud === true || flags.bus !== undefined);

const localBusEndpoint = () => `http://127.0.0.1:${process.env.BATON_BUS_PORT ?? DEFAULT_PORTS.bus}`;
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

export function tables(flags: TargetFlags): { db: ReturnType<typeof documentClient>; raw: DynamoDBClient; names: TableNames } {
  const cloud = isCloud(flags);
  const config = cloud
    ? flags.region
      ? { region: flags.region }
      : {}
    : { endpoint: flags.endpoint ?? localDynamoEndpoint(), region: flags.region ?? LOCAL_REGION, credentials: LOCAL_CREDENTIALS };
  return { db: documentClient(config), raw: new DynamoDBClient(config), names: tableNames(flags.stage ?? (cloud ? 'dev' : LOCAL_STAGE)) };
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

/** The stored profile item for any external id (crmId, loyalty card, licenseId, deviceId, email) or a customerId. */
export async function findCustomerItem(
  db: ReturnType<typeof documentClient>,
  names: TableNames,
  ref: string,
): Promise<Record<string, unknown> | undefined> {
  let customerId = ref.startsWith('cus-') ? ref : undefined;
  if (!customerId) {
    const keys = ID_KINDS.map((kind) => ({ pk: `ID#${idKey({ kind, value: ref })}`, sk: 'ID' }));
    const out = await db.send(new BatchGetCommand({ RequestItems: { [names.customers]: { Keys: keys } } }));
    const owners = [...new Set((out.Responses?.[names.customers] ?? []).map((i) => i.customerId as string))];
    if (owners.length > 1) throw new UsageError(`"${ref}" is linked to several customers (${owners.join(', ')}); use the customerId`);
    customerId = owners[0];
  }
  if (!customerId) return undefined;
  return (await db.send(new GetCommand({ TableName: names.customers, Key: customerKey(customerId), ConsistentRead: true }))).Item;
}

export const NOT_FOUND_HINT = `looked up as ${ID_KINDS.join(', ')} and customerId`;
