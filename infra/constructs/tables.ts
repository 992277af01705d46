// The DynamoDB tables, one per TABLES entry in lib/contract/tables.ts, and the KMS key that encrypts
// them (and Baton's queues and event archive).
import { Duration, RemovalPolicy, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { PARTITION_KEY, SORT_KEY, TABLES, TABLE_KEYS, tableEnvVar, tableName, type TableKey, type TableSpec } from '../../lib/contract/tables.ts';

/**
 * A DynamoDB action on a table, or `Query:<index>` for a query on one of its indexes. Only the
 * item-level actions Baton's repositories call; transactions are authorised per item action.
 */
export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem'
  | 'ConditionCheckItem'
  | `Query:${string}`;

/** What one function does to each table it touches; tables it does not name it cannot reach. */
export type DataAccess = Partial<Record<TableKey, readonly TableAction[]>>;

const WRITES: readonly TableAction[] = ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];

export interface TablesProps {
  /** Stage name used in the physical table names (`baton-<stage>-<table>`). */
  readonly stage: string;
  /**
   * Keep the tables (and their key) when the stack is deleted, and turn on deletion protection.
   * @default false
   */
  readonly retainData?: boolean;
  /**
   * Key that encrypts the tables.
   * @default - a new customer-managed key with yearly rotation
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Baton's tables: on demand, point-in-time recovery, encrypted with a customer-managed KMS key,
 * TTL and streams as lib/contract/tables.ts declares them.
 *
 * Why a customer-managed key rather than the AWS-owned default: the tables hold personal data, and
 * with its own key ops see every use in CloudTrail, can restrict or disable it, and can make a
 * retired stage's data unreadable. It costs $1/month plus requests DynamoDB caches per table.
 */
export class Tables extends Construct {
  readonly tables: Record<TableKey, dynamodb.TableV2>;
  readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: TablesProps) {
    super(scope, id);
    const retain = props.retainData ?? false;
    const removalPolicy = retain ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.encryptionKey =
      props.encryptionKey ??
      new kms.Key(this, 'Key', {
        description: `Baton ${props.stage}: encrypts customer data (tables, queues, event archive)`,
        enableKeyRotation: true,
        // A retained table is useless without its key, so the key follows the data's policy.
        removalPolicy,
        pendingWindow: Duration.days(30),
      });

    const tables = {} as Record<TableKey, dynamodb.TableV2>;
    for (const key of TABLE_KEYS) {
      const spec = TABLES[key];
      const stream = 'stream' in spec ? spec.stream : undefined;
      const table = new dynamodb.TableV2(this, pascal(key), {
        tableName: tableName(props.stage, key),
        partitionKey: { name: PARTITION_KEY, type: dynamodb.AttributeType.STRING },
        sortKey: { name: SORT_KEY, type: dynamodb.AttributeType.STRING },
        billing: dynamodb.Billing.onDemand(),
        encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.encryptionKey),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        timeToLiveAttribute: 'timeToLiveAttribute' in spec ? spec.timeToLiveAttribute : undefined,
        dynamoStream: stream ? dynamodb.StreamViewType[stream] : undefined,
        globalSecondaryIndexes: ('indexes' in spec ? spec.indexes : []).map((index) => ({
          indexName: index.name,
          partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
          sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.ALL,
        })),
        deletionProtection: retain,
        removalPolicy,
      });
      Tags.of(table).add('baton:holds', spec.holds.slice(0, 256).replace(/[^\p{L}\p{Z}\p{N}_.:/=+\-@]/gu, ' '));
      Tags.of(table).add('baton:personal-data', String(spec.personalData));
      tables[key] = table;
    }
    this.tables = tables;
  }

  /**
   * Grant a function role exactly the DynamoDB actions it calls, table by table (and index by
   * index), plus the key use that comes with them: `kms:Decrypt`/`kms:DescribeKey` to read, and
   * for writes `kms:Encrypt`, `kms:GenerateDataKey*` and `kms:ReEncrypt*`, which DynamoDB needs
   * from the caller with a customer-managed key (the set CDK's table grants use), on this one key.
   */
  grantData(role: iam.IRole, access: DataAccess): void {
    let writes = false;
    for (const [key, actions] of Object.entries(access) as [TableKey, readonly TableAction[]][]) {
      const table = this.tables[key];
      const onTable = actions.filter((a) => !a.includes(':'));
      if (onTable.length) {
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: onTable.map((a) => `dynamodb:${a}`), resources: [table.tableArn] }));
      }
      for (const onIndex of actions.filter((a) => a.includes(':'))) {
        const [action, index] = onIndex.split(':') as [string, string];
        const spec: TableSpec = TABLES[key];
        const indexes = spec.indexes ?? [];
        if (!indexes.some((i) => i.name === index)) {
          throw new Error(`grantData: table "${key}" has no index "${index}"; expected one of: ${indexes.map((i) => i.name).join(', ') || '(none)'}`);
        }
        role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: [`dynamodb:${action}`], resources: [`${table.tableArn}/index/${index}`] }));
      }
      writes ||= actions.some((a) => WRITES.includes(a));
    }
    this.encryptionKey.grant(role, 'kms:Decrypt', 'kms:DescribeKey', ...(writes ? ['kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ReEncrypt*'] : []));
    if (writes) {
      for (const action of ['kms:GenerateDataKey*', 'kms:ReEncrypt*']) {
        Validations.of(role).acknowledge({
          id: `AwsSolutions-IAM5[Action::${action}]`,
          reason:
            `${action} comes with writes to Baton's tables (and queues), encrypted with Baton's customer-managed key: ` +
            'DynamoDB and SQS need the data-key variants from the caller, and the statement is limited to that one key ARN.',
        });
      }
    }
  }

  /** Every table's name under the environment variable a function reads it from (lib/contract/tables.ts). */
  environment(): Record<string, string> {
    return Object.fromEntries(TABLE_KEYS.map((key) => [tableEnvVar(key), this.tables[key].tableName]));
  }
}

function pascal(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
