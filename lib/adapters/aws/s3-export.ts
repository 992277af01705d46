// The analytical export's files in S3 (the export bucket): the same Parquet files as the folder
// sink, one PutObject each. @aws-sdk/client-s3 is a dependency here and, like every @aws-sdk
// module, left out of the Lambda bundle for the runtime's own copy (infra/constructs/function.ts).
import { PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import type { ExportSink } from '../../app/ports.ts';
import type { ExportBatch } from '../../core/reports/export.ts';
import { batchFilePath, encodeParquet } from '../export/parquet.ts';

export class S3ExportSink implements ExportSink {
  private s3: S3Client | undefined;

  constructor(
    private readonly bucket: string,
    private readonly config: S3ClientConfig = {},
  ) {}

  async write(batch: ExportBatch): Promise<string> {
    // Made on the first file: an export batch with nothing to write never builds a client.
    this.s3 ??= new S3Client(this.config);
    const path = batchFilePath(batch);
    await this.s3.send(new PutObjectCommand({ Bucket: this.bucket, Key: path, Body: encodeParquet(batch), ContentType: 'application/vnd.apache.parquet' }));
    return path;
  }
}
