// CDK assertions on the synthesized Baton stack, plus cdk-nag (AwsSolutions + Serverless).
// Bundling is skipped here (test/infra/bundling.test.ts bundles the real handlers once).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App, Validations, type Acknowledgment } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SOURCES, SOURCE_SYSTEMS } from '../../events/catalog.ts';
import { ROUTES, SES_FORWARDING_PATTERN, BUS_NAME } from '../../lib/contract/routes.ts';
import { TABLES, TABLE_KEYS, tableName } from '../../lib/contract/tables.ts';
import { EXPORT_COLUMNS, EXPORT_KINDS } from '../../lib/contract/export.ts';
import { propsFromContext, stackName } from '../../infra/app.ts';
import { BatonStack, nagPacks, type BatonStackProps } from '../../infra/stack.ts';

type Json = Record<string, any>;

const ROOT = path.resolve(import.meta.dirname, '../..');
/** cdk.json's context (feature flags and Baton's defaults), so tests see what `cdk synth` sees. */
const CDK_CONTEXT: Json = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
const ENV = { account: '123456789012', region: 'eu-west-1' };

function app(context: Json = {}): App {
  // No stack traces in the metadata (each resource's creation, each annotation): no test reads them,
  // and capturing them (source-mapped through vitest) cost a twentieth of each synthesis.
  return new App({
    context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-creation-stack-traces': true, 'aws:cdk:disable-stack-trace': true, ...context },
  });
}

function synth(props: Partial<BatonStackProps> = {}) {
  const scope = app();
  const stack = new BatonStack(scope, 'baton-test', { env: ENV, senderEmail: 'offers@example.com', ...props });
  const template = Template.fromStack(stack);
  return { app: scope, stack, template, resources: template.toJSON().Resources as Record<string, Json> };
}

const ofType = (resources: Record<string, Json>, type: string) =>
  Object.entries(resources).filter(([, r]) => r.Type === type) as [string, Json][];
const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at. */
const refId = (value: unknown): string | undefined => {
  const v = value as Json | undefined;
  return v?.Ref ?? v?.['Fn::GetAtt']?.[0];
};

/** Every IAM policy statement in the template, with where it lives. */
function iamStatements(resources: Record<string, Json>): { at: string; statement: Json }[] {
  const out: { at: string; statement: Json }[] = [];
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy') {
      for (const s of r.Properties.PolicyDocument.Statement) out.push({ at: id, statement: s });
    }
    if (r.Type === 'AWS::IAM::Role') {
      for (const p of r.Properties.Policies ?? []) for (const s of p.PolicyDocument.Statement) out.push({ at: `${id}/${p.PolicyName}`, statement: s });
    }
  }
  return out;
}

const base = synth();

describe('routing', () => {
  const bus = ofType(base.resources, 'AWS::Events::EventBus');
  const busId = bus[0]![0];
  const busRules = ofType(base.resources, 'AWS::Events::Rule').filter(([, r]) => refId(r.Properties.EventBusName) === busId);

  it('creates one bus named from lib/contract/routes.ts', () => {
    expect(bus).toHaveLength(1);
    expect(bus[0]![1].Properties.Name).toBe(BUS_NAME);
  });

  it('turns every route into exactly one rule on the Baton bus with the same pattern object', () => {
    expect(busRules).toHaveLength(ROUTES.length);
    for (const route of ROUTES) {
      const matching = busRules.filter(([, r]) => JSON.stringify(r.Properties.EventPattern) === JSON.stringify(route.pattern));
      expect(matching, route.id).toHaveLength(1);
      expect(matching[0]![1].Properties.EventPattern).toEqual(route.pattern);
      expect(matching[0]![1].Properties.Description).toBe(route.description);
    }
    // And the rules were built from the very objects in ROUTES (same references, not copies).
    expect(base.stack.pipeline.rules.map((r) => r.node.id)).toEqual(ROUTES.map((r) => r.id));
  });

  it('sends every route to the inbound queue with an explicit retry policy and a DLQ', () => {
    const inbound = base.stack.getLogicalId(base.stack.pipeline.inboundQueue.node.defaultChild as never);
    const dlq = base.stack.getLogicalId(base.stack.pipeline.targetDeadLetterQueue.node.defaultChild as never);
    for (const [, rule] of busRules) {
      expect(rule.Properties.Targets).toHaveLength(1);
      const [target] = rule.Properties.Targets;
      expect(refId(target.Arn)).toBe(inbound);
      expect(refId(target.DeadLetterConfig.Arn)).toBe(dlq);
      expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 86_400, MaximumRetryAttempts: 185 });
    }
  });

  it('forwards SES feedback from the default bus to the Baton bus with a role and a DLQ', () => {
    const forwarding = ofType(base.resources, 'AWS::Events::Rule').filter(([, r]) => r.Properties.EventBusName === 'default');
    expect(forwarding).toHaveLength(1);
    const rule = forwarding[0]![1].Properties;
    expect(rule.EventPattern).toEqual(SES_FORWARDING_PATTERN);
    const [target] = rule.Targets;
    expect(refId(target.Arn)).toBe(busId);
    expect(refId(target.RoleArn)).toBeDefined();
    expect(refId(target.DeadLetterConfig.Arn)).toBeDefined();
    // EventBridge takes no RetryPolicy on event-bus targets (the 24 h / 185 default applies).
    expect(target.RetryPolicy).toBeUndefined();
  });

  it('gives every EventBridge target a DLQ, and every non-bus target an explicit retry policy', () => {
    const targets = ofType(base.resources, 'AWS::Events::Rule').flatMap(([, r]) => r.Properties.Targets as Json[]);
    expect(targets.length).toBe(ROUTES.length + 1);
    for (const target of targets) {
      expect(target.DeadLetterConfig?.Arn).toBeDefined();
      if (refId(target.Arn) !== busId) {
        expect(target.RetryPolicy.MaximumEventAgeInSeconds).toBeGreaterThanOrEqual(60);
        expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThanOrEqual(0);
      }
    }
  });

  it('archives the bus with a retention, encrypted with the data key', () => {
    const [[, archive]] = ofType(base.resources, 'AWS::Events::Archive') as [[string, Json]];
    expect(refId(archive.Properties.SourceArn)).toBe(busId);
    expect(archive.Properties.RetentionDays).toBe(365);
    expect(refId(archive.Properties.KmsKeyIdentifier)).toBe(base.stack.getLogicalId(base.stack.tables.encryptionKey.node.defaultChild as never));
    expect(synth({ archiveRetentionDays: 30 }).template.toJSON().Resources).toSatisfy((r: Record<string, Json>) =>
      ofType(r, 'AWS::Events::Archive').every(([, a]) => a.Properties.RetentionDays === 30),
    );
  });
});

