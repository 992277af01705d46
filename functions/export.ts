// export: the decisions, ledger and customers tables' streams → the analytical export
// (lib/app/export.ts): pseudonymised rows as Parquet in the export bucket, one file per kind and
// day per batch. A batch that fails is retried whole; its files are named by their rows, so the
// retry replaces them rather than adding copies.
import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { parseSettings, type ExportSettings, type Settings } from '../lib/contract/config.ts';
import type { ExportInput, ExportOutcome } from '../lib/app/export.ts';
import { exporterFor, exportInputOf, exportTableOf } from '../lib/wiring/export.ts';
import { once } from '../lib/wiring/once.ts';
import { observability, type ObservabilityOptions } from '../lib/wiring/observability.ts';

type Image = Parameters<typeof unmarshall>[0];

/** The table a stream record comes from: its ARN is `arn:…:table/<name>/stream/<time>`. */
export const tableOfArn = (arn: string | undefined) => /:table\/([^/]+)\/stream\//.exec(arn ?? '')?.[1];

export interface ExportRun {
  readonly tables: Settings['tables'];
  readonly run: (inputs: readonly ExportInput[]) => Promise<ExportOutcome>;
}

/** The export inputs of a batch, in the stream's order (records of other tables or items are left out). */
export function inputsOf(tables: Settings['tables'], records: readonly DynamoDBRecord[]): ExportInput[] {
  return records.flatMap((r) => {
    const table = exportTableOf(tables, tableOfArn(r.eventSourceARN) ?? '');
    const d = r.dynamodb ?? {};
    if (!table || !d.NewImage) return [];
    const input = exportInputOf(table, {
      id: r.eventID ?? String(d.SequenceNumber),
      newItem: unmarshall(d.NewImage as Image),
      oldItem: d.OldImage ? unmarshall(d.OldImage as Image) : undefined,
    });
    return input ? [input] : [];
  });
}

export function exportHandler(
  build: () => Promise<ExportRun> = async () => {
    const settings = parseSettings(process.env);
    if (!settings.export) throw new Error('the export function needs its bucket and secret settings');
    return { tables: settings.tables, run: await exporterFor(settings as Settings & { export: ExportSettings }) };
  },
  options: ObservabilityOptions = {},
) {
  const o = observability('export', options);
  const ready = once(build);
  return middy(async function exportBatch(event: DynamoDBStreamEvent, _context: Context) {
    const { tables, run } = await ready();
    const out = await run(inputsOf(tables, event.Records));
    o.logger.info('exported', { rows: out.rows, files: out.files.length, forgotten: out.forgotten, dropped: out.dropped });
  }).use(injectLambdaContext(o.logger));
}

export const handler = exportHandler();
