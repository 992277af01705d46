// Builds the adapters a function needs from its environment: table names, endpoints (local only).
// Clients are created on first use and reused across invocations, as Lambda recommends.
import { ENV, clientConfig } from '../config.ts';
import { tableNamesFromEnv, type TableNames } from '../tables.ts';
import { documentClient } from './dynamo/client.ts';
import { DynamoCustomerRepository } from './dynamo/customers.ts';
import { DynamoQuarantine } from './dynamo/quarantine.ts';
import { CachedRuleSource, scanCurrentRules, type RuleRejection } from './dynamo/rules.ts';
import type { IngestDeps } from '../ingest.ts';
import type { Metrics } from '../ports.ts';
import type { CustomerState } from '../customer/index.ts';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { DynamoDecisionStore } from './dynamo/decisions.ts';
import { DynamoTemplateStore } from './dynamo/templates.ts';
import { SesEmailSender } from './ses.ts';
import type { DispatchDeps } from '../dispatch.ts';

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
  return {
    customers: new DynamoCustomerRepository<CustomerState>(db, tables),
    quarantine: new DynamoQuarantine(db, tables.quarantine),
    rules: new CachedRuleSource(scanCurrentRules(db, tables.rules), {
      ...(process.env[ENV.rulesRefreshMs] ? { refreshMs: Number(process.env[ENV.rulesRefreshMs]) } : {}),
      onRejected: (rejection) => {
        metrics.count('RulesRejected');
        onRuleRejected(rejection);
      },
    }),
    metrics,
  };
}

export function dispatchDeps({ tables, db }: Environment, metrics: Metrics, env: NodeJS.ProcessEnv = process.env): DispatchDeps {
  const from = env[ENV.sender];
  const senders: DispatchDeps['senders'] = {};
  if (from) {
    const configurationSet = env[ENV.sesConfigurationSet];
    senders.email = new SesEmailSender(new SESv2Client(clientConfig(ENV.sesEndpoint, env)), { from, ...(configurationSet ? { configurationSet } : {}) });
  }
  const baseUrl = env[ENV.unsubscribeBaseUrl];
  const secret = env[ENV.unsubscribeSecret];
  return {
    outbox: new DynamoDecisionStore(db, tables.decisions),
    customers: new DynamoCustomerRepository<CustomerState>(db, tables),
    templates: new DynamoTemplateStore(db, tables.templates),
    senders,
    metrics,
    ...(baseUrl && secret ? { unsubscribe: { baseUrl, secret } } : {}),
  };
}
