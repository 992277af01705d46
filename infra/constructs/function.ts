// BatonFunction: one Lambda function as every Baton handler is deployed. NodejsFunction bundled
// locally by esbuild (no Docker) into an ES module, arm64, Node.js 24, with its own role and log
// group so no AWS managed policy is attached (cdk-nag AwsSolutions-IAM4) and logs expire.
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE } from '../../lib/contract/metrics.ts';
import type { MetricName } from '../../lib/contract/metrics.ts';

/** The repository root: entries, the lock file and tsconfig.json are resolved from here. */
export const PROJECT_ROOT = path.resolve(import.meta.dirname, '../..');

/** The Powertools metrics namespace every Baton function writes to (EMF), from lib/. */
export { METRICS_NAMESPACE };

/** The runtime every Baton function uses. Pinned: cdk-nag L1 re-fires when CDK adds a newer one. */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;

/**
 * esbuild options shared by the stack and the bundling test, so the test builds exactly what
 * `cdk deploy` uploads. The banner gives ESM bundles a `require` for CommonJS dependencies.
 */
export const BUNDLING = {
  format: OutputFormat.ESM,
  target: 'node24',
  platform: 'node',
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  /** The Node.js 24 runtime ships AWS SDK for JavaScript v3: keep it out of the bundle. */
  externalModules: ['@aws-sdk/*'],
} as const;

export interface BatonFunctionProps {
  /** Handler file relative to the repository root, e.g. `functions/evaluate.ts`. */
  readonly entry: string;
  /** The export of `entry` Lambda calls. @default 'handler' */
  readonly handler?: string;
  /** Name of the handler (and the Powertools `service` dimension of its metrics), e.g. `evaluate`. */
  readonly serviceName: string;
  readonly description: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 256 */
  readonly memorySize?: number;
  /** Extra environment variables (table names, bus name...). */
  readonly environment?: Record<string, string>;
  /** Reserved concurrency: the most instances that may run at once. @default - unreserved */
  readonly reservedConcurrentExecutions?: number;
  /** How long the function's logs are kept. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default RemovalPolicy.DESTROY (logs expire anyway) */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default lambda.Tracing.ACTIVE */
  readonly tracing?: lambda.Tracing;
}

/** A Baton handler as a Lambda function, with an explicit role and log group. */
export class BatonFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly serviceName: string;
  readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: BatonFunctionProps) {
    super(scope, id);
    this.serviceName = props.serviceName;
    this.timeout = props.timeout ?? Duration.seconds(30);
    const tracing = props.tracing ?? lambda.Tracing.ACTIVE;

    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Baton ${props.serviceName} function`,
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });

    this.function = new NodejsFunction(this, 'Function', {
      entry: path.join(PROJECT_ROOT, props.entry),
      handler: props.handler ?? 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      description: props.description,
      memorySize: props.memorySize ?? 256,
      timeout: this.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      tracing,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...props.environment,
      },
      bundling: { ...BUNDLING, mainFields: [...BUNDLING.mainFields], externalModules: [...BUNDLING.externalModules] },
    });
    // Only CreateLogStream/PutLogEvents on this log group: no AWSLambdaBasicExecutionRole.
    this.logGroup.grantWrite(this.role);

    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Baton functions are only invoked synchronously by event source mappings; a function DLQ only ' +
        'catches asynchronous invocations. Failed records go to the SQS redrive DLQ (evaluate) or the ' +
        'stream on-failure DLQ (dispatch), both alarmed.',
    });
    if (tracing === lambda.Tracing.ACTIVE) {
      // Lambda adds xray:PutTraceSegments/PutTelemetryRecords on "*" to the role's default policy.
      // Keep other "*" resources out of that policy (own iam.Policy) so this reason stays true.
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource ' +
          'ARNs, so AWS requires Resource "*" for them (see the X-Ray service authorization reference).',
      });
    }
  }

  /** One of this function's Powertools metrics (namespace Baton, dimension `service`). */
  metric(metricName: MetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: this.serviceName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...options,
    });
  }
}
