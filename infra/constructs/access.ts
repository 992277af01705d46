// Who may publish to the bus: one IAM role per source system (crm, erp, pos, device), each allowed
// `events:PutEvents` on the Baton bus only for events whose `source` is its own, and assumable only
// by the principal configured for that system (or, until one is, by principals tagged for it).
import { CfnOutput, Stack } from 'aws-cdk-lib';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { SOURCES, SOURCE_SYSTEMS, type SourceSystem } from '../../events/catalog.ts';

/**
 * `events:PutEvents` on one bus, only for entries whose `source` is `source` and, when given, whose
 * `detail-type` is one of `detailTypes`.
 *
 * `events:source` and `events:detail-type` are multi-valued on PutEvents (one value per entry),
 * hence `ForAllValues:` as in AWS's example policy; `Null: false` closes the gap that ForAllValues
 * is true when the key is absent, so a request without a source (or detail-type) can never pass.
 */
export function putEventsStatement(busArn: string, source: string, detailTypes?: readonly string[]): iam.PolicyStatement {
  if (detailTypes?.length === 0) throw new Error('putEventsStatement: detailTypes is empty; expected at least one detail-type, or none to allow every detail-type of the source');
  return new iam.PolicyStatement({
    effect: iam.Effect.ALLOW,
    actions: ['events:PutEvents'],
    resources: [busArn],
    conditions: detailTypes
      ? {
          'ForAllValues:StringEquals': { 'events:source': [source], 'events:detail-type': [...detailTypes] },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        }
      : {
          'ForAllValues:StringEquals': { 'events:source': [source] },
          Null: { 'events:source': 'false' },
        },
  });
}

/** The principal tag that lets an IAM role or user of this account assume one publisher role by default. */
export const PUBLISHER_TAG = 'baton:publisher';

/**
 * The default trust of a publisher role: IAM roles and users of this account tagged
 * `baton:publisher=<system>` that are also allowed `sts:AssumeRole` on the role by their own
 * policy. Baton cannot name a source system's principal before ops say which it is (and IAM
 * refuses a trust policy naming a role that does not exist), so without a configured principal
 * it narrows the account to principals explicitly tagged for this system, never the whole account.
 */
export function taggedPublishers(system: SourceSystem): iam.IPrincipal {
  return new iam.AccountRootPrincipal().withConditions({ StringEquals: { [`aws:PrincipalTag/${PUBLISHER_TAG}`]: system } });
}

export interface AccessProps {
  readonly bus: events.IEventBus;
  /**
   * Who may assume every publisher role (context `publisherPrincipal`: a role/user ARN or an
   * account id); `publisherPrincipals` overrides it per system.
   * @default taggedPublishers(system) - IAM roles and users of this account tagged
   * `baton:publisher=<system>` and allowed `sts:AssumeRole` on the role by their own policy
   */
  readonly publisherPrincipal?: iam.IPrincipal;
  /** Per-system override of `publisherPrincipal` (context `publisherPrincipal.<system>`), e.g. `{ pos: new iam.ArnPrincipal(tillRoleArn) }`. */
  readonly publisherPrincipals?: Partial<Record<SourceSystem, iam.IPrincipal>>;
}

/** One publisher role per source system; their ARNs are stack outputs. */
export class Access extends Construct {
  readonly publisherRoles: Record<SourceSystem, iam.Role>;

  constructor(scope: Construct, id: string, props: AccessProps) {
    super(scope, id);
    const roles = {} as Record<SourceSystem, iam.Role>;
    for (const system of SOURCE_SYSTEMS) {
      const source = SOURCES[system];
      const principal = props.publisherPrincipals?.[system] ?? props.publisherPrincipal ?? taggedPublishers(system);
      const id = `${system.charAt(0).toUpperCase()}${system.slice(1)}Publisher`;
      const role = new iam.Role(this, id, {
        assumedBy: principal,
        description: `Baton: lets the ${system} system publish events with source ${source} to the Baton bus`,
        inlinePolicies: {
          PutOwnEvents: new iam.PolicyDocument({ statements: [putEventsStatement(props.bus.eventBusArn, source)] }),
        },
      });
      roles[system] = role;
      new CfnOutput(Stack.of(this), `${id}RoleArn`, {
        value: role.roleArn,
        description: `Role the ${system} system assumes to publish (source ${source})`,
      });
    }
    this.publisherRoles = roles;
  }
}
