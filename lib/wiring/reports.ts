// Reports: the aggregates repository on the settings' table, and the aggregator the decisions
// stream feeds (functions/aggregates.ts in the cloud, a second stream poller locally).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../contract/tables.ts';
import { DynamoAggregates, scanDecisionItems } from '../adapters/dynamo/aggregates.ts';

export { itemKind } from '../adapters/dynamo/aggregates.ts';
import { createAggregator, createReports, type RebuildDeps } from '../app/reports.ts';

export function aggregatorFor(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'aggregates'>) {
  return createAggregator({ aggregates: new DynamoAggregates(db, tables.aggregates) });
}

export function reportsFor(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'aggregates'>) {
  return createReports({ aggregates: new DynamoAggregates(db, tables.aggregates) });
}

export function rebuildDepsFor(db: DynamoDBDocumentClient, tables: Pick<TableNames, 'aggregates' | 'decisions'>, itemCount?: () => Promise<number>): RebuildDeps {
  return {
    scanDecisions: (onPage) => scanDecisionItems(db, tables.decisions, onPage),
    ...(itemCount ? { decisionItems: itemCount } : {}),
    aggregates: new DynamoAggregates(db, tables.aggregates),
  };
}
