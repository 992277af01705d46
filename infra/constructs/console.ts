// The marketer's console in the cloud (docs/console.md): the static site in a private, encrypted
// S3 bucket behind CloudFront (origin access control: only the distribution reads it), a Cognito
// user pool with the four groups (MFA available: TOTP, optional), and the console API on API
// Gateway (REST) behind a Cognito user-pool authorizer. Its function reads and writes only what
// the console does, per table and action. The site's files are uploaded by the deploy step
// (esbuild bundle of console/), not committed.
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import * as events from 'aws-cdk-lib/aws-events';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { CONSOLE_GROUPS } from '../../lib/contract/console.ts';
import { putEventsStatement } from './access.ts';
import { BatonFunction } from './function.ts';
import type { Tables } from './tables.ts';

export interface ConsoleProps {
  readonly stage: string;
  readonly tables: Tables;
  readonly environment: Record<string, string>;
  /** Where an erasure from the console goes: a crm CustomerErased, as the CRM sends it. */
  readonly bus: events.IEventBus;
  /** Keep the user pool when the stack is deleted. @default false */
  readonly retainUsers?: boolean;
  /** Four eyes on rule changes. @default true */
  readonly fourEyes?: boolean;
}

export const CONSOLE_HANDLER = { entry: 'functions/console-api.ts', handler: 'handler' } as const;

export class Console extends Construct {
  readonly siteBucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly userPool: cognito.UserPool;
  readonly api: apigateway.RestApi;
  readonly function: BatonFunction;