describe('pipeline', () => {
  const queues = ofType(base.resources, 'AWS::SQS::Queue');
  const inboundId = base.stack.getLogicalId(base.stack.pipeline.inboundQueue.node.defaultChild as never);
  const inbound = base.resources[inboundId]!;
  const esm = ofType(base.resources, 'AWS::Lambda::EventSourceMapping').find(([, m]) => refId(m.Properties.EventSourceArn) === inboundId)![1];
  const evaluate = base.resources[refId(esm.Properties.FunctionName)!]!;

  it("keeps the inbound queue's visibility timeout at least 6 × evaluate's timeout", () => {
    expect(evaluate.Properties.Timeout).toBeGreaterThan(0);
    expect(inbound.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * evaluate.Properties.Timeout);
  });

  it('redrives the inbound queue to a DLQ after at least 5 receives', () => {
    expect(inbound.Properties.RedrivePolicy.maxReceiveCount).toBeGreaterThanOrEqual(5);
    expect(refId(inbound.Properties.RedrivePolicy.deadLetterTargetArn)).toBeDefined();
  });

  it('feeds evaluate in batches with partial batch failures and bounded concurrency', () => {
    expect(esm.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    expect(esm.Properties.BatchSize).toBeGreaterThan(1);
    expect(esm.Properties.MaximumBatchingWindowInSeconds).toBeGreaterThan(0);
    expect(esm.Properties.ScalingConfig.MaximumConcurrency).toBeGreaterThanOrEqual(2);
  });

  it('encrypts every queue and refuses plain HTTP', () => {
    expect(queues).toHaveLength(9); // inbound, its DLQ, EventBridge target DLQ, held messages, dispatch DLQ, journey timer DLQ, run queue, its DLQ, schedule DLQ
    for (const [id, queue] of queues) {
      expect(queue.Properties.SqsManagedSseEnabled ?? queue.Properties.KmsMasterKeyId, id).toBeTruthy();
      const policy = ofType(base.resources, 'AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues.some((q: unknown) => refId(q) === id));
      const denies = policy![1].Properties.PolicyDocument.Statement.filter((s: Json) => s.Effect === 'Deny');
      expect(denies.some((s: Json) => s.Condition?.Bool?.['aws:SecureTransport'] === 'false'), id).toBe(true);
    }
  });
});

describe('queue encryption', () => {
  const keyId = base.stack.getLogicalId(base.stack.tables.encryptionKey.node.defaultChild as never);
  const queueIds = ofType(base.resources, 'AWS::SQS::Queue').map(([id]) => id);
  /** Actions each role's policies allow on one resource, by role logical id. */
  const roleActions = (resource: string): Map<string, Set<string>> => {
    const out = new Map<string, Set<string>>();
    for (const [, p] of ofType(base.resources, 'AWS::IAM::Policy')) {
      for (const s of p.Properties.PolicyDocument.Statement as Json[]) {
        if (!asArray(s.Resource).some((r) => refId(r) === resource)) continue;
        for (const role of p.Properties.Roles.map(refId)) for (const a of asArray<string>(s.Action)) (out.get(role) ?? out.set(role, new Set()).get(role)!).add(a);
      }
    }
    return out;
  };

  it("encrypts every queue with the stack's customer-managed key", () => {
    expect(queueIds).toHaveLength(9);
    for (const id of queueIds) {
      const queue = base.resources[id]!.Properties;
      expect(refId(queue.KmsMasterKeyId), id).toBe(keyId);
      expect(queue.SqsManagedSseEnabled, id).toBeUndefined();
    }
  });

  it('lets every role that sends to or receives from a queue use the key for it', () => {
    const onKey = roleActions(keyId);
    const has = (role: string, ...wanted: string[][]) => wanted.every((any) => any.some((a) => onKey.get(role)?.has(a)));
    let checked = 0;
    for (const id of queueIds) {
      for (const [role, actions] of roleActions(id)) {
        // SQS asks KMS for a data key on send (GenerateDataKey, Decrypt to verify it); Decrypt on receive.
        if (actions.has('sqs:SendMessage')) expect(has(role, ['kms:GenerateDataKey', 'kms:GenerateDataKey*'], ['kms:Decrypt']), `${role} → ${id}`).toBe(true);
        if (actions.has('sqs:ReceiveMessage')) expect(has(role, ['kms:Decrypt']), `${role} ← ${id}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(11); // evaluate ← inbound; dispatch ↔ held, → DLQ; aggregates → DLQ; export → DLQ; Scheduler's role → inbound, → timer DLQ; run starter → run queue, run worker ← run queue, schedule role → schedule DLQ; loyalty expiry's schedule role → schedule DLQ
  });

  it('lets EventBridge send only from Baton\'s rules to their queues, and use the key only to deliver (and archive)', () => {
    const rules = ofType(base.resources, 'AWS::Events::Rule');
    for (const [ruleId, rule] of rules) {
      for (const target of rule.Properties.Targets as Json[]) {
        for (const queue of [refId(target.Arn), refId(target.DeadLetterConfig?.Arn)].filter((q) => q && queueIds.includes(q))) {
          const [, policy] = ofType(base.resources, 'AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues.some((q: unknown) => refId(q) === queue))!;
          const allows = (policy.Properties.PolicyDocument.Statement as Json[]).filter((s) => s.Effect === 'Allow' && s.Principal?.Service === 'events.amazonaws.com');
          const fromRule = allows.filter((s) => refId(s.Condition?.ArnEquals?.['aws:SourceArn']) === ruleId);
          expect(fromRule.map((s) => s.Action), `${ruleId} → ${queue}`).toEqual(['sqs:SendMessage']);
          // No statement lets EventBridge send without naming the rule.
          expect(allows.every((s) => s.Condition?.ArnEquals?.['aws:SourceArn']), queue).toBe(true);
        }
      }
    }
    const keyPolicy = base.resources[keyId]!.Properties.KeyPolicy.Statement as Json[];
    const services = keyPolicy.filter((s) => s.Principal?.Service);
    expect(new Set(services.map((s) => s.Principal.Service))).toEqual(new Set(['events.amazonaws.com']));
    const busArn = { 'Fn::GetAtt': [base.stack.getLogicalId(base.stack.bus.bus.node.defaultChild as never), 'Arn'] };
    expect(services.map(({ Sid: _sid, ...s }) => s)).toEqual([
      // The archive (CDK's statements for an encrypted archive of this bus).
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncrypt*'], Resource: '*', Condition: { StringEquals: { 'kms:EncryptionContext:aws:events:event-bus:arn': busArn } } },
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'kms:DescribeKey', Resource: '*' },
      // Deliveries to Baton's queues and dead-letter queues, from rules of this account only.
      { Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey'], Resource: '*', Condition: { StringEquals: { 'aws:SourceAccount': ENV.account } } },
    ]);
  });
});

describe('dead-letter queues', () => {
  /** Every queue something dead-letters into: a redrive policy, a rule target, a stream on-failure. */
  function deadLetterQueues(resources: Record<string, Json>): Set<string> {
    const ids = new Set<string>();
    for (const [, r] of Object.entries(resources)) {
      if (r.Type === 'AWS::SQS::Queue' && r.Properties.RedrivePolicy) ids.add(refId(r.Properties.RedrivePolicy.deadLetterTargetArn)!);
      if (r.Type === 'AWS::Events::Rule') for (const t of r.Properties.Targets) if (t.DeadLetterConfig) ids.add(refId(t.DeadLetterConfig.Arn)!);
      if (r.Type === 'AWS::Lambda::EventSourceMapping' && r.Properties.DestinationConfig) {
        ids.add(refId(r.Properties.DestinationConfig.OnFailure.Destination)!);
      }
      if (r.Type === 'AWS::Lambda::Function' && r.Properties.DeadLetterConfig) ids.add(refId(r.Properties.DeadLetterConfig.TargetArn)!);
    }
    return ids;
  }

  it.each([
    ['default settings', base.resources],
    ['every option on', synth({ alarmEmail: 'ops@example.com', unsubscribeUrl: 'https://offers.example.com/u', stage: 'prod' }).resources],
  ])('has an alarm on the first message of every DLQ (%s)', (_name, resources) => {
    const dlqs = deadLetterQueues(resources);
    expect([...dlqs].sort()).toHaveLength(4); // inbound, EventBridge targets, dispatch stream, run queue
    const alarms = ofType(resources, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    for (const dlq of dlqs) {
      expect(resources[dlq]?.Type).toBe('AWS::SQS::Queue');
      const alarm = alarms.find((a) => a.Dimensions?.some((d: Json) => d.Name === 'QueueName' && refId(d.Value) === dlq));
      expect(alarm, dlq).toBeDefined();
      expect(alarm!.MetricName).toBe('ApproximateNumberOfMessagesVisible');
      expect(alarm!.Threshold).toBe(1);
      expect(alarm!.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
      expect(alarm!.AlarmActions).toHaveLength(1);
    }
  });
});

describe('tables', () => {
  const tables = ofType(base.resources, 'AWS::DynamoDB::GlobalTable');

  it('creates one table per lib/contract/tables.ts entry, on demand, keyed pk/sk', () => {
    expect(tables.map(([, t]) => t.Properties.TableName).sort()).toEqual(TABLE_KEYS.map((k) => tableName('dev', k)).sort());
    for (const [, t] of tables) {
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.KeySchema.map((k: Json) => k.AttributeName)).toEqual(['pk', 'sk']);
    }
  });

  it('gives every table point-in-time recovery and encryption with the customer-managed key', () => {
    const keyId = base.stack.getLogicalId(base.stack.tables.encryptionKey.node.defaultChild as never);
    expect(base.resources[keyId]!.Properties.EnableKeyRotation).toBe(true);
    for (const [id, t] of tables) {
      expect(t.Properties.SSESpecification, id).toEqual({ SSEEnabled: true, SSEType: 'KMS' });
      for (const replica of t.Properties.Replicas) {
        expect(replica.PointInTimeRecoverySpecification, id).toEqual({ PointInTimeRecoveryEnabled: true });
        expect(refId(replica.SSESpecification.KMSMasterKeyId), id).toBe(keyId);
      }
    }
  });

  it('sets TTL and streams exactly as lib/contract/tables.ts declares', () => {
    for (const key of TABLE_KEYS) {
      const spec = TABLES[key] as { timeToLiveAttribute?: string; stream?: string };
      const [, t] = tables.find(([, r]) => r.Properties.TableName === tableName('dev', key))!;
      expect(t.Properties.TimeToLiveSpecification, key).toEqual(
        spec.timeToLiveAttribute ? { AttributeName: spec.timeToLiveAttribute, Enabled: true } : undefined,
      );
      expect(t.Properties.StreamSpecification, key).toEqual(spec.stream ? { StreamViewType: spec.stream } : undefined);
    }
  });

  it('destroys data outside prod and retains it (with its key) in prod', () => {
    const keys = (resources: Record<string, Json>) => ofType(resources, 'AWS::KMS::Key').filter(([id]) => id.startsWith('Tables'));
    for (const [, t] of tables) {
      expect(t.DeletionPolicy).toBe('Delete');
      expect(t.Properties.Replicas[0].DeletionProtectionEnabled).toBe(false);
    }
    expect(keys(base.resources)[0]![1].DeletionPolicy).toBe('Delete');

    const prod = synth({ stage: 'prod' }).resources;
    const prodTables = ofType(prod, 'AWS::DynamoDB::GlobalTable');
    expect(prodTables).toHaveLength(TABLE_KEYS.length);
    for (const [, t] of prodTables) {
      expect(t.DeletionPolicy).toBe('Retain');
      expect(t.Properties.Replicas[0].DeletionProtectionEnabled).toBe(true);
    }
    expect(keys(prod)[0]![1].DeletionPolicy).toBe('Retain');
    // An explicit setting wins over the stage default.
    const devRetained = ofType(synth({ retainData: true }).resources, 'AWS::DynamoDB::GlobalTable');
    expect(devRetained.every(([, t]) => t.DeletionPolicy === 'Retain')).toBe(true);
  });
});

describe('access', () => {
  it.each(SOURCE_SYSTEMS)('lets the %s role put events on the Baton bus only with its own source', (system) => {
    const roleId = base.stack.getLogicalId(base.stack.access.publisherRoles[system].node.defaultChild as never);
    const role = base.resources[roleId]!;
    // Nothing else is attached to the role.
    for (const [, p] of ofType(base.resources, 'AWS::IAM::Policy')) expect(p.Properties.Roles.map(refId)).not.toContain(roleId);
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = role.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement);
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [base.stack.getLogicalId(base.stack.bus.bus.node.defaultChild as never), 'Arn'] },
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': [SOURCES[system]] },
          Null: { 'events:source': 'false' },
        },
      },
    ]);
    // By default only principals of this account tagged for this system may assume it (they also
    // need sts:AssumeRole in their own policy); the ARN is a stack output.
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Action: 'sts:AssumeRole',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ENV.account}:root` },
        Condition: { StringEquals: { 'aws:PrincipalTag/baton:publisher': system } },
      },
    ]);
    const outputs = base.template.toJSON().Outputs as Json;
    expect(Object.values(outputs).some((o: Json) => refId(o.Value) === roleId)).toBe(true);
  });

  it('narrows who may assume a role when a principal is configured', () => {
    const arn = (name: string) => `arn:aws:iam::123456789012:role/${name}`;
    const till = arn('pos-till');
    const { stack, resources } = synth({ publisherPrincipals: { pos: new iam.ArnPrincipal(till) } });
    const pos = resources[stack.getLogicalId(stack.access.publisherRoles.pos.node.defaultChild as never)]!;
    expect(pos.Properties.AssumeRolePolicyDocument.Statement).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: till } }]);
    // One principal for every system, from context (`-c publisherPrincipal=<role ARN>`), replaces the tag rule too.
    const crmApp = arn('crm-sync');
    const all = synth({ publisherPrincipal: new iam.ArnPrincipal(crmApp) });
    for (const system of SOURCE_SYSTEMS) {
      const role = all.resources[all.stack.getLogicalId(all.stack.access.publisherRoles[system].node.defaultChild as never)]!;
      expect(role.Properties.AssumeRolePolicyDocument.Statement, system).toEqual([{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: crmApp } }]);
    }
  });

  it('has no bus policy by default, and a source-scoped one per cross-account publisher', () => {
    expect(ofType(base.resources, 'AWS::Events::EventBusPolicy')).toHaveLength(0);
    const { resources } = synth({ crossAccountPublishers: [{ account: '111122223333', system: 'erp' }] });
    const policies = ofType(resources, 'AWS::Events::EventBusPolicy');
    expect(policies).toHaveLength(1);
    const [statement] = policies[0]![1].Properties.Statement.Statement ?? [policies[0]![1].Properties.Statement];
    expect(statement.Action).toBe('events:PutEvents');
    expect(JSON.stringify(statement.Principal)).toContain('111122223333');
    expect(statement.Condition['ForAllValues:StringEquals']['events:source']).toEqual([SOURCES.erp]);
    expect(() => synth({ crossAccountPublishers: [{ account: '42', system: 'erp' }] })).toThrow(/"42".*12-digit/);
  });
});

