// The quarantine table: events that failed validation, with the original payload and the reason.
//   Q#<yyyy-mm-dd> / <receivedAt>#<quarantineId>   { code, reason, body, expiresAt }
// One partition per day keeps `baton quarantine list` a cheap query; payloads may hold personal
// data, so entries expire after QUARANTINE_TTL_DAYS.
import { PutCommand, QueryCommand, DeleteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { QuarantineStore, QuarantinedEvent } from '../../app/ports.ts';

export const QUARANTINE_TTL_DAYS = 30;

export interface QuarantineRecord extends QuarantinedEvent {
  readonly pk: string;
  readonly sk: string;
}

function quarantineKey(entry: Pick<QuarantinedEvent, 'receivedAt' | 'quarantineId'>): { pk: string; sk: string } {
  return { pk: `Q#${entry.receivedAt.slice(0, 10)}`, sk: `${entry.receivedAt}#${entry.quarantineId}` };
}

export class DynamoQuarantine implements QuarantineStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(entry: QuarantinedEvent): Promise<void> {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          ...quarantineKey(entry),
          ...entry,
          expiresAt: Math.floor(Date.parse(entry.receivedAt) / 1000) + QUARANTINE_TTL_DAYS * 86_400,
        },
      }),
    );
  }

  async withdraw(entry: QuarantinedEvent): Promise<void> {
    await this.remove(quarantineKey(entry));
  }

  /** Entries of the last `days` days, newest first. */
  async list(days = 7, now = new Date()): Promise<QuarantineRecord[]> {
    const out: QuarantineRecord[] = [];
    for (let d = 0; d < days; d++) {
      const day = new Date(now.getTime() - d * 86_400_000).toISOString().slice(0, 10);
      let start: Record<string, unknown> | undefined;
      do {
        const page = await this.db.send(
          new QueryCommand({
            TableName: this.table,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `Q#${day}` },
            ScanIndexForward: false,
            ExclusiveStartKey: start,
          }),
        );
        out.push(...((page.Items ?? []) as QuarantineRecord[]));
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return out;
  }

  async remove(record: Pick<QuarantineRecord, 'pk' | 'sk'>): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { pk: record.pk, sk: record.sk } }));
  }
}
