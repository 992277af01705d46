// Creates Baton's tables on DynamoDB Local from the same definitions the CDK stack uses.
import {
  CreateTableCommand,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { TABLES, TABLE_KEYS, PARTITION_KEY, SORT_KEY, type TableKey, type TableNames, type TableSpec } from '../lib/contract/tables.ts';
import { EXPORT_ONLY_STREAMS } from '../lib/contract/export.ts';

export interface TableOptions {
  /** `false` leaves TTL off (DynamoDB Local expires items by the real clock). @default true */
  readonly timeToLive?: boolean;
  /**
   * Turn on the streams only the analytical export reads (customers, ledger). Off, those tables
   * have none: every write to a stream-enabled table costs DynamoDB Local time. @default false
   */
  readonly exportStreams?: boolean;
}

export async function createTables(client: DynamoDBClient, names: TableNames, { timeToLive = true, exportStreams = false }: TableOptions = {}): Promise<void> {
  const streamed = (key: TableKey) => exportStreams || !(EXPORT_ONLY_STREAMS as readonly string[]).includes(key);
  await Promise.all(
    TABLE_KEYS.map((key) => {
      const { stream, ...spec } = TABLES[key] as TableSpec;
      return createTable(client, names[key], stream && streamed(key) ? { ...spec, stream } : spec, timeToLive);
    }),
  );
}

async function createTable(client: DynamoDBClient, name: string, spec: TableSpec, timeToLive = true): Promise<void> {
  const indexes = spec.indexes ?? [];
  const attributes = new Set([PARTITION_KEY, SORT_KEY, ...indexes.flatMap((i) => [i.partitionKey, i.sortKey])]);
  const input: CreateTableCommandInput = {
    TableName: name,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [...attributes].map((AttributeName) => ({ AttributeName, AttributeType: 'S' })),
    KeySchema: [
      { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
      { AttributeName: SORT_KEY, KeyType: 'RANGE' },
    ],
    ...(indexes.length
      ? {
          GlobalSecondaryIndexes: indexes.map((i) => ({
            IndexName: i.name,
            KeySchema: [
              { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
              { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
            ],
            Projection: { ProjectionType: 'ALL' as const },
          })),
        }
      : {}),
    ...(spec.stream ? { StreamSpecification: { StreamEnabled: true, StreamViewType: spec.stream } } : {}),
  };
  try {
    await client.send(new CreateTableCommand(input));
  } catch (err) {
    // Tables survive in a --persist directory; creating them again is not an error, but one kept
    // from a run without the export has no stream yet.
    if ((err as { name?: string }).name !== 'ResourceInUseException') throw err;
    if (spec.stream) await enableStream(client, name, spec.stream);
    return;
  }
  if (spec.timeToLiveAttribute && timeToLive) {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { Enabled: true, AttributeName: spec.timeToLiveAttribute } }),
    );
  }
}

async function enableStream(client: DynamoDBClient, name: string, view: NonNullable<TableSpec['stream']>): Promise<void> {
  const out = await client.send(new DescribeTableCommand({ TableName: name }));
  if (out.Table?.StreamSpecification?.StreamEnabled) return;
  await client.send(new UpdateTableCommand({ TableName: name, StreamSpecification: { StreamEnabled: true, StreamViewType: view } }));
}

export async function streamArn(client: DynamoDBClient, table: string): Promise<string> {
  const out = await client.send(new DescribeTableCommand({ TableName: table }));
  const arn = out.Table?.LatestStreamArn;
  if (!arn) throw new Error(`table ${table} has no stream`);
  return arn;
}

/** The local Scheduler's table (local/scheduler.ts): no cloud twin, Scheduler keeps its own schedules. */
export function schedulesTableName(stage: string): string {
  return `baton-${stage}-local-schedules`;
}

export async function createSchedulesTable(client: DynamoDBClient, name: string): Promise<void> {
  await createTable(client, name, { holds: 'the local Scheduler\'s schedules (Input names customers)', personalData: true });
}