describe('IAM', () => {
  it.each([
    ['default settings', base.resources],
    ['every option on', synth({ alarmEmail: 'ops@example.com', unsubscribeUrl: 'https://o.example.com/u', createSenderIdentity: true }).resources],
  ])('grants no "*" or "service:*" action anywhere (%s)', (_name, resources) => {
    const statements = iamStatements(resources);
    expect(statements.length).toBeGreaterThan(10);
    for (const { at, statement } of statements) {
      expect(statement.NotAction, at).toBeUndefined();
      for (const action of asArray<string>(statement.Action)) {
        expect(action, at).not.toBe('*');
        expect(action, at).not.toMatch(/^[\w-]+:\*$/);
      }
    }
  });

  it('uses Resource "*" only where AWS offers no resource-level permission (X-Ray, SMS)', () => {
    const wildcard = iamStatements(base.resources)
      .filter(({ statement }) => asArray(statement.Resource).includes('*'))
      .map(({ statement }) => asArray<string>(statement.Action).sort().join(','));
    const xray = 'xray:PutTelemetryRecords,xray:PutTraceSegments';
    expect(wildcard.sort()).toEqual(['sns:Publish', xray, xray, xray, xray, xray, xray, xray, xray, xray, xray, xray]); // SMS; evaluate, dispatch, decisions-api, unsubscribe, run starter, run worker, segments refresh, aggregates, loyalty expiry, export, console api
    const noSms = iamStatements(synth({ smsEnabled: false }).resources).filter(({ statement }) => asArray(statement.Action).includes('sns:Publish'));
    expect(noSms.every(({ statement }) => !asArray(statement.Resource).includes('*'))).toBe(true);
  });

  it('attaches no AWS managed policy to any role', () => {
    for (const [id, role] of ofType(base.resources, 'AWS::IAM::Role')) expect(role.Properties.ManagedPolicyArns, id).toBeUndefined();
  });

  it('lets dispatch send e-mail only from the configured sender through the configuration set', () => {
    const ses = iamStatements(base.resources).find(({ statement }) => statement.Action === 'ses:SendEmail')!.statement;
    expect(ses.Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'offers@example.com' } });
    expect(JSON.stringify(ses.Resource)).toContain(':configuration-set/');
  });
});

/**
 * The DynamoDB actions one role holds, per table: `customers`, `decisions/index/byCustomer` (an
 * index), `decisions/stream` (its stream); `*` for an unscoped resource.
 */
function dataAccess(stack: BatonStack, resources: Record<string, Json>, role: iam.IRole): Record<string, string[]> {
  const roleId = stack.getLogicalId(role.node.defaultChild as never);
  const tableOf = new Map(TABLE_KEYS.map((k) => [stack.getLogicalId(stack.tables.tables[k].node.defaultChild as never), k]));
  const name = (resource: unknown): string => {
    if (resource === '*') return '*';
    const r = resource as Json;
    const [id, attribute] = r?.['Fn::GetAtt'] ?? [];
    if (tableOf.has(id)) return attribute === 'StreamArn' ? `${tableOf.get(id)}/stream` : tableOf.get(id)!;
    const [first, ...rest] = r?.['Fn::Join']?.[1] ?? [];
    const [joinedId] = first?.['Fn::GetAtt'] ?? [];
    if (tableOf.has(joinedId)) return `${tableOf.get(joinedId)}${rest.join('')}`;
    return JSON.stringify(r);
  };
  const out: Record<string, Set<string>> = {};
  for (const [, policy] of ofType(resources, 'AWS::IAM::Policy')) {
    if (!policy.Properties.Roles.some((r: unknown) => refId(r) === roleId)) continue;
    for (const s of policy.Properties.PolicyDocument.Statement as Json[]) {
      const actions = asArray<string>(s.Action).filter((a) => a.startsWith('dynamodb:'));
      for (const resource of actions.length ? asArray(s.Resource) : []) {
        for (const a of actions) (out[name(resource)] ??= new Set()).add(a.slice('dynamodb:'.length));
      }
    }
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v].sort()]));
}

