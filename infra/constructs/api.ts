// The decision API for inbound channels: an API Gateway HTTP API with IAM authorisation (callers
// sign with SigV4 and need execute-api:Invoke on the route), JSON access logs without query
// strings (unsubscribe tokens name a customer), stage throttling, and the decisions-api function.
// The same API serves the public one-click unsubscribe page (signed links, no IAM) from a function
// of its own, which may only read a profile and publish ConsentChanged: a flaw on that open route
// cannot reach what the decisions function may do, nor publish any other CRM event.
import { CfnOutput, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { SOURCES, type CATALOG } from '../../events/catalog.ts';
import { ENV } from '../../lib/contract/config.ts';
import { putEventsStatement } from './access.ts';
import { BatonFunction } from './function.ts';
import type { Tables } from './tables.ts';

/** One exported handler of a file in functions/. */
export interface HandlerRef {
  /** File relative to the repository root, e.g. `functions/decisions-api.ts`. */
  readonly entry: string;
  /** The export Lambda calls. */
  readonly handler: string;
}

/** Serves POST /v1/decisions. */
export const DECISIONS_HANDLER: HandlerRef = { entry: 'functions/decisions-api.ts', handler: 'handler' };
/**
 * Serves GET and POST /unsubscribe. For now the decision API's own `handler` (it routes by path,
 * and this function is given only the unsubscribe routes and the rights they need); point it at a
 * dedicated export once functions/decisions-api.ts has one.
 */
export const UNSUBSCRIBE_HANDLER: HandlerRef = { entry: 'functions/decisions-api.ts', handler: 'handler' };

/** The one event the unsubscribe route publishes (as the CRM's consent record would). */
export const UNSUBSCRIBE_DETAIL_TYPE = 'ConsentChanged' satisfies keyof (typeof CATALOG)[typeof SOURCES.crm];

export interface DecisionApiProps {
  readonly stage: string;
  /** The Baton bus: the unsubscribe route publishes ConsentChanged to it. */
  readonly bus: events.IEventBus;
  readonly tables: Tables;
  /** Environment every function gets (stage, bus name...), besides the table names. */
  readonly environment: Record<string, string>;
  /** The secret that signs unsubscribe links (Channels), passed by ARN; without it the unsubscribe route answers 400. @default - none */
  readonly unsubscribeSecret?: secretsmanager.ISecret;
  /** Steady requests per second across the stage. @default 200 */
  readonly throttleRateLimit?: number;
  /** @default 400 */
  readonly throttleBurstLimit?: number;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly accessLogRetention?: logs.RetentionDays;
  /** @default Duration.seconds(10) */
  readonly timeout?: Duration;
  /** @default DECISIONS_HANDLER */
  readonly decisionsHandler?: HandlerRef;
  /** @default UNSUBSCRIBE_HANDLER */
  readonly unsubscribeHandler?: HandlerRef;
}

/** Route of the decision API, with its authorisation. */
export const DECISIONS_ROUTE = '/v1/decisions';
export const UNSUBSCRIBE_ROUTE = '/unsubscribe';

export class DecisionApi extends Construct {
  readonly api: apigw.HttpApi;
  /** Serves POST /v1/decisions. */
  readonly function: BatonFunction;
  /** Serves the one-click unsubscribe page. */
  readonly unsubscribeFunction: BatonFunction;
  readonly accessLogs: logs.LogGroup;
  /** Function errors and 5xx answers; actions added by the stack. */
  readonly alarms: cloudwatch.Alarm[] = [];
  /** The ARN callers need execute-api:Invoke on (POST /v1/decisions). */
  readonly decisionsRouteArn: string;

  constructor(scope: Construct, id: string, props: DecisionApiProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const decisionsHandler = props.decisionsHandler ?? DECISIONS_HANDLER;
    this.function = new BatonFunction(this, 'Function', {
      ...decisionsHandler,
      serviceName: 'decisions-api',
      description: 'Baton: the decision API for inbound channels (offers now, with reasons)',
      timeout: props.timeout ?? Duration.seconds(10),
      memorySize: 512,
      environment: { ...props.environment, ...props.tables.environment() },
    });
    // Resolve, read state, rules and campaigns; commit the decision with the presented offers
    // (version-checked profile, decision item, budget and capacity claims).
    props.tables.grantData(this.function.role, {
      customers: ['BatchGetItem', 'GetItem', 'PutItem'],
      // A repeated requestId answers with the stored decision (Query on its items).
      decisions: ['PutItem', 'Query'],
      counters: ['UpdateItem'],
      rules: ['Scan', 'Query'],
      campaigns: ['Scan'],
      context: ['Scan'],
      // A request asking for `loyalty`: the member's accounts (Get), lots, memberships and programme items (Query).
      ledger: ['GetItem', 'Query'],
    });

    const unsubscribeHandler = props.unsubscribeHandler ?? UNSUBSCRIBE_HANDLER;
    this.unsubscribeFunction = new BatonFunction(this, 'Unsubscribe', {
      ...unsubscribeHandler,
      serviceName: 'unsubscribe',
      description: 'Baton: the one-click unsubscribe page of signed e-mail links; withdraws consent',
      timeout: props.timeout ?? Duration.seconds(10),
      environment: {
        ...props.environment,
        // Names only: the shared handler reads every table name at start; the role reaches one.
        ...props.tables.environment(),
        ...(props.unsubscribeSecret ? { [ENV.unsubscribeSecretArn]: props.unsubscribeSecret.secretArn } : {}),
      },
    });
    // Verifies the link's signature: reads that one secret's value at run time.
    props.unsubscribeSecret?.grantRead(this.unsubscribeFunction.role);
    // Load the profile named by the signed token; publish its ConsentChanged as the CRM's consent
    // record does: that source and that detail-type only (never CustomerErased or CustomerUpserted).
    props.tables.grantData(this.unsubscribeFunction.role, { customers: ['GetItem'] });
    this.unsubscribeFunction.role.addToPrincipalPolicy(putEventsStatement(props.bus.eventBusArn, SOURCES.crm, [UNSUBSCRIBE_DETAIL_TYPE]));

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigw.HttpApi(this, 'Api', {
      apiName: `baton-${props.stage}-decisions`,
      description: `Baton ${props.stage}: decision API for inbound channels`,
      createDefaultStage: false,
    });
    const stage = new apigw.HttpStage(this, 'Stage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: props.throttleRateLimit ?? 200, burstLimit: props.throttleBurstLimit ?? 400 },
      accessLogSettings: {
        destination: new apigw.LogGroupLogDestination(this.accessLogs),
        // JSON, one line per request; no query string, no body, no caller IP beyond the source.
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            time: '$context.requestTime',
            route: '$context.routeKey',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            integrationLatencyMs: '$context.integrationLatency',
            caller: '$context.identity.caller',
            error: '$context.error.message',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });

    const integration = new HttpLambdaIntegration('Integration', this.function.function, {
      payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
    });
    const [decisions] = this.api.addRoutes({
      path: DECISIONS_ROUTE,
      methods: [apigw.HttpMethod.POST],
      integration,
      authorizer: new HttpIamAuthorizer(),
    });
    this.decisionsRouteArn = stack.formatArn({
      service: 'execute-api',
      resource: this.api.apiId,
      resourceName: `${stage.stageName}/POST${DECISIONS_ROUTE}`,
    });
    const unsubscribe = this.api.addRoutes({
      path: UNSUBSCRIBE_ROUTE,
      methods: [apigw.HttpMethod.GET, apigw.HttpMethod.POST],
      integration: new HttpLambdaIntegration('UnsubscribeIntegration', this.unsubscribeFunction.function, {
        payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0,
      }),
    });
    for (const route of unsubscribe) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason:
          'One-click unsubscribe (RFC 8058) is followed by mail clients and recipients who have no AWS identity; the route ' +
          'accepts only an HMAC-signed token naming one customer and channel, and can only withdraw consent.',
      });
    }
    void decisions;

    const metric = (metricName: string, statistic = cloudwatch.Stats.SUM) =>
      new cloudwatch.Metric({
        namespace: 'AWS/ApiGateway',
        metricName,
        dimensionsMap: { ApiId: this.api.apiId, Stage: stage.stageName },
        statistic,
        period: Duration.minutes(5),
      });
    this.alarms.push(
      new cloudwatch.Alarm(this, 'ServerErrorsAlarm', {
        alarmDescription: `Baton ${props.stage}: the decision API answered 5xx (the function failed or timed out; bad requests are 4xx).`,
        metric: metric('5xx'),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
    for (const [id, fn] of [['ErrorsAlarm', this.function], ['UnsubscribeErrorsAlarm', this.unsubscribeFunction]] as const) {
      this.alarms.push(
        new cloudwatch.Alarm(this, id, {
          alarmDescription: `Baton ${props.stage}: the ${fn.serviceName} function failed (errors or timeouts).`,
          metric: fn.function.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }),
          threshold: 1,
          evaluationPeriods: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }),
      );
    }

    new CfnOutput(stack, 'DecisionApiUrl', { value: this.api.apiEndpoint, description: 'Decision API: POST /v1/decisions (SigV4, execute-api:Invoke)' });
  }

  /** Lets a caller (a call-centre app's role) ask for decisions. */
  grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [this.decisionsRouteArn] });
  }
}
