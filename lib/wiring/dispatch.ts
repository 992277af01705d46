// Settings → adapters → dispatch: the outbox, a sender per configured channel, capacity, the SMS
// budget, the deliverability guard, unsubscribe links (their key read from Secrets Manager), and
// the held and dead-letter queues.
import type { Settings } from '../contract/config.ts';
import type { DispatchDeps } from '../app/dispatch.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { ChannelCapacity } from '../core/channels/capacity.ts';
import { toMicros } from '../core/channels/sms.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import { DynamoDecisionStore, DynamoDeliverabilityCounters, DynamoSmsBudget } from '../adapters/dynamo/decisions.ts';
import { DynamoTemplateStore } from '../adapters/dynamo/templates.ts';
import { SesEmailSender } from '../adapters/aws/ses.ts';
import { SnsPushSender, SnsSmsSender } from '../adapters/aws/sns.ts';
import { IotDeviceSender } from '../adapters/aws/iot.ts';
import { BusActionSender, CallListSender } from '../adapters/aws/bus-action.ts';
import { DynamoDestinationSource } from '../adapters/dynamo/destinations.ts';
import { DynamoLoyaltyItems } from '../adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../adapters/dynamo/loyalty.ts';
import { createLoyalty } from '../app/loyalty.ts';
import { CachedContextSource, CONTEXT_REFRESH_MS, scanContext } from '../adapters/dynamo/context.ts';
import { CachedCampaignSource, scanCampaignItems } from '../adapters/dynamo/campaigns.ts';
import { SqsDeadLetters, SqsHeldMessages } from '../adapters/aws/sqs.ts';
import { awsClients, type Clients } from './clients.ts';
import { secretText } from './secrets.ts';
import type { Observed } from './ingest.ts';

// The outbox's key format stays in its repository; the handler reads keys through these.
export { outboxRef, pendingOutboxMessage, type OutboxRef } from '../adapters/dynamo/decisions.ts';

export async function dispatchDeps(settings: Settings, o: Observed, clients: Clients = awsClients(settings.aws)): Promise<DispatchDeps> {
  const { tables, email, sms, unsubscribe, queues, busName } = settings;
  const db = clients.dynamodb();
  const senders: DispatchDeps['senders'] = {
    ...(email ? { email: new SesEmailSender(clients.ses(), email) } : {}),
    sms: new SnsSmsSender(clients.sns(), sms.originationNumber ? { originationNumber: sms.originationNumber } : {}),
    push: new SnsPushSender(clients.sns()),
    device: new IotDeviceSender(clients.iot()),
    ...(busName ? { bus: new BusActionSender(clients.bus(), busName), call: new CallListSender(clients.bus(), busName) } : {}),
  };
  // Links need both; the key is read once per instance, when dispatch is built.
  const links = unsubscribe.baseUrl && unsubscribe.secret ? { baseUrl: unsubscribe.baseUrl, secret: await secretText(unsubscribe.secret, clients) } : undefined;
  return {
    outbox: new DynamoDecisionStore(db, tables.decisions),
    customers: new DynamoCustomerRepository<CustomerState>(db, tables),
    templates: new DynamoTemplateStore(db, tables.templates),
    destinations: new DynamoDestinationSource(db, tables.templates, ({ destinationId, reason }) => {
      o.logger.warn('destination item skipped: it fails its schema', { destinationId, reason });
      o.port.count('DestinationsRejected');
    }),
    senders,
    // Templates that name `loyalty` show the member's balance and next expiry (docs/loyalty.md).
    loyalty: createLoyalty({ ledger: new DynamoLoyaltyLedger(db, tables.ledger), programmes: new DynamoLoyaltyItems(db, tables.ledger, {
        onRejected: (r) => {
          o.port.count('LoyaltyItemsRejected');
          o.logger.warn('loyalty item skipped', { programmeId: r.programmeId, item: r.sk, reason: r.reason });
        },
      }) }),
    metrics: o.port,
    // A call is checked again when delivered: its team's load, and quiet hours of its campaign's policy.
    context: new CachedContextSource(scanContext(db, tables.context), {
      refreshMs: Math.min(settings.rulesRefreshMs ?? CONTEXT_REFRESH_MS, CONTEXT_REFRESH_MS),
      metrics: o.port,
      onRejected: (reason) => o.logger.warn('context item skipped', { reason }),
    }),
    campaigns: new CachedCampaignSource(scanCampaignItems(db, tables.campaigns), {
      ...(settings.rulesRefreshMs ? { refreshMs: settings.rulesRefreshMs } : {}),
      onRejected: (rejection) => o.logger.warn('campaign item skipped', { id: `${rejection.kind}:${rejection.id}`, reason: rejection.reason }),
    }),
    capacity: new ChannelCapacity(settings.channelRates),
    smsBudget: new DynamoSmsBudget(db, tables.counters, toMicros(sms.monthlyBudgetUsd), toMicros(sms.costPerPartUsd)),
    ...(settings.deliverabilityGuard ? { deliverability: new DynamoDeliverabilityCounters(db, tables.counters) } : {}),
    ...(links ? { unsubscribe: links } : {}),
    ...(queues.held ? { held: new SqsHeldMessages(clients.sqs(), queues.held) } : {}),
    ...(queues.deadLetters ? { deadLetters: new SqsDeadLetters(clients.sqs(), queues.deadLetters) } : {}),
  };
}