describe('least privilege on data', () => {
  // What each handler's repositories call (lib/adapters/dynamo/*), table by table. Transactions are
  // authorised per item (Put, Update, Delete); erasure queries the decisions index, then batch-deletes.
  const expected = {
    // ingest: resolve (BatchGet), load (Get), commit/markSeen (transaction: Put, Delete of merged
    // profiles), erase (BatchWrite tombstones and links, Delete); feedback (Update on decisions,
    // deliverability counts: Put marker + Update); quarantine (Put, Delete of an entry whose customer
    // was erased meanwhile; erasure Scan + BatchWrite); business context (conditional Put, cached Scan).
    evaluate: {
      customers: ['BatchGetItem', 'BatchWriteItem', 'DeleteItem', 'GetItem', 'PutItem', 'Query'],
      // offers that learn: the messages of an attributed decision (Query), the counts' shards (Query)
      decisions: ['BatchWriteItem', 'PutItem', 'Query', 'UpdateItem'],
      'decisions/index/byCustomer': ['Query'],
      quarantine: ['BatchWriteItem', 'DeleteItem', 'PutItem', 'Scan'],
      counters: ['PutItem', 'Query', 'UpdateItem'],
      rules: ['Query', 'Scan'],
      campaigns: ['Scan'],
      context: ['PutItem', 'Scan'],
      // the loyalty ledger (docs/loyalty.md): account Get, lots Query, caps BatchGet, postings (Put, Update, Delete).
      ledger: ['BatchGetItem', 'DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'],
      // a completed sale converts the customer's exposures (Query, then a transaction of updates)
      aggregates: ['Query', 'UpdateItem'],
    },
    // load the customer and the template; claim/complete the outbox message (Update); SMS budget
    // (Update) and the deliverability guard (Query); the outbox stream.
    dispatch: {
      customers: ['GetItem'],
      templates: ['GetItem'],
      decisions: ['UpdateItem'],
      'decisions/stream': ['DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'],
      counters: ['Query', 'UpdateItem'],
      // a template naming `loyalty`: the account (Get), lots, memberships, programme items (Query)
      ledger: ['GetItem', 'Query'],
      // a deferred call checked again at delivery: the team's load, the policy's quiet hours (cached Scans)
      context: ['Scan'],
      campaigns: ['Scan'],
    },
    // resolve, load, commit (Put profile, marker, decision; Update claims); a repeated requestId
    // reads the stored decision (Query).
    decisionsApi: {
      customers: ['BatchGetItem', 'GetItem', 'PutItem'],
      decisions: ['PutItem', 'Query'],
      counters: ['UpdateItem'],
      rules: ['Query', 'Scan'],
      campaigns: ['Scan'],
      context: ['Scan'],
      // a request asking for `loyalty`: the statement (Get account, Query lots, memberships, items)
      ledger: ['GetItem', 'Query'],
    },
    // the report aggregates: markers, cells and exposures in transactions (erasure deletes exposures); the decisions stream.
    aggregates: {
      aggregates: ['DeleteItem', 'PutItem', 'Query', 'UpdateItem'],
      'decisions/stream': ['DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'],
    },
    // the analytical export: pseudonym keys (Get, conditional Put, the forgotten mark); three streams.
    export: {
      aggregates: ['GetItem', 'PutItem'],
      'decisions/stream': ['DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'],
      'ledger/stream': ['DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'],
      'customers/stream': ['DescribeStream', 'GetRecords', 'GetShardIterator', 'ListStreams'],
    },
  };
  const roles = {
    evaluate: base.stack.pipeline.evaluate.role,
    dispatch: base.stack.channels.dispatch.role,
    decisionsApi: base.stack.decisionApi.function.role,
    aggregates: base.stack.reports.aggregates.role,
    export: base.stack.analyticalExport.function.role,
  };

  it.each(Object.keys(expected) as (keyof typeof expected)[])('grants %s exactly the DynamoDB actions it uses, per table', (fn) => {
    expect(dataAccess(base.stack, base.resources, roles[fn])).toEqual(expected[fn]);
  });

  it('creates the indexes lib/contract/tables.ts declares (erasure queries decisions byCustomer)', () => {
    for (const key of TABLE_KEYS) {
      const spec = TABLES[key] as { indexes?: readonly { name: string; partitionKey: string; sortKey: string }[] };
      const [, t] = ofType(base.resources, 'AWS::DynamoDB::GlobalTable').find(([, r]) => r.Properties.TableName === tableName('dev', key))!;
      const indexes = (t.Properties.GlobalSecondaryIndexes ?? []).map((i: Json) => ({
        name: i.IndexName,
        keys: i.KeySchema.map((k: Json) => k.AttributeName),
        projection: i.Projection.ProjectionType,
      }));
      expect(indexes, key).toEqual((spec.indexes ?? []).map((i) => ({ name: i.name, keys: [i.partitionKey, i.sortKey], projection: 'ALL' })));
    }
  });
});

