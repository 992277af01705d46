// The console's pending rule changes and its audit log, in the rules table beside the rules
// (RULE#… items are DynamoRuleRepository's; these prefixes are this repository's alone):
//   CHANGE#<changeId> / CHANGE          one submitted change: who, when, what, and its decision
//   AUDIT / <at>#<entryId>              one audit entry per step of a change (submitted, approved,
//                                       rejected, applied), newest last; never updated or deleted
// Nothing running reads these: the rule caches load RULE#… / CURRENT only.
import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { AuditEntry, ChangeDecision, ChangeStore, RuleChange } from '../../app/ports.ts';

const CHANGE_PREFIX = 'CHANGE#';
const AUDIT_PK = 'AUDIT';
const changeKey = (changeId: string) => ({ pk: `${CHANGE_PREFIX}${changeId}`, sk: 'CHANGE' });

type Item = Record<string, unknown>;
const strip = ({ pk: _pk, sk: _sk, ...rest }: Item) => rest;

export class DynamoConsoleChanges implements ChangeStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async add(change: RuleChange): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { ...changeKey(change.changeId), ...change }, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  async get(changeId: string): Promise<RuleChange | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: changeKey(changeId), ConsistentRead: true }));
    return out.Item ? (strip(out.Item) as unknown as RuleChange) : undefined;
  }

  async list(): Promise<RuleChange[]> {
    const items: Item[] = [];
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'begins_with(pk, :p) AND sk = :sk',
          ExpressionAttributeValues: { ':p': CHANGE_PREFIX, ':sk': 'CHANGE' },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []).map(strip));
      start = page.LastEvaluatedKey;
    } while (start);
    return items as unknown as RuleChange[];
  }

  /** The decision, only while the change is pending: two approvers never both apply it. */
  async decide(changeId: string, decision: ChangeDecision): Promise<boolean> {
    const fields = Object.entries(decision).filter(([, v]) => v !== undefined);
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: changeKey(changeId),
          UpdateExpression: `SET ${fields.map((_f, i) => `#f${i} = :v${i}`).join(', ')}`,
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status', ...Object.fromEntries(fields.map(([k], i) => [`#f${i}`, k])) },
          ExpressionAttributeValues: { ':pending': 'pending', ...Object.fromEntries(fields.map(([, v], i) => [`:v${i}`, v])) },
        }),
      );
      return true;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException || (err as Error).name === 'ConditionalCheckFailedException') return false;
      throw err;
    }
  }

  async applied(changeId: string, version: number): Promise<void> {
    await this.db.send(
      new UpdateCommand({ TableName: this.table, Key: changeKey(changeId), UpdateExpression: 'SET #v = :v', ExpressionAttributeNames: { '#v': 'version' }, ExpressionAttributeValues: { ':v': version } }),
    );
  }

  async audit(entry: AuditEntry): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { pk: AUDIT_PK, sk: `${entry.at}#${randomUUID()}`, ...entry }, ConditionExpression: 'attribute_not_exists(pk)' }));
  }

  /** The newest `limit` entries, newest first. */
  async auditLog(limit: number): Promise<AuditEntry[]> {
    const out = await this.db.send(
      new QueryCommand({ TableName: this.table, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': AUDIT_PK }, ScanIndexForward: false, Limit: limit, ConsistentRead: true }),
    );
    return (out.Items ?? []).map(strip) as unknown as AuditEntry[];
  }
}
