// Who may publish to the bus: one IAM role per source system (crm, erp, pos, device), each allowed
// `events:PutEvents` on the Baton bus only for events whose `source` is its own.
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

export interface AccessProps {
  readonly bus: events.IEventBus;
  /**
   * Who may assume every publisher role.
   * @default new iam.AccountRootPrincipal() - any IAM principal in this account that is itself
   * allowed `sts:AssumeRole` on the role (narrow it with `publisherPrincipals`)
   */
  readonly publisherPrincipal?: iam.IPrincipal;
  /** Per-system override of `publisherPrincipal`, e.g. `{ pos: new iam.ArnPrincipal(tillRoleArn) }`. */
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
      const principal = props.publisherPrincipals?.[system] ?? props.publisherPrincipal ?? new iam.AccountRootPrincipal();
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