describe('the analytical export', () => {
  const bucket = ofType(base.resources, 'AWS::S3::Bucket').find(([id]) => id === base.stack.getLogicalId(base.stack.analyticalExport.bucket.node.defaultChild as never))!;

  it('keeps the Parquet files in an encrypted, private, TLS-only bucket with a lifecycle', () => {
    expect(bucket).toBeDefined();
    const p = bucket[1].Properties;
    expect(p.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(p.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(p.LifecycleConfiguration.Rules[0]).toMatchObject({ ExpirationInDays: 400, Status: 'Enabled' });
    const policy = ofType(base.resources, 'AWS::S3::BucketPolicy').find(([, b]) => refId(b.Properties.Bucket) === bucket[0])!;
    expect(JSON.stringify(policy[1].Properties.PolicyDocument)).toContain('"aws:SecureTransport":"false"');
  });

  it('gives Athena a Glue table per kind with the documented columns, partitioned by day (projection)', () => {
    const tables = ofType(base.resources, 'AWS::Glue::Table').map(([, t]) => t.Properties.TableInput);
    expect(tables.map((t: Json) => t.Name).sort()).toEqual([...EXPORT_KINDS].sort());
    for (const t of tables) {
      expect(t.StorageDescriptor.Columns.map((c: Json) => c.Name)).toEqual(Object.keys(EXPORT_COLUMNS[t.Name as keyof typeof EXPORT_COLUMNS]));
      expect(t.PartitionKeys).toEqual([{ Name: 'day', Type: 'string' }]);
      expect(t.Parameters['projection.enabled']).toBe('true');
      expect(t.StorageDescriptor.SerdeInfo.SerializationLibrary).toContain('ParquetHiveSerDe');
    }
  });

  it('runs the export function on the decisions, ledger and customers streams, with the bucket and the secret by name only', () => {
    const fnId = base.stack.getLogicalId(base.stack.analyticalExport.function.function.node.defaultChild as never);
    const sources = ofType(base.resources, 'AWS::Lambda::EventSourceMapping').filter(([, m]) => refId(m.Properties.FunctionName) === fnId);
    expect(sources).toHaveLength(3);
    for (const [, m] of sources) expect(m.Properties.DestinationConfig.OnFailure.Destination).toBeDefined();
    const vars = base.resources[fnId]!.Properties.Environment.Variables;
    expect(Object.keys(vars)).toEqual(expect.arrayContaining(['BATON_EXPORT_BUCKET', 'BATON_EXPORT_SECRET_ARN']));
  });
});

describe('functions', () => {
  const functions = ofType(base.resources, 'AWS::Lambda::Function');

  it('runs every function on Node.js 24, arm64, traced, with its own log group and retention', () => {
    expect(functions).toHaveLength(11); // evaluate, dispatch, decisions-api, unsubscribe, run starter, run worker, segments refresh, aggregates, loyalty expiry, export, console api
    for (const [id, fn] of functions) {
      expect(fn.Properties.Runtime, id).toBe('nodejs24.x');
      expect(fn.Properties.Architectures, id).toEqual(['arm64']);
      expect(fn.Properties.TracingConfig, id).toEqual({ Mode: 'Active' });
      expect(fn.Properties.MemorySize, id).toBeGreaterThanOrEqual(128);
      const logGroup = base.resources[refId(fn.Properties.LoggingConfig.LogGroup)!]!;
      expect(logGroup.Properties.RetentionInDays, id).toBeGreaterThan(0);
      expect(fn.Properties.Environment.Variables.POWERTOOLS_METRICS_NAMESPACE).toBe('Baton');
      for (const key of TABLE_KEYS) expect(fn.Properties.Environment.Variables).toHaveProperty(`BATON_TABLE_${key.toUpperCase()}`);
    }
  });

  it('bounds dispatch concurrency and reads the outbox stream with bisect, bounded retries and a DLQ', () => {
    const dispatchId = base.stack.getLogicalId(base.stack.channels.dispatch.function.node.defaultChild as never);
    expect(base.resources[dispatchId]!.Properties.ReservedConcurrentExecutions).toBe(5);
    const decisionsId = base.stack.getLogicalId(base.stack.tables.tables.decisions.node.defaultChild as never);
    const [, esm] = ofType(base.resources, 'AWS::Lambda::EventSourceMapping').find(
      ([, m]) => refId(m.Properties.FunctionName) === dispatchId && refId(m.Properties.EventSourceArn) === decisionsId,
    )!;
    expect(esm.Properties).toMatchObject({
      BisectBatchOnFunctionError: true,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: 10,
      StartingPosition: 'TRIM_HORIZON',
    });
    expect(refId(esm.Properties.EventSourceArn)).toBe(base.stack.getLogicalId(base.stack.tables.tables.decisions.node.defaultChild as never));
    expect(refId(esm.Properties.DestinationConfig.OnFailure.Destination)).toBe(
      base.stack.getLogicalId(base.stack.channels.deadLetterQueue.node.defaultChild as never),
    );
    const unreserved = synth({ dispatchConcurrency: 0 }).resources;
    expect(ofType(unreserved, 'AWS::Lambda::Function').every(([, f]) => f.Properties.ReservedConcurrentExecutions === undefined)).toBe(true);
  });

  it('passes the unsubscribe secret by ARN, never its value, and lets only dispatch and unsubscribe read it', () => {
    const { resources, stack, template } = synth({ unsubscribeUrl: 'https://offers.example.com/u' });
    const secretId = stack.getLogicalId(stack.channels.unsubscribeSecret!.node.defaultChild as never);
    const id = (fn: { function: { node: { defaultChild?: unknown } } }) => stack.getLogicalId(fn.function.node.defaultChild as never);
    const readers = { [id(stack.channels.dispatch)]: 'dispatch', [id(stack.decisionApi.unsubscribeFunction)]: 'unsubscribe' };
    // No dynamic reference to a secret anywhere: CloudFormation would resolve it into plain text.
    expect(JSON.stringify(template.toJSON()).match(/\{\{resolve:(secretsmanager|ssm-secure):/g) ?? []).toEqual([]);
    for (const [fnId, fn] of ofType(resources, 'AWS::Lambda::Function')) {
      const vars = fn.Properties.Environment.Variables as Json;
      expect(vars, fnId).not.toHaveProperty('BATON_UNSUBSCRIBE_SECRET');
      // The secret's ARN is its Ref; it goes only to the functions that sign or verify links.
      const naming = Object.entries(vars).filter(([, v]) => refId(v) === secretId || JSON.stringify(v).includes(secretId));
      expect(naming, fnId).toEqual(readers[fnId] ? [['BATON_UNSUBSCRIBE_SECRET_ARN', { Ref: secretId }]] : []);
    }
    expect(resources[id(stack.channels.dispatch)]!.Properties.Environment.Variables.BATON_UNSUBSCRIBE_URL).toBe('https://offers.example.com/u');
    // Read access (GetSecretValue) on that secret only, for those two roles only.
    const roleOf = (fnId: string) => refId(resources[fnId]!.Properties.Role);
    const readerRoles = Object.keys(readers).map(roleOf).sort();
    const grants = ofType(resources, 'AWS::IAM::Policy').flatMap(([, p]) =>
      (p.Properties.PolicyDocument.Statement as Json[])
        .filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('secretsmanager:')) && asArray(s.Resource).map(refId).includes(secretId))
        .map((s) => ({ roles: p.Properties.Roles.map(refId), actions: asArray<string>(s.Action).sort(), resources: asArray(s.Resource).map(refId) })),
    );
    expect(grants.flatMap((g) => g.roles).sort()).toEqual(readerRoles);
    for (const g of grants) {
      expect(g.actions).toContain('secretsmanager:GetSecretValue');
      expect(g.actions.every((a) => ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'].includes(a))).toBe(true);
      expect(g.resources).toEqual([secretId]);
    }
    // Without unsubscribe links there is no secret and nothing names one.
    const exportSecret = base.stack.getLogicalId(base.stack.analyticalExport.secret.node.defaultChild as never);
    expect(ofType(base.resources, 'AWS::SecretsManager::Secret').map(([id]) => id)).toEqual([exportSecret]); // only the export's pseudonym secret
    for (const [, fn] of ofType(base.resources, 'AWS::Lambda::Function')) expect(fn.Properties.Environment.Variables).not.toHaveProperty('BATON_UNSUBSCRIBE_SECRET_ARN');
  });
});

describe('dispatch: held messages, dead letters, capacity, SMS budget, deliverability', () => {
  const dispatchId = base.stack.getLogicalId(base.stack.channels.dispatch.function.node.defaultChild as never);
  const dispatch = base.resources[dispatchId]!;
  const heldId = base.stack.getLogicalId(base.stack.channels.heldQueue.node.defaultChild as never);
  const dlqId = base.stack.getLogicalId(base.stack.channels.deadLetterQueue.node.defaultChild as never);
  const env = dispatch.Properties.Environment.Variables;

  it('reads the held queue (quiet hours) with partial batch failures; the queue redrives to the alarmed dispatch DLQ', () => {
    const [, esm] = ofType(base.resources, 'AWS::Lambda::EventSourceMapping').find(([, m]) => refId(m.Properties.EventSourceArn) === heldId)!;
    expect(refId(esm.Properties.FunctionName)).toBe(dispatchId);
    expect(esm.Properties.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
    const held = base.resources[heldId]!.Properties;
    expect(refId(held.RedrivePolicy.deadLetterTargetArn)).toBe(dlqId);
    expect(held.VisibilityTimeout).toBeGreaterThanOrEqual(6 * dispatch.Properties.Timeout);
    expect(refId(env.BATON_HELD_QUEUE_URL)).toBe(heldId);
  });

  it('gives dispatch the DLQ URL and only sqs:SendMessage on it, for permanent send failures', () => {
    expect(refId(env.BATON_DISPATCH_DLQ_URL)).toBe(dlqId);
    const onDlq = iamStatements(base.resources).filter(({ statement }) => asArray(statement.Resource).some((r) => refId(r) === dlqId));
    const actions = onDlq.flatMap(({ statement }) => asArray<string>(statement.Action));
    expect(actions).toContain('sqs:SendMessage');
    expect(actions.filter((a) => a.startsWith('sqs:') && !['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'].includes(a))).toEqual([]);
  });

  it("splits each channel's capacity across the reserved instances and passes the SMS budget", () => {
    expect(JSON.parse(env.BATON_CHANNEL_RATES)).toEqual({ email: 2.8, sms: 0.6, push: 20, device: 20, bus: 50 });
    expect(env.BATON_SMS_MONTHLY_BUDGET_USD).toBe('1');
    const custom = synth({ dispatchConcurrency: 2, smsMonthlyBudgetUsd: 250 });
    const vars = custom.resources[custom.stack.getLogicalId(custom.stack.channels.dispatch.function.node.defaultChild as never)]!.Properties.Environment.Variables;
    expect(JSON.parse(vars.BATON_CHANNEL_RATES).email).toBe(7);
    expect(vars.BATON_SMS_MONTHLY_BUDGET_USD).toBe('250');
  });

  it('alarms when the deliverability guard pauses marketing e-mail and when the SMS budget is spent', () => {
    const alarms = ofType(base.resources, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    for (const metric of ['DeliverabilityPaused', 'SmsBudgetExhausted']) {
      const alarm = alarms.find((a) => a.MetricName === metric);
      expect(alarm, metric).toMatchObject({ Namespace: 'Baton', Dimensions: [{ Name: 'service', Value: 'dispatch' }], Threshold: 1 });
      expect(alarm!.AlarmActions).toHaveLength(1);
    }
  });
});

describe('decision API', () => {
  const apis = ofType(base.resources, 'AWS::ApiGatewayV2::Api');
  const routes = ofType(base.resources, 'AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties);
  const [[, stage]] = ofType(base.resources, 'AWS::ApiGatewayV2::Stage') as [[string, Json]];

  it('is one HTTP API whose decisions route requires IAM (SigV4) authorisation', () => {
    expect(apis).toHaveLength(1);
    expect(apis[0]![1].Properties.ProtocolType).toBe('HTTP');
    const decisions = routes.find((r) => r.RouteKey === 'POST /v1/decisions');
    expect(decisions?.AuthorizationType).toBe('AWS_IAM');
  });

  it('leaves only the signed-token unsubscribe routes without IAM', () => {
    const open = routes.filter((r) => r.AuthorizationType !== 'AWS_IAM').map((r) => r.RouteKey).sort();
    expect(open).toEqual(['GET /unsubscribe', 'POST /unsubscribe']);
  });

  it('writes JSON access logs without query strings to a log group with retention, and throttles the stage', () => {
    const settings = stage.Properties.AccessLogSettings;
    const format = JSON.parse(settings.Format);
    expect(format.requestId).toBe('$context.requestId');
    expect(format.status).toBe('$context.status');
    expect(settings.Format).not.toMatch(/querystring|\$context\.path|\$input/i);
    const logGroup = base.resources[refId(settings.DestinationArn)!]!;
    expect(logGroup.Type).toBe('AWS::Logs::LogGroup');
    expect(logGroup.Properties.RetentionInDays).toBeGreaterThan(0);
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 200, ThrottlingBurstLimit: 400 });
  });

  /** The PutEvents statements in the policies attached to one role. */
  const putEventsOf = (role: iam.IRole) => {
    const roleId = base.stack.getLogicalId(role.node.defaultChild as never);
    const policies = new Set(
      ofType(base.resources, 'AWS::IAM::Policy').filter(([, p]) => p.Properties.Roles.some((r: unknown) => refId(r) === roleId)).map(([id]) => id),
    );
    return iamStatements(base.resources)
      .filter(({ at, statement }) => policies.has(at) && asArray(statement.Action).includes('events:PutEvents'))
      .map(({ statement }) => statement);
  };

  it('serves the unsubscribe routes from their own function, the decisions route from the decisions function', () => {
    const integrations = Object.fromEntries(ofType(base.resources, 'AWS::ApiGatewayV2::Integration').map(([id, i]) => [id, refId(i.Properties.IntegrationUri)]));
    const served = Object.fromEntries(
      ofType(base.resources, 'AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, integrations[(r.Properties.Target['Fn::Join'][1] as unknown[]).map(refId).find(Boolean)!]]),
    );
    const decisions = base.stack.getLogicalId(base.stack.decisionApi.function.function.node.defaultChild as never);
    const unsubscribe = base.stack.getLogicalId(base.stack.decisionApi.unsubscribeFunction.function.node.defaultChild as never);
    expect(decisions).not.toBe(unsubscribe);
    expect(served).toEqual({ 'POST /v1/decisions': decisions, 'GET /unsubscribe': unsubscribe, 'POST /unsubscribe': unsubscribe });
  });

  it('lets the unsubscribe function publish only ConsentChanged as the CRM source, and the decisions function publish nothing', () => {
    expect(putEventsOf(base.stack.decisionApi.function.role)).toEqual([]);
    expect(putEventsOf(base.stack.decisionApi.unsubscribeFunction.role)).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [base.stack.getLogicalId(base.stack.bus.bus.node.defaultChild as never), 'Arn'] },
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': [SOURCES.crm], 'events:detail-type': ['ConsentChanged'] },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      },
    ]);
    // Evaluate publishes the segment entries and exits it commits, and nothing else.
    expect(putEventsOf(base.stack.pipeline.evaluate.role)).toEqual([
      {
        Effect: 'Allow',
        Action: 'events:PutEvents',
        Resource: { 'Fn::GetAtt': [base.stack.getLogicalId(base.stack.bus.bus.node.defaultChild as never), 'Arn'] },
        Condition: {
          'ForAllValues:StringEquals': { 'events:source': [SOURCES.segments], 'events:detail-type': ['SegmentEntered', 'SegmentLeft'] },
          Null: { 'events:source': 'false', 'events:detail-type': 'false' },
        },
      },
    ]);
    // Reading the profile is all the unsubscribe route does with data.
    expect(dataAccess(base.stack, base.resources, base.stack.decisionApi.unsubscribeFunction.role)).toEqual({ customers: ['GetItem'] });
  });

  it('grants execute-api:Invoke on the decisions route only', () => {
    const scope = app();
    const stack = new BatonStack(scope, 'grant-test', { env: ENV, senderEmail: 'offers@example.com' });
    const caller = new iam.Role(stack, 'CallCentre', { assumedBy: new iam.AccountRootPrincipal() });
    stack.decisionApi.grantInvoke(caller);
    const statements = iamStatements(Template.fromStack(stack).toJSON().Resources).filter(({ statement }) => statement.Action === 'execute-api:Invoke');
    expect(statements).toHaveLength(1);
    expect(JSON.stringify(statements[0]!.statement.Resource)).toContain('/$default/POST/v1/decisions');
  });

  it('alarms on 5xx answers and on function errors', () => {
    const alarms = ofType(base.resources, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    expect(alarms.find((a) => a.Namespace === 'AWS/ApiGateway' && a.MetricName === '5xx')?.AlarmActions).toHaveLength(1);
  });
});

describe('channels and observability', () => {
  it('sends SES events to the default bus and creates no e-mail identity unless asked', () => {
    const [[, destination]] = ofType(base.resources, 'AWS::SES::ConfigurationSetEventDestination') as [[string, Json]];
    expect(JSON.stringify(destination.Properties.EventDestination.EventBridgeDestination.EventBusArn)).toContain(':event-bus/default');
    expect(ofType(base.resources, 'AWS::SES::EmailIdentity')).toHaveLength(0);
    expect(ofType(synth({ createSenderIdentity: true }).resources, 'AWS::SES::EmailIdentity')).toHaveLength(1);
  });

  it('alarms on quarantined events and on function errors, through an encrypted HTTPS-only topic', () => {
    const alarms = ofType(base.resources, 'AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const quarantine = alarms.find((a) => a.MetricName === 'EventsQuarantined')!;
    expect(quarantine).toMatchObject({ Namespace: 'Baton', Dimensions: [{ Name: 'service', Value: 'evaluate' }], Threshold: 1 });
    const errors = alarms.filter((a) => a.MetricName === 'Errors' && a.Namespace === 'AWS/Lambda');
    expect(errors).toHaveLength(4); // evaluate, dispatch, decisions-api, unsubscribe
    const [[topicId, topic]] = ofType(base.resources, 'AWS::SNS::Topic') as [[string, Json]];
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
    for (const alarm of alarms) expect(alarm.AlarmActions.map(refId)).toEqual([topicId]);
    expect(ofType(base.resources, 'AWS::SNS::Subscription')).toHaveLength(0);
    const withEmail = ofType(synth({ alarmEmail: 'ops@example.com' }).resources, 'AWS::SNS::Subscription');
    expect(withEmail.map(([, s]) => s.Properties)).toMatchObject([{ Protocol: 'email', Endpoint: 'ops@example.com' }]);
  });

  it('has a dashboard', () => {
    expect(ofType(base.resources, 'AWS::CloudWatch::Dashboard')).toHaveLength(1);
  });
});

describe('journey timers (EventBridge Scheduler)', () => {
  const { resources, stack } = base;
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const roleId = id(stack.journeys.schedulerRole);
  const inboundId = id(stack.pipeline.inboundQueue);
  const dlqId = id(stack.journeys.deadLetterQueue);
  const groupId = id(stack.journeys.scheduleGroup);
  const keyId = id(stack.tables.encryptionKey);
  const evaluateRoleId = id(stack.pipeline.evaluate.role);
  const statementsOf = (role: string) =>
    ofType(resources, 'AWS::IAM::Policy')
      .filter(([, p]) => p.Properties.Roles.some((r: unknown) => refId(r) === role))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);

  it('creates one schedule group for the timers', () => {
    const groups = ofType(resources, 'AWS::Scheduler::ScheduleGroup');
    expect(groups.map(([, g]) => g.Properties.Name)).toEqual(['baton-dev-journeys']);
  });

  it('lets only Scheduler, for this account and the timer group, assume the role that delivers timers', () => {
    const trust = resources[roleId]!.Properties.AssumeRolePolicyDocument.Statement as Json[];
    expect(trust).toHaveLength(1);
    expect(trust[0]).toMatchObject({
      Effect: 'Allow',
      Action: 'sts:AssumeRole',
      Principal: { Service: 'scheduler.amazonaws.com' },
      Condition: { StringEquals: { 'aws:SourceAccount': ENV.account }, ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [groupId, 'Arn'] } } },
    });
    expect(resources[roleId]!.Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('lets that role send only to the inbound queue (its one target) and the timer DLQ, with the queues\' key', () => {
    const statements = statementsOf(roleId);
    const actions = statements.flatMap((s) => asArray<string>(s.Action)).sort();
    expect(actions).toEqual(['kms:Decrypt', 'kms:GenerateDataKey', 'sqs:SendMessage']);
    const send = statements.find((s) => s.Action === 'sqs:SendMessage')!;
    expect(asArray(send.Resource).map(refId).sort()).toEqual([dlqId, inboundId].sort());
    const kms = statements.find((s) => asArray(s.Action).includes('kms:Decrypt'))!;
    expect(asArray(kms.Resource).map(refId)).toEqual([keyId]);
    // No statement anywhere else names the role as a principal or grants it more.
    expect(statements.every((s) => s.Effect === 'Allow' && !s.Condition)).toBe(true);
  });

  it('lets evaluate create and delete schedules of the timer group only, and pass only the Scheduler role', () => {
    const statements = statementsOf(evaluateRoleId);
    const scheduler = statements.filter((s) => asArray<string>(s.Action).some((a) => a.startsWith('scheduler:')));
    expect(scheduler).toHaveLength(1);
    expect(asArray<string>(scheduler[0]!.Action).sort()).toEqual(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule']);
    expect(JSON.stringify(scheduler[0]!.Resource)).toMatch(/:schedule\/baton-dev-journeys\/\*"/);
    const pass = statements.filter((s) => asArray(s.Action).includes('iam:PassRole'));
    expect(pass).toEqual([
      expect.objectContaining({ Resource: { 'Fn::GetAtt': [roleId, 'Arn'] }, Condition: { StringEquals: { 'iam:PassedToService': 'scheduler.amazonaws.com' } } }),
    ]);
    // Nothing else in the stack may create schedules or pass the role.
    const elsewhere = iamStatements(resources).filter(
      ({ at, statement }) => !at.startsWith(evaluateRoleId.replace(/Role[0-9A-F]{8}$/, '')) && asArray<string>(statement.Action).some((a) => a.startsWith('scheduler:') || a === 'iam:PassRole'),
    );
    expect(elsewhere.map(({ at }) => at)).toEqual([]);
  });

  it('gives evaluate the timer settings: group, role, target queue and DLQ', () => {
    const evaluate = ofType(resources, 'AWS::Lambda::Function').find(([, f]) => refId(f.Properties.Role) === evaluateRoleId)![1];
    expect(evaluate.Properties.Environment.Variables).toMatchObject({
      BATON_SCHEDULER_GROUP: 'baton-dev-journeys',
      BATON_SCHEDULER_ROLE_ARN: { 'Fn::GetAtt': [roleId, 'Arn'] },
      BATON_SCHEDULER_TARGET_ARN: { 'Fn::GetAtt': [inboundId, 'Arn'] },
      BATON_SCHEDULER_DLQ_ARN: { 'Fn::GetAtt': [dlqId, 'Arn'] },
    });
  });

  it("keeps the timer DLQ on the stack's key, 14 days, and alarms at its first message", () => {
    const dlq = resources[dlqId]!.Properties;
    expect(refId(dlq.KmsMasterKeyId)).toBe(keyId);
    expect(dlq.MessageRetentionPeriod).toBe(14 * 86_400);
    const alarm = ofType(resources, 'AWS::CloudWatch::Alarm')
      .map(([, a]) => a.Properties)
      .find((a) => a.Dimensions?.some((d: Json) => d.Name === 'QueueName' && refId(d.Value) === dlqId));
    expect(alarm).toMatchObject({ MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(alarm!.AlarmActions).toHaveLength(1);
  });

  it('shows customers per journey step, timers due and timers late on the dashboard', () => {
    const [[, dashboard]] = ofType(resources, 'AWS::CloudWatch::Dashboard') as [[string, Json]];
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of ['JourneyCustomersInStep', 'JourneyTimersCreated', 'JourneyTimersFired', 'JourneyTimerLateSeconds', 'TargetErrorCount', 'InvocationsSentToDeadLetterCount']) {
      expect(body, metric).toContain(metric);
    }
  });
});

describe('loyalty: partner roles and the daily expiry run', () => {
  const { stack, resources } = synth({ loyaltyPartners: ['corner-cafe', 'city-garage'] });
  const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
  const busArn = { 'Fn::GetAtt': [id(stack.bus.bus), 'Arn'] };

  it('gives each partner its own role that can put only baton.partners sales and refunds on the bus', () => {
    expect(Object.keys(stack.loyalty.partnerRoles)).toEqual(['corner-cafe', 'city-garage']);
    for (const [partnerId, role] of Object.entries(stack.loyalty.partnerRoles)) {
      const r = resources[id(role)]!;
      expect(r.Properties.Policies.flatMap((p: Json) => p.PolicyDocument.Statement)).toEqual([
        {
          Effect: 'Allow',
          Action: 'events:PutEvents',
          Resource: busArn,
          Condition: {
            'ForAllValues:StringEquals': { 'events:source': [SOURCES.partners], 'events:detail-type': ['PartnerSaleCompleted', 'PartnerSaleRefunded'] },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        },
      ]);
      expect(r.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ENV.account}:root` }, Condition: { StringEquals: { 'aws:PrincipalTag/baton:publisher': `partner:${partnerId}` } } },
      ]);
      for (const [, p] of ofType(resources, 'AWS::IAM::Policy')) expect(p.Properties.Roles.map(refId)).not.toContain(id(role));
    }
    expect(Object.keys(base.stack.loyalty.partnerRoles)).toEqual([]);
    expect(() => synth({ loyaltyPartners: ['Corner Cafe'] })).toThrow(/"Corner Cafe" is not a partner id/);
  });

  it('runs the expiry daily through Scheduler, with retries and the schedule DLQ', () => {
    const schedules = ofType(resources, 'AWS::Scheduler::Schedule').filter(([, r]) => String(r.Properties.Description).includes('loyalty expiry'));
    expect(schedules).toHaveLength(1);
    const schedule = schedules[0]![1];
    expect(schedule.Properties.ScheduleExpression).toBe('cron(0 2 * * ? *)');
    expect(refId(schedule.Properties.Target.Arn)).toBe(id(stack.loyalty.expiry.function));
    expect(refId(schedule.Properties.Target.DeadLetterConfig.Arn)).toBe(id(stack.runs.scheduleDeadLetterQueue));
    expect(schedule.Properties.Target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 1800, MaximumRetryAttempts: 5 });
  });

  it('grants the expiry run the ledger only, and the bus only for PointsExpiring and PointsExpired', () => {
    expect(dataAccess(stack, resources, stack.loyalty.expiry.role)).toEqual({ ledger: ['DeleteItem', 'GetItem', 'PutItem', 'Query', 'UpdateItem'] });
    const put = iamStatements(resources).filter(({ statement }) => statement.Action === 'events:PutEvents' && JSON.stringify(statement.Condition ?? {}).includes(SOURCES.loyalty));
    expect(put.map(({ statement }) => statement.Condition['ForAllValues:StringEquals'])).toContainEqual({ 'events:source': [SOURCES.loyalty], 'events:detail-type': ['PointsExpiring', 'PointsExpired'] });
  });
});

const CRM_DESTINATIONS = [
  { destinationId: 'crm', url: 'https://crm.example.com/api/contacts', auth: { kind: 'api-key' as const, header: 'x-api-key', secretName: 'baton/crm-api-key' }, rateLimitPerSecond: 20, retry: { maximumAttempts: 5, maximumEventAgeSeconds: 7200 } },
  { destinationId: 'warehouse-loader', url: 'https://loader.example.com/rows', method: 'PUT' as const, auth: { kind: 'basic' as const, secretName: 'baton/loader' }, rateLimitPerSecond: 5 },
];

describe('destinations (docs/destinations.md)', () => {
  it('makes a connection, an API destination and a rule per destination, with the retry policy, one DLQ and its alarm', () => {
    const { template, resources } = synth({ destinations: CRM_DESTINATIONS });
    template.resourceCountIs('AWS::Events::Connection', 2);
    template.resourceCountIs('AWS::Events::ApiDestination', 2);
    template.hasResourceProperties('AWS::Events::ApiDestination', { InvocationEndpoint: 'https://crm.example.com/api/contacts', HttpMethod: 'POST', InvocationRateLimitPerSecond: 20 });
    // The secret by name, resolved by CloudFormation: never in the template.
    const connection = ofType(resources, 'AWS::Events::Connection').map(([, r]) => JSON.stringify(r.Properties))[0]!;
    expect(connection).toContain('{{resolve:secretsmanager:');
    expect(connection).toContain('baton/crm-api-key');
    const rule = ofType(resources, 'AWS::Events::Rule').find(([, r]) => JSON.stringify(r.Properties).includes('"destination":["crm"]'));
    expect(rule).toBeDefined();
    const target = (rule![1].Properties as { Targets: Json[] }).Targets[0] as Json;
    expect(target).toMatchObject({ InputPath: '$.detail.payload', RetryPolicy: { MaximumRetryAttempts: 5, MaximumEventAgeInSeconds: 7200 } });
    expect(target.DeadLetterConfig).toBeDefined();
    expect(target.RoleArn).toBeDefined();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('destination after its retry policy') });
  });

  it('refuses a plain-HTTP URL and a rate limit over 300 at synth', () => {
    expect(() => synth({ destinations: [{ ...CRM_DESTINATIONS[0]!, url: 'http://crm.example.com' }] })).toThrow(/url is not https/);
    expect(() => synth({ destinations: [{ ...CRM_DESTINATIONS[0]!, rateLimitPerSecond: 1000 }] })).toThrow(/rateLimitPerSecond is 1000/);
  });

  it('makes nothing without destinations', () => {
    // The default settings: the stack every file-level test reads.
    base.template.resourceCountIs('AWS::Events::ApiDestination', 0);
  });
});

describe('cdk-nag (AwsSolutions, Serverless)', () => {
  afterEach(() => vi.restoreAllMocks());

  it.each([
    ['default settings', {}],
    ['prod with every option on', {
      stage: 'prod',
      alarmEmail: 'ops@example.com',
      unsubscribeUrl: 'https://offers.example.com/u',
      createSenderIdentity: true,
      crossAccountPublishers: [{ account: '111122223333', system: 'crm' as const }],
      loyaltyPartners: ['corner-cafe', 'city-garage'],
    }],
    ['with destinations (docs/destinations.md)', { destinations: CRM_DESTINATIONS }],
  ])('reports no unacknowledged finding (%s)', (_name, props) => {
    const { app: scope, stack } = synth(props);
    // The errors annotated on the stack, from the assembly synth() built (Annotations.fromStack
    // would synthesise the whole app again to read the same messages).
    expect(scope.synth().getStackArtifact(stack.artifactId).messages.filter((m) => m.level === 'error')).toEqual([]);
    for (const pack of nagPacks(scope)) {
      const report = pack.validateScope(scope);
      expect(report.violations.map((v) => `${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
      expect(report.success).toBe(true);
    }
  });

  it('acknowledges only findings that exist, each with a reason', () => {
    // Build the stack with acknowledgements recorded but not applied, so nag reports what they cover.
    const acks: { path: string; ack: Acknowledgment }[] = [];
    vi.spyOn(Validations.prototype, 'acknowledge').mockImplementation(function (this: Validations, ...rules: Acknowledgment[]) {
      const scope = (this as unknown as { scope: { node: { path: string } } }).scope;
      for (const ack of rules) acks.push({ path: scope.node.path, ack });
    });
    const { app: scope } = synth({ alarmEmail: 'ops@example.com', unsubscribeUrl: 'https://offers.example.com/u' });
    const findings = nagPacks(scope).flatMap((pack) =>
      pack.validateScope(scope).violations.flatMap((v) => v.violatingResources.map((r) => ({ rule: v.ruleName, path: r.constructPath ?? '' }))),
    );
    expect(acks.length).toBeGreaterThan(5);
    for (const { path: at, ack } of acks) {
      expect(ack.reason.length, ack.id).toBeGreaterThan(40);
      const covered = findings.filter((f) => f.rule === ack.id && (f.path === at || f.path.startsWith(`${at}/`)));
      expect(covered.length, `${ack.id} at ${at} acknowledges nothing`).toBeGreaterThan(0);
    }
    // Every finding is one of the acknowledged ones.
    for (const f of findings) {
      expect(acks.some(({ path: at, ack }) => ack.id === f.rule && (f.path === at || f.path.startsWith(`${at}/`))), `${f.rule} at ${f.path}`).toBe(true);
    }
  });
});

describe('configuration from CDK context (infra/app.ts)', () => {
  it("builds the stack from cdk.json's defaults", () => {
    const scope = app();
    const props = propsFromContext(scope.node);
    expect(props).toMatchObject({ stage: 'dev', senderEmail: CDK_CONTEXT.senderEmail, retainData: undefined, archiveRetentionDays: 365 });
    expect(stackName(props)).toBe('baton-dev');
    const stack = new BatonStack(scope, stackName(props), { ...props, env: ENV });
    expect(Template.fromStack(stack).toJSON().Resources).toBeDefined();
  });

  it('reads overrides and names the key and value of a bad one', () => {
    const props = propsFromContext(
      app({
        stage: 'prod',
        retainData: 'false',
        publisherPrincipal: 'arn:aws:iam::123456789012:role/integration',
        'publisherPrincipal.pos': '210987654321',
        crossAccountPublishers: 'crm=111122223333',
      }).node,
    );
    expect(props.publisherPrincipal).toBeInstanceOf(iam.ArnPrincipal);
    expect(props.stage).toBe('prod');
    expect(props.retainData).toBe(false);
    expect(props.publisherPrincipals?.pos).toBeInstanceOf(iam.AccountPrincipal);
    expect(props.crossAccountPublishers).toEqual([{ system: 'crm', account: '111122223333' }]);
    expect(() => propsFromContext(app({ retainData: 'yes' }).node)).toThrow('context "retainData" is "yes"; expected true, false or auto');
    expect(() => propsFromContext(app({ crossAccountPublishers: 'billing=1' }).node)).toThrow(/"billing=1"/);
    expect(() => propsFromContext(app({ senderEmail: '' }).node)).toThrow(/senderEmail/);
    expect(() => synth({ senderEmail: 'not-an-address' })).toThrow(/"not-an-address"/);
    expect(() => synth({ stage: 'Prod!' })).toThrow(/"Prod!"/);
  });
});

describe('loyalty partners from CDK context (infra/app.ts)', () => {
  it('reads the partners as a comma-separated string or a cdk.json list, each with who may assume its role', () => {
    expect(propsFromContext(app({ loyaltyPartners: 'corner-cafe, city-garage' }).node).loyaltyPartners).toEqual(['corner-cafe', 'city-garage']);
    expect(propsFromContext(app({ loyaltyPartners: ['corner-cafe'] }).node).loyaltyPartners).toEqual(['corner-cafe']);
    expect(propsFromContext(app().node).loyaltyPartners).toBeUndefined();
    const props = propsFromContext(app({ loyaltyPartners: 'corner-cafe=210987654321,city-garage=arn:aws:iam::210987654321:role/pos,tea-house' }).node);
    expect(props.loyaltyPartners).toEqual(['corner-cafe', 'city-garage', 'tea-house']);
    expect(props.loyaltyPartnerPrincipals?.['corner-cafe']).toBeInstanceOf(iam.AccountPrincipal);
    expect(props.loyaltyPartnerPrincipals?.['city-garage']).toBeInstanceOf(iam.ArnPrincipal);
    expect(props.loyaltyPartnerPrincipals?.['tea-house']).toBeUndefined();
    // The stack makes one role per partner; a principal named replaces the tag condition.
    const stack = new BatonStack(app(), 'baton-partners', { ...props, env: ENV });
    expect(Object.keys(stack.loyalty.partnerRoles)).toEqual(['corner-cafe', 'city-garage', 'tea-house']);
    const roles = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
    const trust = (partnerId: string) => roles[stack.getLogicalId(stack.loyalty.partnerRoles[partnerId]!.node.defaultChild as never)]!.Properties.AssumeRolePolicyDocument.Statement;
    expect(JSON.stringify(trust('corner-cafe'))).toContain(':iam::210987654321:root');
    expect(JSON.stringify(trust('city-garage'))).toContain('arn:aws:iam::210987654321:role/pos');
    expect(JSON.stringify(trust('tea-house'))).toContain('partner:tea-house');
    expect(() => propsFromContext(app({ loyaltyPartners: 'Corner Cafe' }).node)).toThrow(/context "loyaltyPartners" has "Corner Cafe"; expected <partner id>/);
    expect(() => propsFromContext(app({ loyaltyPartners: 'cafe=12' }).node)).toThrow(/has "cafe=12"; expected after "="/);
    expect(() => propsFromContext(app({ loyaltyPartners: 'cafe,cafe' }).node)).toThrow(/names partner "cafe" twice/);
    expect(() => propsFromContext(app({ loyaltyPartners: [1] }).node)).toThrow(/context "loyaltyPartners" is a list/);
  });
});

describe('console (infra/constructs/console.ts)', () => {
  it('keeps the site in a private, encrypted, TLS-only bucket that only CloudFront reads, through origin access control', () => {
    const site = ofType(base.resources, 'AWS::S3::Bucket').find(([id]) => id.startsWith('ConsoleSite'))!;
    expect(site, 'the console site bucket').toBeDefined();
    const props = site[1].Properties;
    expect(props.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBeTruthy();
    const policy = ofType(base.resources, 'AWS::S3::BucketPolicy').find(([, p]) => refId(p.Properties.Bucket) === site[0])!;
    const statements = policy[1].Properties.PolicyDocument.Statement as Json[];
    expect(statements.some((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false')).toBe(true);
    const reads = statements.filter((s) => s.Effect === 'Allow');
    expect(reads.map((s) => s.Principal)).toEqual([{ Service: 'cloudfront.amazonaws.com' }]);
    expect(ofType(base.resources, 'AWS::CloudFront::OriginAccessControl')).toHaveLength(1);
  });

  it('has a user pool with TOTP MFA available, threat protection, the four groups, and a Cognito authorizer on every API method but the preflight', () => {
    const [, pool] = ofType(base.resources, 'AWS::Cognito::UserPool').find(([id]) => id.startsWith('Console'))!;
    expect(pool.Properties.MfaConfiguration).toBe('OPTIONAL');
    expect(pool.Properties.EnabledMfas).toEqual(['SOFTWARE_TOKEN_MFA']);
    expect(pool.Properties.UserPoolAddOns).toEqual({ AdvancedSecurityMode: 'ENFORCED' });
    expect(ofType(base.resources, 'AWS::Cognito::UserPoolGroup').map(([, g]) => g.Properties.GroupName).sort()).toEqual(['admin', 'approver', 'marketer', 'viewer']);
    const methods = ofType(base.resources, 'AWS::ApiGateway::Method');
    expect(methods.length).toBeGreaterThan(1);
    for (const [id, m] of methods) {
      if (m.Properties.HttpMethod === 'OPTIONS') continue;
      expect(m.Properties.AuthorizationType, id).toBe('COGNITO_USER_POOLS');
    }
  });

  it('lets the console function write only the rules table (rules, changes, audit) and journey versions, read what it shows, and put only CustomerErased on the bus', () => {
    const role = ofType(base.resources, 'AWS::IAM::Role').find(([id]) => id.startsWith('ConsoleFunction'))![0];
    const statements = iamStatements(base.resources).filter(({ at, statement }) => at.startsWith('ConsoleFunction') && asArray<string>(statement.Action).some((a) => a.startsWith('dynamodb:')));
    expect(statements.length).toBeGreaterThan(0);
    const writes = statements.filter(({ statement }) => asArray<string>(statement.Action).some((a) => /Put|Update|Delete|BatchWrite/.test(a)));
    for (const { statement } of writes) expect(JSON.stringify(statement.Resource)).toMatch(/TablesRules|TablesCampaigns/);
    const campaignWrites = writes.filter(({ statement }) => JSON.stringify(statement.Resource).includes('TablesCampaigns')).flatMap(({ statement }) => asArray<string>(statement.Action));
    expect(campaignWrites.filter((a) => /Put|Update|Delete|BatchWrite/.test(a))).toEqual(['dynamodb:PutItem']); // a journey's next version (pause, resume)
    const busStatements = iamStatements(base.resources).filter(({ at, statement }) => at.startsWith('ConsoleFunction') && asArray<string>(statement.Action).includes('events:PutEvents'));
    expect(busStatements.map(({ statement }) => (statement.Condition as Record<string, Record<string, unknown>>)['ForAllValues:StringEquals'])).toEqual([{ 'events:source': ['baton.crm'], 'events:detail-type': ['CustomerErased'] }]);
    expect(role).toBeDefined();
  });
});
