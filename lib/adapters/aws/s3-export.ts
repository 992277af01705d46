// The analytical export's files in S3 (the export bucket): the same Parquet files as the folder
// sink, one PutObject each. The S3 client is the one the Lambda runtime ships (AWS SDK v3, kept out
// of the bundle like every @aws-sdk module, infra/constructs/function.ts); it is not a dependency
// of this repository, so it is loaded by name when the first file is written.
import type { ExportSink } from '../../app/ports.ts';
import type { ExportBatch } from '../../core/reports/export.ts';
import { batchFilePath, encodeParquet } from '../export/parquet.ts';

/** The part of @aws-sdk/client-s3 this uses. */
interface S3Module {
  S3Client: new (config: Record<string, unknown>) => { send(command: unknown): Promise<unknown> };
  PutObjectCommand: new (input: Record<string, unknown>) => unknown;
}

const S3_MODULE = '@aws-sdk/client-s3';

export class S3ExportSink implements ExportSink {
  private client: Promise<{ s3: InstanceType<S3Module['S3Client']>; Put: S3Module['PutObjectCommand'] }> | undefined;

  constructor(
    private readonly bucket: string,
    private readonly config: Record<string, unknown> = {},
  ) {}

  async write(batch: ExportBatch): Promise<string> {
    this.client ??= (import(S3_MODULE) as Promise<S3Module>).then((m) => ({ s3: new m.S3Client(this.config), Put: m.PutObjectCommand }));
    const { s3, Put } = await this.client;
    const path = batchFilePath(batch);
    await s3.send(new Put({ Bucket: this.bucket, Key: path, Body: encodeParquet(batch), ContentType: 'application/vnd.apache.parquet' }));
    return path;
  }
}
