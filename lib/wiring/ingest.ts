// Settings → adapters → ingest (the evaluate function): customers, quarantine, rules and
// campaigns (cached, refreshed in the background), and feedback on the outbox after each event.
import type { Settings } from '../contract/config.ts';
import type { IngestDeps } from '../app/ingest.ts';
import type { Metrics } from '../app/ports.ts';
import { createFeedback } from '../app/feedback.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../adapters/dynamo/quarantine.ts';
import { CachedRuleSource, queryRuleVersions, scanCurrentRules } from '../adapters/dynamo/rules.ts';
import { CachedCampaignSource, scanCampaignItems } from '../adapters/dynamo/campaigns.ts';
import { DynamoDecisionStore, DynamoDeliverabilityCounters } from '../adapters/dynamo/decisions.ts';
import { CachedSegmentSource, scanCurrentSegments } from '../adapters/dynamo/segments.ts';
import { BusSegmentEvents } from '../adapters/aws/segment-events.ts';
import { BUS_NAME } from '../contract/routes.ts';
import { awsClients, type Clients } from './clients.ts';

/** What the wiring reports through: metrics, and warnings about items it skips (an Observability fits). */
export interface Observed {
  readonly port: Metrics;
  readonly logger: { warn(message: string, attributes: Record<string, unknown>): void };
}

/** What ingest reads of the settings: the CLI's quarantine replay has only table names and a client. */
export type IngestSettings = Pick<Settings, 'tables'> & Partial<Pick<Settings, 'rulesRefreshMs' | 'aws' | 'busName'>>;

/** Without a bus client (the CLI's quarantine replay), segments are kept current but no event is published. */
export function ingestDeps(settings: IngestSettings, o: Observed, clients: Pick<Clients, 'dynamodb'> & Partial<Pick<Clients, 'bus'>> = awsClients(settings.aws ?? { endpoints: {} })): IngestDeps {
  const { tables, rulesRefreshMs } = settings;
  const db = clients.dynamodb();
  const refresh = rulesRefreshMs ? { refreshMs: rulesRefreshMs } : {};
  return {
    customers: new DynamoCustomerRepository<CustomerState>(db, tables),
    quarantine: new DynamoQuarantine(db, tables.quarantine),
    rules: new CachedRuleSource(scanCurrentRules(db, tables.rules), {
      ...refresh,
      versions: queryRuleVersions(db, tables.rules),
      onRejected: (rejection) => {
        o.port.count('RulesRejected');
        o.logger.warn('rule skipped', { ruleId: rejection.ruleId, reason: rejection.reason });
      },
    }),
    // Same refresh as rules: campaign and policy changes reach running functions as fast.
    campaigns: new CachedCampaignSource(scanCampaignItems(db, tables.campaigns), {
      ...refresh,
      onRejected: (rejection) => {
        o.port.count('RulesRejected');
        o.logger.warn('rule skipped', { ruleId: `${rejection.kind}:${rejection.id}`, reason: rejection.reason });
      },
    }),
    // Segments live in the rules table and refresh like rules (docs/segments.md).
    segments: new CachedSegmentSource(scanCurrentSegments(db, tables.rules), {
      ...refresh,
      onRejected: (rejection) => {
        o.port.count('SegmentsRejected');
        o.logger.warn('segment skipped', { segmentId: rejection.segmentId, reason: rejection.reason });
      },
    }),
    ...(clients.bus ? { segmentEvents: new BusSegmentEvents(clients.bus(), settings.busName ?? BUS_NAME) } : {}),
    metrics: o.port,
    afterApply: createFeedback({ outbox: new DynamoDecisionStore(db, tables.decisions), deliverability: new DynamoDeliverabilityCounters(db, tables.counters) }),
  };
}
