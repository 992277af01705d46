// The analytical export: settings → the pseudonyms (the aggregates table, the export secret) and
// the sink (the bucket in the cloud, a folder locally) → the exporter the table streams feed
// (functions/export.ts in the cloud, stream pollers locally) and `baton export` runs once.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExportSettings, Settings } from '../contract/config.ts';
import type { TableNames } from '../contract/tables.ts';
import type { ExportSink } from '../app/ports.ts';
import { createExporter, type ExportFilter } from '../app/export.ts';
import { DynamoPseudonyms } from '../adapters/dynamo/pseudonyms.ts';
import { FolderSink } from '../adapters/export/parquet.ts';
import { S3ExportSink } from '../adapters/aws/s3-export.ts';
import { exportInputOf, scanForExport, type ExportTable, type ItemChangeOf } from '../adapters/dynamo/export-sources.ts';
import { awsClients } from './clients.ts';
import { secretText } from './secrets.ts';

export { exportInputOf, scanForExport, type ExportTable, type ItemChangeOf };

export function exportSinkOf(settings: Pick<ExportSettings, 'bucket' | 'folder'>, aws: Settings['aws'] = { endpoints: {} }): ExportSink {
  if (settings.folder) return new FolderSink(settings.folder);
  if (settings.bucket) return new S3ExportSink(settings.bucket, { ...(aws.region ? { region: aws.region } : {}) });
  throw new Error('the analytical export needs a bucket or a folder');
}

/** The exporter on the settings' tables, secret and sink. */
export async function exporterFor(settings: Settings & { export: ExportSettings }, db?: DynamoDBDocumentClient, sink?: ExportSink) {
  const clients = awsClients(settings.aws);
  const secret = await secretText(settings.export.secret, clients);
  return createExporter({
    pseudonyms: new DynamoPseudonyms(db ?? clients.dynamodb(), settings.tables.aggregates, secret),
    sink: sink ?? exportSinkOf(settings.export, settings.aws),
  });
}

/** Which export table a stream's source is, from its table name. */
export function exportTableOf(tables: Pick<TableNames, ExportTable>, tableName: string): ExportTable | undefined {
  return (['decisions', 'ledger', 'customers'] as const).find((t) => tables[t] === tableName);
}

/** `baton export`: one table scanned, every item as if just written, rows of the filter to a folder. */
export async function exportOnce(o: {
  db: DynamoDBDocumentClient;
  tables: TableNames;
  table: ExportTable;
  folder: string;
  secret: ExportSettings['secret'];
  filter: ExportFilter;
}): Promise<{ rows: number; files: string[] }> {
  const secret = await secretText(o.secret, awsClients({ endpoints: {} }));
  const run = createExporter({ pseudonyms: new DynamoPseudonyms(o.db, o.tables.aggregates, secret), sink: new FolderSink(o.folder) });
  let rows = 0;
  const files: string[] = [];
  await scanForExport(o.db, o.tables[o.table], o.table, async (inputs) => {
    const out = await run(inputs, o.filter);
    rows += out.rows;
    files.push(...out.files);
  });
  return { rows, files: [...new Set(files)] };
}
