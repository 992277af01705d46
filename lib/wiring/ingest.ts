// Settings → adapters → ingest (the evaluate function): customers, quarantine, rules and
// campaigns (cached, refreshed in the background), and feedback on the outbox after each event.
import type { Settings } from '../contract/config.ts';
import type { IngestDeps } from '../app/ingest.ts';
import type { Metrics } from '../app/ports.ts';
import { createFeedback } from '../app/feedback.ts';
import { createConversions } from '../app/reports.ts';
import { DynamoAggregates } from '../adapters/dynamo/aggregates.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import { DynamoQuarantine } from '../adapters/dynamo/quarantine.ts';
import { CachedRuleSource, queryRuleVersions, scanCurrentRules } from '../adapters/dynamo/rules.ts';
import { CachedCampaignSource, scanCampaignItems } from '../adapters/dynamo/campaigns.ts';
import { DynamoDecisionStore, DynamoDeliverabilityCounters } from '../adapters/dynamo/decisions.ts';
import { CachedSegmentSource, scanCurrentSegments } from '../adapters/dynamo/segments.ts';
import { BusSegmentEvents } from '../adapters/aws/segment-events.ts';
import { BUS_NAME } from '../contract/routes.ts';
import { CachedJourneySource, DynamoJourneyInstances, scanJourneys } from '../adapters/dynamo/journeys.ts';
import { SchedulerJourneyTimers } from '../adapters/aws/scheduler.ts';
import { createJourneyStep } from '../app/journeys.ts';
import { CachingCustomerRepository } from '../adapters/caching.ts';
import { CachedOfferStats, DynamoOfferLearning } from '../adapters/dynamo/offers.ts';
import { createOfferLearning } from '../app/offers.ts';
import { CachedContextSource, CONTEXT_REFRESH_MS, DynamoContextStore, scanContext } from '../adapters/dynamo/context.ts';
import { awsClients, type Clients } from './clients.ts';
import type { BatonEvent } from '../../events/catalog.ts';
import { idsOf } from '../core/customer/identity.ts';
import { createLoyalty, loyaltyConsumer } from '../app/loyalty.ts';
import { DynamoLoyaltyLedger } from '../adapters/dynamo/loyalty.ts';
import { DynamoLoyaltyItems } from '../adapters/dynamo/loyalty-items.ts';
import { BusLoyaltyEvents } from '../adapters/aws/loyalty-events.ts';
import { attributionConsumer, createAttribution } from '../app/attribution.ts';
import { DynamoAttributionStore, DynamoOfferExposures } from '../adapters/dynamo/loyalty-attribution.ts';

/** What the wiring reports through: metrics, and warnings about items it skips (an Observability fits). */
export interface Observed {
  readonly port: Metrics;
  readonly logger: { warn(message: string, attributes: Record<string, unknown>): void };
}

const PROFILES_CACHED = 500;

/** What ingest reads of the settings: the CLI's quarantine replay has only table names and a client. */
export type IngestSettings = Pick<Settings, 'tables'> & Partial<Pick<Settings, 'rulesRefreshMs' | 'aws' | 'busName' | 'scheduler' | 'attributionWindowDays'>>;

/** Without a bus client (the CLI's quarantine replay), segments are kept current but no event is published. */
export function ingestDeps(
  settings: IngestSettings,
  o: Observed,
  clients: Pick<Clients, 'dynamodb'> & Partial<Pick<Clients, 'bus' | 'scheduler'>> = awsClients(settings.aws ?? { endpoints: {} }),
  /** The local stack's simulated clock; the real one otherwise. */
  clock?: () => Date,
): IngestDeps {
  const { tables, rulesRefreshMs } = settings;
  const db = clients.dynamodb();
  const refresh = rulesRefreshMs ? { refreshMs: rulesRefreshMs } : {};
  const rules = new CachedRuleSource(scanCurrentRules(db, tables.rules), {
    ...refresh,
    versions: queryRuleVersions(db, tables.rules),
    onRejected: (rejection) => {
      o.port.count('RulesRejected');
      o.logger.warn('rule skipped', { ruleId: rejection.ruleId, reason: rejection.reason });
    },
  });
  // Offers that learn: counts in the counters table, read with the rules' refresh (docs/offers.md).
  const offers = new DynamoOfferLearning(db, tables.counters);
  const outbox = new DynamoDecisionStore(db, tables.decisions);
  // Per process: a warm function applies an event with one transaction and no read
  // (lib/adapters/caching.ts). Profiles are up to 320 KB: 500 fit in the functions' memory.
  const customers = new CachingCustomerRepository(new DynamoCustomerRepository<CustomerState>(db, tables), PROFILES_CACHED);
  return {
    customers,
    quarantine: new DynamoQuarantine(db, tables.quarantine),
    rules,
    offers: new CachedOfferStats(offers, rules, refresh),
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
    contextStore: new DynamoContextStore(db, tables.context),
    // Never staler than rules, and at most twice CONTEXT_REFRESH_MS (docs/context.md).
    context: new CachedContextSource(scanContext(db, tables.context), {
      refreshMs: Math.min(rulesRefreshMs ?? CONTEXT_REFRESH_MS, CONTEXT_REFRESH_MS),
      metrics: o.port,
      ...(clock ? { now: clock } : {}),
      onRejected: (reason) => o.logger.warn('context item skipped', { reason }),
    }),
    ...(clients.bus ? { segmentEvents: new BusSegmentEvents(clients.bus(), settings.busName ?? BUS_NAME) } : {}),
    metrics: o.port,
    ...(clock ? { clock } : {}),
    ...(settings.scheduler ? { journeys: journeyStep(settings, settings.scheduler, o, db, clients.scheduler ?? awsClients(settings.aws ?? { endpoints: {} }).scheduler, clock ?? (() => new Date()), customers) } : {}),
    afterApply: both(
      createFeedback({
        outbox,
        learning: createOfferLearning({ store: offers, messages: outbox }),
        deliverability: new DynamoDeliverabilityCounters(db, tables.counters),
        goals: createConversions({ aggregates: new DynamoAggregates(db, tables.aggregates) }),
      }),
      both(loyaltyAfterApply(settings, o, db, clients, clock), attributionAfterApply(settings, o, db, clients)),
    ),
  };
}

