// The console's read of where a journey's customers are: every instance of the journey (the
// customers table's JOURNEY#<journeyId> items, DynamoJourneyInstances' keys and format), tallied by
// the step they wait in and by how those who left it ended. A scan: the console's page, not a hot path.
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JourneyPositions } from '../../app/ports.ts';
import type { InstanceStatus } from '../../core/journeys/instance.ts';
import { fromItem, instanceKey } from './journeys.ts';

export class DynamoConsoleJourneys implements JourneyPositions {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async tally(journeyId: string): Promise<Awaited<ReturnType<JourneyPositions['tally']>>> {
    const waiting = new Map<string, { version: number; stepId: string; customers: number }>();
    const ended: Partial<Record<InstanceStatus, number>> = {};
    const endReasons: Record<string, number> = {};
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({ TableName: this.table, FilterExpression: 'sk = :sk', ExpressionAttributeValues: { ':sk': instanceKey('', journeyId).sk }, ConsistentRead: true, ExclusiveStartKey: start }),
      );
      for (const item of page.Items ?? []) {
        const i = fromItem(item);
        if (i.status === 'active') {
          const key = `${i.version}#${i.stepId ?? '?'}`;
          const w = waiting.get(key) ?? { version: i.version, stepId: i.stepId ?? '?', customers: 0 };
          waiting.set(key, { ...w, customers: w.customers + 1 });
        } else {
          ended[i.status] = (ended[i.status] ?? 0) + 1;
          if (i.endReason) endReasons[i.endReason] = (endReasons[i.endReason] ?? 0) + 1;
        }
      }
      start = page.LastEvaluatedKey;
    } while (start);
    return { waiting: [...waiting.values()].sort((a, b) => b.version - a.version || a.stepId.localeCompare(b.stepId)), ended, endReasons };
  }
}
