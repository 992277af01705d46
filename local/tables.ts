// Creates Baton's tables on DynamoDB Local from the same definitions the CDK stack uses.
import {
  CreateTableCommand,
  UpdateTimeToLiveCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  type CreateTableCommandInput,
} from '@aws-sdk/client-dynamodb';
import { TABLES, TABLE_KEYS, PARTITION_KEY, SORT_KEY, type TableNames, type TableSpec } from '../lib/contract/tables.ts';

/** `timeToLive: false` leaves TTL off (DynamoDB Local expires items by the real clock). @default true */
export async function createTables(client: DynamoDBClient, names: TableNames, { timeToLive = true }: { timeToLive?: boolean } = {}): Promise<void> {
  await Promise.all(TABLE_KEYS.map((key) => createTable(client, names[key], TABLES[key], timeToLive)));
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
    // Tables survive in a --persist directory; creating them again is not an error.
    if ((err as { name?: string }).name !== 'ResourceInUseException') throw err;
    return;
  }
  if (spec.timeToLiveAttribute && timeToLive) {
    await client.send(
      new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { Enabled: true, AttributeName: spec.timeToLiveAttribute } }),
    );
  }
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
