// Settings → adapters → the decision API: the same customers, rules and campaigns as evaluate,
// the stored decisions (a repeated requestId), and the bus for one-click unsubscribes.
import type { Settings } from '../contract/config.ts';
import { BUS_NAME } from '../contract/routes.ts';
import type { DecisionApiDeps } from '../app/decision-api.ts';
import { DynamoDecisionStore } from '../adapters/dynamo/decisions.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { BusEventPublisher } from '../adapters/aws/bus-events.ts';
import { DynamoLoyaltyItems } from '../adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../adapters/dynamo/loyalty.ts';
import { createLoyalty } from '../app/loyalty.ts';
import { awsClients, type Clients } from './clients.ts';
import { ingestDeps, type Observed } from './ingest.ts';
import { secretText } from './secrets.ts';

export async function decisionApiDeps(settings: Settings, o: Observed, clients: Clients = awsClients(settings.aws)): Promise<DecisionApiDeps> {
  const ingest = ingestDeps(settings, o, clients);
  const secret = settings.unsubscribe.secret ? await secretText(settings.unsubscribe.secret, clients) : undefined;
  const bus = new BusEventPublisher(clients.bus(), settings.busName ?? BUS_NAME);
  return {
    // Ingest's per-process cache: a warm function answers a customer it committed last with no read.
    customers: ingest.customers,
    // Answers that commit nothing read the table itself: no later condition would catch a stale link.
    identities: new DynamoCustomerRepository<CustomerState>(clients.dynamodb(), settings.tables),
    rules: ingest.rules,
    ...(ingest.campaigns ? { campaigns: ingest.campaigns } : {}),
    ...(ingest.context ? { context: ingest.context } : {}),
    metrics: o.port,
    decisions: new DynamoDecisionStore(clients.dynamodb(), settings.tables.decisions),
    // A request with `loyalty` gets the member's statement (docs/loyalty.md); programmes on a warm cache.
    loyalty: createLoyalty({
      ledger: new DynamoLoyaltyLedger(clients.dynamodb(), settings.tables.ledger),
      programmes: new DynamoLoyaltyItems(clients.dynamodb(), settings.tables.ledger, {
        ...(settings.rulesRefreshMs ? { refreshMs: settings.rulesRefreshMs } : {}),
        onRejected: (r) => {
          o.port.count('LoyaltyItemsRejected');
          o.logger.warn('loyalty item skipped', { programmeId: r.programmeId, item: r.sk, reason: r.reason });
        },
      }),
    }),
    ...(secret ? { unsubscribe: { secret, publish: (event) => bus.publish(event) } } : {}),
  };
}
