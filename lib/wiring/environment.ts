// Builds the adapters a function needs from its environment: table names, endpoints (local only).
// Clients are created on first use and reused across invocations, as Lambda recommends.
import { ENV, clientConfig } from '../contract/config.ts';
import { tableNamesFromEnv, type TableNames } from '../contract/tables.ts';
import { documentClient } from '../adapters/dynamo/client.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import { CachingCustomerRepository } from '../adapters/caching.ts';
import { DynamoQuarantine } from '../adapters/dynamo/quarantine.ts';
import { CachedRuleSource, queryRuleVersions, scanCurrentRules, type RuleRejection } from '../adapters/dynamo/rules.ts';
import { CachedCampaignSource, scanCampaignItems } from '../adapters/dynamo/campaigns.ts';
import type { IngestDeps } from '../app/ingest.ts';
import type { Metrics, DeadLetters, HeldMessages } from '../app/ports.ts';
import type { CustomerState } from '../core/customer/index.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDecisionStore, DynamoDeliverabilityCounters, DynamoSmsBudget } from '../adapters/dynamo/decisions.ts';
import { DynamoTemplateStore } from '../adapters/dynamo/templates.ts';
import { SesEmailSender } from '../adapters/aws/ses.ts';
import type { DispatchDeps } from '../app/dispatch.ts';
import { SNSClient } from '@aws-sdk/client-sns';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { SnsPushSender, SnsSmsSender } from '../adapters/aws/sns.ts';
import { IotDeviceSender } from '../adapters/aws/iot.ts';
import { BusActionSender } from '../adapters/aws/bus-action.ts';
import { ChannelCapacity, parseRates } from '../core/channels/capacity.ts';
import { toMicros } from '../core/channels/sms.ts';
import { createFeedback } from '../app/feedback.ts';
import { publishEvents } from '../adapters/aws/publisher.ts';
import { BUS_NAME } from '../contract/routes.ts';
import type { DecisionApiDeps } from '../app/decision-api.ts';
import type { observability } from './observability.ts';

export interface Environment {
  readonly tables: TableNames;
  readonly db: DynamoDBDocumentClient;
}

export function environment(env: NodeJS.ProcessEnv = process.env): Environment {
  return { tables: tableNamesFromEnv(env), db: documentClient(clientConfig(ENV.dynamodbEndpoint, env)) };
}

export function ingestDeps(
  { tables, db }: Environment,
  metrics: Metrics,
  onRuleRejected: (rejection: RuleRejection) => void,
): IngestDeps {
  const refreshMs = Number(process.env[ENV.rulesRefreshMs]);
  const refresh = Number.isFinite(refreshMs) && refreshMs > 0 ? { refreshMs } : {};
  return {
    customers: new DynamoCustomerRepository<CustomerState>(db, tables),
    quarantine: new DynamoQuarantine(db, tables.quarantine),
    rules: new CachedRuleSource(scanCurrentRules(db, tables.rules), {
      ...refresh,
      versions: queryRuleVersions(db, tables.rules),
      onRejected: (rejection) => {
        metrics.count('RulesRejected');
        onRuleRejected(rejection);
      },
    }),
    // Same refresh as rules: campaign and policy changes reach running functions as fast.
    campaigns: new CachedCampaignSource(scanCampaignItems(db, tables.campaigns), {
      ...refresh,
      onRejected: (rejection) => {
        metrics.count('RulesRejected');
        onRuleRejected({ ruleId: `${rejection.kind}:${rejection.id}`, reason: rejection.reason });
      },
    }),
    metrics,
    afterApply: createFeedback({ outbox: new DynamoDecisionStore(db, tables.decisions), deliverability: new DynamoDeliverabilityCounters(db, tables.counters) }),
  };
}

