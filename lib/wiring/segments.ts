// Settings → adapters → the daily segment refresh (lib/app/segments-refresh.ts), for the CLI
// (`baton segments refresh`) and the local stack's daily timer.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { TableNames } from '../contract/tables.ts';
import { BUS_NAME } from '../contract/routes.ts';
import type { Metrics } from '../app/ports.ts';
import type { SegmentsRefreshDeps } from '../app/segments-refresh.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import { CachedSegmentSource, DynamoCustomerPages, scanCurrentSegments } from '../adapters/dynamo/segments.ts';
import { BusSegmentEvents } from '../adapters/aws/segment-events.ts';

export function segmentsRefreshDeps(
  { db, bus, tables, busName = BUS_NAME, metrics, clock = () => new Date(), onRejected }: {
    db: DynamoDBDocumentClient;
    /** Without it the refresh commits the changes but publishes no event. */
    bus?: EventBridgeClient;
    tables: Pick<TableNames, 'customers' | 'counters' | 'decisions' | 'rules'>;
    busName?: string;
    metrics: Metrics;
    clock?: () => Date;
    onRejected?: (r: { segmentId: string; reason: string }) => void;
  },
): SegmentsRefreshDeps {
  return {
    customers: new DynamoCustomerRepository<CustomerState>(db, tables, clock),
    pages: new DynamoCustomerPages<CustomerState>(db, tables.customers),
    segments: new CachedSegmentSource(scanCurrentSegments(db, tables.rules), {
      onRejected: (r) => {
        metrics.count('SegmentsRejected');
        onRejected?.(r);
      },
    }),
    ...(bus ? { segmentEvents: new BusSegmentEvents(bus, busName) } : {}),
    metrics,
    clock,
  };
}
