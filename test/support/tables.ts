// A test's own set of Baton tables on the suite's DynamoDB Local, for tests that scan whole tables
// or compare them item for item: the shared tables hold every other test's data.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_KEYS, tableNames, type TableKey, type TableNames } from '../../lib/contract/tables.ts';
import { createTables } from '../../local/tables.ts';
import { LOCAL_CREDENTIALS, LOCAL_REGION } from '../../local/constants.ts';
import { endpoints, unique } from './local.ts';

export async function freshTables(prefix: string): Promise<TableNames> {
  const names = tableNames(unique(prefix));
  const raw = new DynamoDBClient({ endpoint: endpoints().dynamodb, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  try {
    await createTables(raw, names);
  } finally {
    raw.destroy();
  }
  return names;
}

export type Item = Record<string, unknown>;

/** Every item of one table (all pages, consistent reads). */
export async function scanTable(db: DynamoDBDocumentClient, table: string): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** Every item of every table. */
export async function scanAll(db: DynamoDBDocumentClient, names: TableNames): Promise<Record<TableKey, Item[]>> {
  const entries = await Promise.all(TABLE_KEYS.map(async (key) => [key, await scanTable(db, names[key])] as const));
  return Object.fromEntries(entries) as Record<TableKey, Item[]>;
}