  constructor(scope: Construct, id: string, props: ConsoleProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // CloudFront standard logs are written through ACLs.
      objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
      lifecycleRules: [{ expiration: Duration.days(90) }],
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.siteBucket = new s3.Bucket(this, 'Site', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'site/',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: `Baton ${props.stage}: the marketer's console`,
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.siteBucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        responseHeadersPolicy: cloudfront.ResponseHeadersPolicy.SECURITY_HEADERS,
      },
      enableLogging: true,
      logBucket: accessLogs,
      logFilePrefix: 'cloudfront/',
    });
    Validations.of(this.distribution).acknowledge(
      { id: 'AwsSolutions-CFR1', reason: 'The console is for the company\'s marketers wherever they work; sign-in (Cognito, MFA available) guards it, not geography.' },
      { id: 'AwsSolutions-CFR2', reason: 'The site is static files; every data call goes to the API, which requires a Cognito token. A WAF web ACL can be attached per deployment (docs/console.md).' },
      { id: 'AwsSolutions-CFR4', reason: 'Served on the default CloudFront domain, whose certificate and TLS policy CloudFront fixes; a custom domain with its own ACM certificate can set TLS 1.2 as the minimum.' },
    );

    this.userPool = new cognito.UserPool(this, 'Users', {
      userPoolName: `baton-${props.stage}-console`,
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      mfa: cognito.Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: { minLength: 12, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true, tempPasswordValidity: Duration.days(3) },
      accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
      featurePlan: cognito.FeaturePlan.PLUS,
      standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
      // The tenant a user belongs to: the console API compares it with its own (BATON_CONSOLE_TENANT).
      customAttributes: { tenant: new cognito.StringAttribute({ minLen: 1, maxLen: 64, mutable: false }) },
      removalPolicy: props.retainUsers ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    Validations.of(this.userPool).acknowledge({
      id: 'AwsSolutions-COG2',
      reason: 'MFA is available to every user (TOTP) and optional: an organisation that requires it sets it per deployment; marketers without an authenticator app can still be onboarded.',
    });
    CONSOLE_GROUPS.forEach((group, i) => {
      new cognito.CfnUserPoolGroup(this, `Group${group}`, {
        userPoolId: this.userPool.userPoolId,
        groupName: group,
        description: `Baton console: ${group}`,
        precedence: CONSOLE_GROUPS.length - i,
      });
    });
    const client = this.userPool.addClient('Site', {
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL],
        callbackUrls: [`https://${this.distribution.distributionDomainName}/`],
        logoutUrls: [`https://${this.distribution.distributionDomainName}/`],
      },
      preventUserExistenceErrors: true,
      idTokenValidity: Duration.hours(1),
      accessTokenValidity: Duration.hours(1),
    });

    this.function = new BatonFunction(this, 'Function', {
      ...CONSOLE_HANDLER,
      serviceName: 'console-api',
      description: 'Baton: the marketer\'s console API (rules with four eyes, journeys, segments, reports, customers, quarantine)',
      timeout: Duration.seconds(15),
      memorySize: 512,
      environment: {
        ...props.environment,
        ...props.tables.environment(),
        BATON_CONSOLE_TENANT: props.stage,
        BATON_CONSOLE_FOUR_EYES: props.fourEyes === false ? 'off' : 'on',
        // A replay runs ingest, with ingest's writes to every table: not this function's to have
        // (`baton quarantine replay --cloud` replays with the operator's rights).
        BATON_CONSOLE_REPLAY: 'off',
      },
    });
    // What the console reads and writes, per table: rules, their versions, pending changes and the
    // audit, segment definitions (rules table); a journey's status as its next version (campaigns,
    // a transaction of Puts); profiles, the identity index, journey positions (Scan) and segment
    // members (Query), decisions (read only); templates and campaigns for validation and the dry
    // run; quarantine to list; run items and segment counts (counters); the report aggregates.
    props.tables.grantData(this.function.role, {
      rules: ['GetItem', 'Query', 'Scan', 'PutItem', 'UpdateItem'],
      customers: ['GetItem', 'BatchGetItem', 'Query', 'Scan'],
      decisions: ['Query:byCustomer'],
      templates: ['Query', 'GetItem'],
      campaigns: ['Scan', 'Query', 'PutItem'],
      quarantine: ['Query'],
      counters: ['GetItem', 'BatchGetItem', 'Query'],
      aggregates: ['Query'],
    });
    // Erasure from the customer page: the crm CustomerErased only.
    this.function.role.addToPrincipalPolicy(putEventsStatement(props.bus.eventBusArn, 'baton.crm', ['CustomerErased']));
    // The rules' versioned writes are transactions (TransactWriteItems is authorised per item as PutItem).

    const apiLogs = new logs.LogGroup(this, 'ApiLogs', { retention: logs.RetentionDays.ONE_MONTH, removalPolicy: RemovalPolicy.DESTROY });
    const authorizer = new apigateway.CognitoUserPoolsAuthorizer(this, 'Authorizer', { cognitoUserPools: [this.userPool] });
    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: `baton-${props.stage}-console`,
      description: `Baton ${props.stage}: the marketer's console API`,
      cloudWatchRole: false,
      deployOptions: {
        stageName: 'v1',
        tracingEnabled: true,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        throttlingRateLimit: 50,
        throttlingBurstLimit: 100,
        accessLogDestination: new apigateway.LogGroupLogDestination(apiLogs),
        accessLogFormat: apigateway.AccessLogFormat.custom(
          JSON.stringify({ requestId: '$context.requestId', time: '$context.requestTime', method: '$context.httpMethod', resource: '$context.resourcePath', status: '$context.status', user: '$context.authorizer.claims.cognito:username', latencyMs: '$context.responseLatency' }),
        ),
      },
      defaultCorsPreflightOptions: { allowOrigins: [`https://${this.distribution.distributionDomainName}`], allowHeaders: ['authorization', 'content-type'] },
      defaultMethodOptions: { authorizer, authorizationType: apigateway.AuthorizationType.COGNITO },
    });
    const validator = this.api.addRequestValidator('Validator', { validateRequestBody: false, validateRequestParameters: true });
    const integration = new apigateway.LambdaIntegration(this.function.function);
    const consoleRoot = this.api.root.addResource('console').addResource('api');
    consoleRoot.addProxy({ defaultIntegration: integration, anyMethod: true, defaultMethodOptions: { authorizer, authorizationType: apigateway.AuthorizationType.COGNITO, requestValidator: validator } });
    Validations.of(this.api).acknowledge(
      { id: 'AwsSolutions-APIG3', reason: 'Every method requires a Cognito token of the console\'s user pool; a WAF web ACL can be associated per deployment (docs/console.md).' },
      { id: 'AwsSolutions-APIG2', reason: 'Bodies are validated by the function with the same zod schemas as the CLI, which name the field at fault; a duplicate JSON schema here would drift from them.' },
    );

    new CfnOutput(stack, 'ConsoleUrl', { value: `https://${this.distribution.distributionDomainName}/`, description: 'The marketer\'s console' });
    new CfnOutput(stack, 'ConsoleApiUrl', { value: this.api.urlForPath('/console/api'), description: 'The console API (Cognito tokens)' });
    new CfnOutput(stack, 'ConsoleUserPoolId', { value: this.userPool.userPoolId });
    new CfnOutput(stack, 'ConsoleUserPoolClientId', { value: client.userPoolClientId });
    new CfnOutput(stack, 'ConsoleSiteBucket', { value: this.siteBucket.bucketName, description: 'Upload the console bundle here' });
  }
}
