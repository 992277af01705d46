// The timer outbox's sweep in the cloud: a recurring schedule of the timer group puts the sweep message
// on the inbound queue, and evaluate (the one function allowed to write the group's schedules) relays
// every timer a crash or a throttle left in the outbox. No role gains a right for it.
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { BatonStack } from '../../infra/stack.ts';
import { SWEEP_EVENT, SWEEP_SCHEDULE } from '../../lib/contract/journeys.ts';

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
  const evaluateRole = id(stack.pipeline.evaluate.role);

  it('is a recurring schedule of the timer group: every five minutes the sweep message onto the inbound queue, with the timers\' role, retries and DLQ', () => {
    // The stack has other schedules (outbound runs, the daily segment refresh): one is the sweep.
    const schedules = ofType('AWS::Scheduler::Schedule').filter(([, r]) => r.Properties.GroupName === 'baton-dev-journeys');
    expect(schedules).toHaveLength(1);
    expect(schedules[0]![1].Properties).toMatchObject({
      Name: SWEEP_SCHEDULE,
      GroupName: 'baton-dev-journeys',
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [id(stack.pipeline.inboundQueue), 'Arn'] },
        RoleArn: { 'Fn::GetAtt': [id(stack.journeys.schedulerRole), 'Arn'] },
        Input: JSON.stringify(SWEEP_EVENT),
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [id(stack.journeys.deadLetterQueue), 'Arn'] } },
      },
    });
    expect(schedules[0]![1].DependsOn).toContain(id(stack.journeys.scheduleGroup));
  });

  it('adds no role that may write schedules or pass the Scheduler role: evaluate stays the only one', () => {
    const holders = ofType('AWS::IAM::Policy')
      .filter(([, p]) => (p.Properties.PolicyDocument.Statement as Json[]).some((s) => asArray<string>(s.Action).some((a) => a.startsWith('scheduler:') || a === 'iam:PassRole')))
      .flatMap(([, p]) => (p.Properties.Roles as Json[]).map((r) => r.Ref));
    expect([...new Set(holders)]).toEqual([evaluateRole]);
  });
});
