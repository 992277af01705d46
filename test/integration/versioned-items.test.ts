// The history of rules, campaigns and policies under concurrent writers, on DynamoDB Local: every
// write is conditional on the live item it read, so when several writers read the same version
// exactly one wins and the others are refused with nothing written; none is lost.
import { describe, expect, it } from 'vitest';
import { TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoRuleRepository } from '../../lib/adapters/dynamo/rules.ts';
import { VersionConflictError } from '../../lib/adapters/dynamo/versioned.ts';
import { db, tables, unique } from '../support/local.ts';

/** A client whose transactions wait until `writers` of them are pending: every writer has read first. */
function barrier(client: DynamoDBDocumentClient, writers: number): DynamoDBDocumentClient {
  const held: (() => void)[] = [];
  return {
    send: async (command: unknown) => {
      if (command instanceof TransactWriteCommand) {
        await new Promise<void>((go) => {
          held.push(go);
          if (held.length === writers) held.splice(0).forEach((release) => release());
        });
      }
      return client.send(command as never);
    },
  } as unknown as DynamoDBDocumentClient;
}

const rule = (ruleId: string, priority: number) => ({
  ruleId,
  campaignId: 'versioned-test',
  enabled: true,
  priority,
  when: { source: ['baton.pos'], detail: { storeId: [ruleId] } },
  then: { channel: 'bus', action: 'race' },
});

describe('versioned items under concurrent writers', () => {
  it.each([
    ['an item the CLI wrote', true],
    ['an item written with put-item (no version)', false],
  ])('refuses all but one of five writers that read %s, and loses none', async (_what, versioned) => {
    const ruleId = unique('race');
    const plain = new DynamoRuleRepository(db(), tables().rules);
    if (versioned) await plain.put(rule(ruleId, 1), 'setup');
    else await db().send(new TransactWriteCommand({ TransactItems: [{ Put: { TableName: tables().rules, Item: { pk: `RULE#${ruleId}`, sk: 'CURRENT', ...rule(ruleId, 1) } } }] }));
    const racing = new DynamoRuleRepository(barrier(db(), 5), tables().rules);

    const results = await Promise.allSettled([10, 20, 30, 40, 50].map((priority) => racing.put(rule(ruleId, priority), `writer-${priority}`)));

    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const refused = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    expect(won).toHaveLength(1);
    expect(refused).toHaveLength(4);
    expect(refused.every((e) => e instanceof VersionConflictError && e.message.startsWith(`rule ${ruleId} was changed by someone else`))).toBe(true);
    const live = await plain.current(ruleId);
    const versions = await plain.versions(ruleId);
    expect(live?.version).toBe(2);
    expect(won[0]).toMatchObject({ version: 2, ...(versioned ? {} : { adopted: 1 }) });
    // Exactly the winner's content is live and in the history, after the first version.
    expect(versions.map((v) => [v.version, v.content.priority])).toEqual([
      [2, live!.content.priority],
      [1, 1],
    ]);
    expect(versions[0]!.updatedBy).toBe(`writer-${String(live!.content.priority)}`);
  }, 300_000);
});
