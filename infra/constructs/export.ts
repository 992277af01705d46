// The analytical export in the cloud (docs/reports.md): a Lambda on the decisions, ledger and
// customers tables' streams writes pseudonymised rows as Parquet to an S3 bucket, partitioned
// kind=<kind>/day=<day>/, and a Glue database with one table per kind lets an analyst query them
// with Athena (partition projection: no crawler, no partitions to add).
//
// Why a Lambda and not Kinesis Data Firehose: the rows need the per-customer pseudonym key (read
// and made in the aggregates table) and erasure must destroy it, which a Firehose transform could
// do as well, but Firehose's Parquet conversion adds a delivery stream, a Kinesis source or a
// second hop per table, and buffers of its own; the Lambda writes the same files the laptop writes
// (hyparquet-writer), so the local stack and the cloud share one tested path.
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as glue from 'aws-cdk-lib/aws-glue';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ENV } from '../../lib/contract/config.ts';
import { EXPORT_COLUMNS, EXPORT_KINDS, type ColumnType } from '../../lib/contract/export.ts';
import { BatonFunction } from './function.ts';
import type { Tables } from './tables.ts';

export interface ExportProps {
  readonly stage: string;
  readonly tables: Tables;
  readonly environment: Record<string, string>;
  /** Where stream batches go that could not be exported after the retries. */
  readonly deadLetterQueue: sqs.IQueue;
  /** Keep the bucket when the stack is deleted. @default true */
  readonly retain?: boolean;
  /** Days an export file is kept. @default 400 (as long as decisions) */
  readonly retentionDays?: number;
}

const GLUE_TYPE: Record<ColumnType, string> = { STRING: 'string', INT64: 'bigint', DOUBLE: 'double', BOOLEAN: 'boolean', TIMESTAMP: 'timestamp' };
/** The first day partition projection offers; later days appear by themselves. */
const FIRST_DAY = '2026-01-01';

export class AnalyticalExport extends Construct {
  readonly bucket: s3.Bucket;
  readonly secret: secretsmanager.Secret;
  readonly database: glue.CfnDatabase;
  readonly function: BatonFunction;

  constructor(scope: Construct, id: string, props: ExportProps) {
    super(scope, id);
    const retain = props.retain ?? true;
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: false,
      lifecycleRules: [{ expiration: Duration.days(props.retentionDays ?? 400), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      removalPolicy: retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      autoDeleteObjects: false,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Only the export function writes here and analysts read through Athena, whose queries CloudTrail records; ' +
        'the rows are pseudonymised (no personal data), so server access logs would add a second bucket for little.',
    });
    // Pseudonyms are keyed with this secret and a per-customer key (lib/adapters/dynamo/pseudonyms.ts).
    this.secret = new secretsmanager.Secret(this, 'PseudonymSecret', {
      description: `Baton ${props.stage}: keys the analytical export's pseudonyms of customers`,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the pseudonym secret gives every customer a new pseudonym from then on, which splits analyses across the change; ' +
        'erasure does not depend on it (it destroys the per-customer key). Rotate by hand (new value + deploy) if it leaks.',
    });

    const databaseName = `baton_${props.stage.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_export`;
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Stack.of(this).account,
      databaseInput: { name: databaseName, description: `Baton ${props.stage}: the analytical export (pseudonymised), one table per kind` },
    });
    for (const kind of EXPORT_KINDS) {
      const location = `s3://${this.bucket.bucketName}/kind=${kind}/`;
      const table = new glue.CfnTable(this, `${kind}Table`, {
        catalogId: Stack.of(this).account,
        databaseName,
        tableInput: {
          name: kind,
          description: `Baton's exported ${kind} (docs/reports.md)`,
          tableType: 'EXTERNAL_TABLE',
          partitionKeys: [{ name: 'day', type: 'string' }],
          parameters: {
            classification: 'parquet',
            'projection.enabled': 'true',
            'projection.day.type': 'date',
            'projection.day.format': 'yyyy-MM-dd',
            'projection.day.range': `${FIRST_DAY},NOW`,
            'projection.day.interval': '1',
            'projection.day.interval.unit': 'DAYS',
            'storage.location.template': `${location}day=\${day}/`,
          },
          storageDescriptor: {
            location,
            inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
            outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
            serdeInfo: { serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe' },
            columns: Object.entries(EXPORT_COLUMNS[kind] as Record<string, ColumnType>).map(([name, type]) => ({ name, type: GLUE_TYPE[type] })),
          },
        },
      });
      table.addDependency(this.database);
    }

    this.function = new BatonFunction(this, 'Function', {
      entry: 'functions/export.ts',
      serviceName: 'export',
      description: 'Baton: writes the analytical export (pseudonymised Parquet) from the tables\' streams',
      timeout: Duration.seconds(60),
      memorySize: 512,
      environment: {
        ...props.environment,
        ...props.tables.environment(),
        [ENV.exportBucket]: this.bucket.bucketName,
        [ENV.exportSecretArn]: this.secret.secretArn,
      },
    });
    // Pseudonym keys: read, made once (conditional put), replaced by the forgotten mark on erasure.
    props.tables.grantData(this.function.role, { aggregates: ['GetItem', 'PutItem'] });
    // PutObject only (no Abort*, no reads), on the export's partitions.
    this.function.role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [this.bucket.arnForObjects('kind=*')] }));
    const bucketId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as s3.CfnBucket);
    Validations.of(this.function.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/kind=*]`,
      reason: 'The export writes a new object per batch under kind=<kind>/day=<day>/; their names are not known in advance. PutObject only, this bucket only.',
    });
    this.secret.grantRead(this.function.role);
    for (const key of ['decisions', 'ledger', 'customers'] as const) {
      this.function.function.addEventSource(
        new DynamoEventSource(props.tables.tables[key], {
          startingPosition: lambda.StartingPosition.TRIM_HORIZON,
          batchSize: 500,
          maxBatchingWindow: Duration.seconds(30),
          bisectBatchOnError: true,
          retryAttempts: 10,
          maxRecordAge: Duration.hours(6),
          onFailure: new SqsDlq(props.deadLetterQueue),
        }),
      );
    }
  }
}
