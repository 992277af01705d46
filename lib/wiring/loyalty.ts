// Settings → adapters → the loyalty use cases outside ingest: the daily expiry run
// (functions/loyalty-expiry.ts, started by EventBridge Scheduler: infra/constructs/loyalty.ts).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { TableNames } from '../contract/tables.ts';
import { BUS_NAME } from '../contract/routes.ts';
import type { Metrics } from '../app/ports.ts';
import { createLoyalty } from '../app/loyalty.ts';
import { DynamoLoyaltyItems } from '../adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../adapters/dynamo/loyalty.ts';
import { BusLoyaltyEvents } from '../adapters/aws/loyalty-events.ts';

export function loyaltyExpiryDeps({ db, bus, tables, busName = BUS_NAME, metrics, onRejected }: {
  db: DynamoDBDocumentClient;
  bus: EventBridgeClient;
  tables: Pick<TableNames, 'ledger'>;
  busName?: string;
  metrics: Metrics;
  onRejected?: (r: { programmeId: string; sk: string; reason: string }) => void;
}) {
  const items = new DynamoLoyaltyItems(db, tables.ledger, {
    refreshMs: 0,
    onRejected: (r) => {
      metrics.count('LoyaltyItemsRejected');
      onRejected?.(r);
    },
  });
  const loyalty = createLoyalty({ ledger: new DynamoLoyaltyLedger(db, tables.ledger), programmes: items, events: new BusLoyaltyEvents(bus, busName), metrics });
  return { loyalty, programmeIds: () => items.programmeIds() };
}
