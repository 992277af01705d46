// The loyalty ledger in the cloud (docs/loyalty.md). The ledger table itself is one of Baton's
// tables (lib/contract/tables.ts, infra/constructs/tables.ts); ingest (evaluate) posts to it.
//   PartnerPublisher<n>  one IAM role per partner: events:PutEvents on the bus only with source
//                        baton.partners and the partners' detail-types (their sales and refunds)
//   LoyaltyExpiry        the daily expiry run: writes off the lots due, PointsExpiring ahead of
//                        expiry, PointsExpired (functions/loyalty-expiry.ts)
//   DailyExpiry          an EventBridge Scheduler schedule at 02:00 UTC invokes it, retrying and
//                        dead-lettering into the schedule DLQ (alarmed by Observability)
import { CfnOutput, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as targets from 'aws-cdk-lib/aws-scheduler-targets';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SOURCES } from '../../events/catalog.ts';
import { BatonFunction } from './function.ts';
import { putEventsStatement, PUBLISHER_TAG } from './access.ts';
import type { Tables } from './tables.ts';

/** What a partner's shop system sends (events/catalog.ts, source baton.partners). */
export const PARTNER_DETAIL_TYPES = ['PartnerSaleCompleted', 'PartnerSaleRefunded'] as const;
const PARTNER_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface LoyaltyProps {
  readonly stage: string;
  readonly bus: events.IEventBus;
  readonly tables: Tables;
  readonly environment: Record<string, string>;
  /** Where schedule invocations go that could not be made after the retries. */
  readonly scheduleDeadLetterQueue: sqs.IQueue;
  /** The partners that publish (context `loyaltyPartners`, comma-separated ids). @default none */
  readonly partners?: readonly string[];
  /** Who may assume a partner's role, per partner id. @default principals of this account tagged `baton:publisher=partner:<id>` */
  readonly partnerPrincipals?: Readonly<Record<string, iam.IPrincipal>>;
}

export class Loyalty extends Construct {
  readonly partnerRoles: Record<string, iam.Role> = {};
  readonly expiry: BatonFunction;
  readonly schedule: scheduler.Schedule;

  constructor(scope: Construct, id: string, props: LoyaltyProps) {
    super(scope, id);
    const stack = Stack.of(this);
    for (const partnerId of props.partners ?? []) {
      if (!PARTNER_ID.test(partnerId)) throw new Error(`loyaltyPartners: "${partnerId}" is not a partner id; expected lower-case letters, digits and dashes (at most 63)`);
      const role = new iam.Role(this, `PartnerPublisher-${partnerId}`, {
        assumedBy: props.partnerPrincipals?.[partnerId] ?? new iam.AccountRootPrincipal().withConditions({ StringEquals: { [`aws:PrincipalTag/${PUBLISHER_TAG}`]: `partner:${partnerId}` } }),
        description: `Baton: lets partner ${partnerId} publish its sales and refunds (source ${SOURCES.partners}) to the Baton bus`,
        inlinePolicies: { PutPartnerEvents: new iam.PolicyDocument({ statements: [putEventsStatement(props.bus.eventBusArn, SOURCES.partners, PARTNER_DETAIL_TYPES)] }) },
      });
      this.partnerRoles[partnerId] = role;
      new CfnOutput(this, `PartnerRole-${partnerId}`, { value: role.roleArn, description: `Role partner ${partnerId} assumes to publish to the bus` });
    }

    this.expiry = new BatonFunction(this, 'LoyaltyExpiry', {
      entry: 'functions/loyalty-expiry.ts',
      serviceName: 'loyalty-expiry',
      description: 'Baton: the daily loyalty expiry run, PointsExpiring ahead of expiry',
      timeout: Duration.minutes(15),
      memorySize: 1024,
      environment: { ...props.environment, ...props.tables.environment() },
    });
    // The programme list and items (Query), accounts and cursors (Get, Put), lots and due pointers
    // (Query), postings (transactions of Put, Update, Delete).
    props.tables.grantData(this.expiry.role, { ledger: ['GetItem', 'Query', 'PutItem', 'UpdateItem', 'DeleteItem'] });
    this.expiry.role.addToPrincipalPolicy(putEventsStatement(props.bus.eventBusArn, SOURCES.loyalty, ['PointsExpiring', 'PointsExpired']));

    const role = new iam.Role(this, 'ScheduleRole', {
      description: `Baton ${props.stage}: EventBridge Scheduler starts the daily loyalty expiry run`,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'DeadLetterMissedInvocations', actions: ['sqs:SendMessage'], resources: [props.scheduleDeadLetterQueue.queueArn] }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ sid: 'EncryptForTheScheduleDlq', actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.tables.encryptionKey.keyArn] }));
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.expiry.function.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: 'The Scheduler target grants lambda:InvokeFunction on the function and its versions (ARN:*): one function, no other action.',
    });
    this.schedule = new scheduler.Schedule(this, 'DailyExpiry', {
      description: `Baton ${props.stage}: the daily loyalty expiry run`,
      schedule: scheduler.ScheduleExpression.cron({ minute: '0', hour: '2' }),
      target: new targets.LambdaInvoke(this.expiry.function, { role, deadLetterQueue: props.scheduleDeadLetterQueue, retryAttempts: 5, maxEventAge: Duration.minutes(30) }),
    });
  }
}
