// The analytical export's files: each batch of rows as one Parquet file (hyparquet-writer) under
// `kind=<kind>/day=<day>/`, and the folder the local stack and `baton export` write them to.
import { createHash } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ExportSink } from '../../app/ports.ts';
import { EXPORT_COLUMNS, partitionPath, type ExportBatch } from '../../core/reports/export.ts';

/** One Parquet file of the batch's rows, every column of its kind typed (nullable). */
export function encodeParquet(batch: ExportBatch): Uint8Array {
  const columns = EXPORT_COLUMNS[batch.kind] as Record<string, 'STRING' | 'INT64' | 'DOUBLE' | 'BOOLEAN' | 'TIMESTAMP'>;
  const buffer = parquetWriteBuffer({
    columnData: Object.entries(columns).map(([name, type]) => ({
      name,
      type,
      data: batch.rows.map((r) => {
        const v = r[name] ?? null;
        return type === 'INT64' && typeof v === 'number' ? BigInt(v) : v;
      }),
    })),
    createdBy: 'baton export',
  });
  return new Uint8Array(buffer);
}

/**
 * The file a batch goes to. Named by its rows' ids: a retried stream batch writes the same file
 * again (replacing it) instead of a second copy.
 */
export function batchFilePath(batch: ExportBatch): string {
  const ids = createHash('sha256')
    .update(batch.rows.map((r) => String(r.row_id)).sort().join('\n'))
    .digest('hex')
    .slice(0, 24);
  return `${partitionPath(batch.kind, batch.day)}/part-${ids}.parquet`;
}

/** Export files in a folder (the local stack's, or `baton export --out`). */
export class FolderSink implements ExportSink {
  constructor(readonly root: string) {}

  async write(batch: ExportBatch): Promise<string> {
    const path = batchFilePath(batch);
    const target = join(this.root, path);
    await mkdir(dirname(target), { recursive: true });
    // A dot file while written: readers glob *.parquet and never see half a file.
    const partial = join(dirname(target), `.${process.pid}-${basename(target)}.partial`);
    await writeFile(partial, encodeParquet(batch));
    await rename(partial, target);
    return path;
  }
}