/** Runs both hooks in turn: each is idempotent, so a failure retries the record and both run again. */
function both(a: (e: BatonEvent) => Promise<void>, b: (e: BatonEvent) => Promise<void>) {
  return async (e: BatonEvent) => {
    await a(e);
    await b(e);
  };
}

/** The loyalty ledger (docs/loyalty.md) on the ingest path: enrolment, sales and refunds post to the programmes. */
function loyaltyAfterApply(settings: IngestSettings, o: Observed, db: ReturnType<Clients['dynamodb']>, clients: Partial<Pick<Clients, 'bus'>>, clock?: () => Date) {
  const ledger = new DynamoLoyaltyLedger(db, settings.tables.ledger);
  const loyalty = createLoyalty({
    ledger,
    programmes: new DynamoLoyaltyItems(db, settings.tables.ledger, {
      ...(settings.rulesRefreshMs ? { refreshMs: settings.rulesRefreshMs } : {}),
      onRejected: (r) => {
        o.port.count('LoyaltyItemsRejected');
        o.logger.warn('loyalty item skipped', { programmeId: r.programmeId, item: r.sk, reason: r.reason });
      },
    }),
    ...(clients.bus ? { events: new BusLoyaltyEvents(clients.bus(), settings.busName ?? BUS_NAME) } : {}),
    metrics: o.port,
    ...(clock ? { clock } : {}),
  });
  return loyaltyConsumer(loyalty, ledger, customerOf(db, settings));
}

/** The customer an event is about, once ingest applied it; none for an erased one. */
function customerOf(db: ReturnType<Clients['dynamodb']>, settings: IngestSettings) {
  const customers = new DynamoCustomerRepository<CustomerState>(db, settings.tables);
  return async (event: BatonEvent) => {
    const ids = idsOf(event);
    if (!ids.length) return undefined;
    const { links, erased } = await customers.resolve(ids);
    return erased ? undefined : [...links.values()][0];
  };
}

/** POS attribution (docs/loyalty.md): a sale attributed to the customer's last offer, SaleAttributed on the bus. */
function attributionAfterApply(settings: IngestSettings, o: Observed, db: ReturnType<Clients['dynamodb']>, clients: Partial<Pick<Clients, 'bus'>>) {
  const attributeSale = createAttribution({
    exposures: new DynamoOfferExposures(db, settings.tables.decisions),
    store: new DynamoAttributionStore(db, settings.tables),
    ...(clients.bus ? { events: new BusLoyaltyEvents(clients.bus(), settings.busName ?? BUS_NAME) } : {}),
    ...(settings.attributionWindowDays ? { rule: { windowDays: settings.attributionWindowDays } } : {}),
    metrics: o.port,
  });
  return attributionConsumer(attributeSale, customerOf(db, settings));
}

/** Journeys: the journeys in the campaigns table, positions and the timer outbox in the customers table, waits in Scheduler. */
function journeyStep(settings: IngestSettings, scheduler: NonNullable<Settings['scheduler']>, o: Observed, db: ReturnType<Clients['dynamodb']>, client: Clients['scheduler'], clock: () => Date, customers: CachingCustomerRepository<CustomerState>) {
  const store = new DynamoJourneyInstances(db, settings.tables.customers, clock);
  // The envelope says where it comes from as EventBridge would: the target queue's region and account.
  const [, , , region, account] = scheduler.targetArn.split(':');
  return createJourneyStep({
    journeys: new CachedJourneySource(scanJourneys(db, settings.tables.campaigns), {
      ...(settings.rulesRefreshMs ? { refreshMs: settings.rulesRefreshMs } : {}),
      onRejected: (rejection) => {
        o.port.count('JourneysRejected');
        o.logger.warn('journey skipped', { journeyId: rejection.journeyId, reason: rejection.reason, ...(rejection.kept ? { kept: rejection.kept } : {}) });
      },
    }),
    // Positions cached beside the profile they were read with.
    instances: customers.journeyInstances(store),
    outbox: store,
    timers: new SchedulerJourneyTimers(client(), scheduler),
    metrics: o.port,
    clock,
    ...(account ? { account } : {}),
    ...(region ? { region } : {}),
    onRelayError: (error) => o.logger.warn('journey timers left for the sweep', { error: String(error) }),
  });
}