export function dispatchDeps({ tables, db }: Environment, metrics: Metrics, env: NodeJS.ProcessEnv = process.env): DispatchDeps {
  const from = env[ENV.sender];
  const senders: DispatchDeps['senders'] = {};
  if (from) {
    const configurationSet = env[ENV.sesConfigurationSet];
    senders.email = new SesEmailSender(new SESv2Client(clientConfig(ENV.sesEndpoint, env)), { from, ...(configurationSet ? { configurationSet } : {}) });
  }
  const sns = new SNSClient(clientConfig(ENV.snsEndpoint, env));
  const origination = env[ENV.smsOriginationNumber];
  senders.sms = new SnsSmsSender(sns, origination ? { originationNumber: origination } : {});
  senders.push = new SnsPushSender(sns);
  senders.device = new IotDeviceSender(new IoTDataPlaneClient(clientConfig(ENV.iotEndpoint, env)));
  const busName = env[ENV.busName];
  if (busName) senders.bus = new BusActionSender(new EventBridgeClient(clientConfig(ENV.busEndpoint, env)), busName);

  const sqs = (): SQSClient => (sqsClient ??= new SQSClient(clientConfig(ENV.sqsEndpoint, env)));
  let sqsClient: SQSClient | undefined;
  const heldUrl = env[ENV.heldQueueUrl];
  const dlqUrl = env[ENV.dispatchDeadLetterQueueUrl];
  const baseUrl = env[ENV.unsubscribeBaseUrl];
  const secret = env[ENV.unsubscribeSecret];
  const usd = (name: string, fallback: number) => {
    const raw = env[name];
    const value = raw === undefined || raw === '' ? fallback : Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} is "${raw}"; expected an amount in US dollars such as 25 or 0.0085`);
    return value;
  };
  return {
    outbox: new DynamoDecisionStore(db, tables.decisions),
    customers: new DynamoCustomerRepository<CustomerState>(db, tables),
    templates: new DynamoTemplateStore(db, tables.templates),
    senders,
    metrics,
    capacity: new ChannelCapacity(parseRates(env[ENV.channelRates])),
    smsBudget: new DynamoSmsBudget(db, tables.counters, toMicros(usd(ENV.smsMonthlyBudgetUsd, 1)), toMicros(usd(ENV.smsCostPerPartUsd, 0.01))),
    ...(env[ENV.deliverabilityGuard] === 'off' ? {} : { deliverability: new DynamoDeliverabilityCounters(db, tables.counters) }),
    ...(baseUrl && secret ? { unsubscribe: { baseUrl, secret } } : {}),
    ...(heldUrl ? { held: sqsHeldMessages(sqs, heldUrl) } : {}),
    ...(dlqUrl ? { deadLetters: sqsDeadLetters(sqs, dlqUrl) } : {}),
  };
}

/** Quiet hours: the message waits on an SQS queue (at most 15 minutes a time) until notBefore. */
export function sqsHeldMessages(sqs: () => SQSClient, queueUrl: string, clock: () => number = Date.now): HeldMessages {
  return {
    async hold(key) {
      const seconds = Math.ceil((Date.parse(key.notBefore) - clock()) / 1000);
      await sqs().send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(key), DelaySeconds: Math.max(0, Math.min(900, seconds)) }),
      );
    },
  };
}

/** Permanent failures as messages on the dispatch DLQ (ids and codes only), which an alarm watches. */
export function sqsDeadLetters(sqs: () => SQSClient, queueUrl: string): DeadLetters {
  return {
    async put(entry) {
      await sqs().send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: JSON.stringify({ kind: 'permanent-send-failure', ...entry }),
          MessageAttributes: { code: { DataType: 'String', StringValue: entry.code } },
        }),
      );
    },
  };
}

/** The decision API's adapters: the same customers, rules and campaigns as evaluate, plus the bus for unsubscribes. */
export function decisionApiDeps(o: ReturnType<typeof observability>, env: NodeJS.ProcessEnv = process.env): DecisionApiDeps {
  const e = environment(env);
  const ingest = ingestDeps(e, o.port, (rej) => o.logger.warn('rule skipped', { ruleId: rej.ruleId, reason: rej.reason }));
  const secret = env[ENV.unsubscribeSecret];
  const bus = new EventBridgeClient(clientConfig(ENV.busEndpoint, env));
  const busName = env[ENV.busName] ?? BUS_NAME;
  return {
    // A warm function answers a customer it committed last with no read (profiles are up to 320 KB: 500 fit).
    customers: new CachingCustomerRepository(ingest.customers, 500),
    identities: ingest.customers,
    rules: ingest.rules,
    ...(ingest.campaigns ? { campaigns: ingest.campaigns } : {}),
    metrics: o.port,
    decisions: new DynamoDecisionStore(e.db, e.tables.decisions),
    ...(secret
      ? {
          unsubscribe: {
            secret,
            async publish(event) {
              const [result] = await publishEvents(bus, busName, [event]);
              if (!result?.eventId) throw new Error(`the bus refused the ConsentChanged (${result?.errorCode ?? 'unknown'})`);
            },
          },
        }
      : {}),
  };
}
