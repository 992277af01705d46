// The timer outbox's sweep in the cloud: a schedule has evaluate (the one function allowed to write
// the timer group's schedules) relay every timer a crash or a throttle left in the outbox. No other
// role gains scheduler or PassRole rights for it.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BatonStack } from '../../infra/stack.ts';
import { SWEEP_EVENT } from '../../lib/contract/journeys.ts';

type Json = Record<string, any>;
const ROOT = path.resolve(import.meta.dirname, '../..');
const CDK_CONTEXT: Json = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context;
const app = new App({ context: { ...CDK_CONTEXT, 'aws:cdk:bundling-stacks': [] } });
const stack = new BatonStack(app, 'baton-sweep-test', { env: { account: '123456789012', region: 'eu-west-1' }, senderEmail: 'offers@example.com' });
const resources = Template.fromStack(stack).toJSON().Resources as Record<string, Json>;
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

describe('the journey timer sweep', () => {
  const evaluateId = id(stack.pipeline.evaluate.function);
  const ruleId = stack.getLogicalId(stack.journeys.sweepSchedule.node.defaultChild as never);

  it('runs every five minutes, with the sweep input, against evaluate only, with retries and a DLQ', () => {
    const rule = resources[ruleId]!;
    expect(rule.Properties.ScheduleExpression).toBe('rate(5 minutes)');
    expect(rule.Properties.State).toBe('ENABLED');
    const targets = rule.Properties.Targets as Json[];
    expect(targets).toHaveLength(1);
    expect(targets[0]).toMatchObject({
      Arn: { 'Fn::GetAtt': [evaluateId, 'Arn'] },
      Input: JSON.stringify(SWEEP_EVENT),
      RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
      DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(stack.journeys.deadLetterQueue), 'Arn'] } },
    });
  });

  it('lets only that rule invoke evaluate from EventBridge', () => {
    const fromEvents = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'events.amazonaws.com');
    expect(fromEvents.map(([, p]) => [p.Properties.Action, p.Properties.FunctionName, p.Properties.SourceArn])).toEqual([
      ['lambda:InvokeFunction', { 'Fn::GetAtt': [evaluateId, 'Arn'] }, { 'Fn::GetAtt': [ruleId, 'Arn'] }],
    ]);
  });

  it('adds no role that may write schedules or pass the Scheduler role: evaluate stays the only one', () => {
    const evaluateRole = id(stack.pipeline.evaluate.role);
    const holders = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.PolicyDocument.Statement as Json[]).some((s) => asArray<string>(s.Action).some((a) => a.startsWith('scheduler:') || a === 'iam:PassRole')))
      .flatMap(([, p]) => (p.Properties.Roles as Json[]).map((r) => r.Ref));
    expect([...new Set(holders)]).toEqual([evaluateRole]);
  });
});
