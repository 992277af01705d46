// Settings → adapters → the console API (lib/app/console.ts): the rules through the CLI's own
// repository, pending changes and audit beside them, customers, quarantine, the campaigns the dry
// run arbitrates under. The overview and (locally) the messages are the caller's to give.
import type { Settings } from '../contract/config.ts';
import type { ConsoleSettings } from '../contract/console.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { createConsole, type AuditEntry, type ConsoleDeps, type RuleChange } from '../app/console.ts';
import { DynamoRuleRepository } from '../adapters/dynamo/rules.ts';
import { DynamoConsoleChanges } from '../adapters/dynamo/console-changes.ts';
import { DynamoConsoleCustomers } from '../adapters/dynamo/console-customers.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import { DynamoTemplateStore } from '../adapters/dynamo/templates.ts';
import { DynamoQuarantine } from '../adapters/dynamo/quarantine.ts';
import { CachedCampaignSource, scanCampaignItems } from '../adapters/dynamo/campaigns.ts';
import { listSamples, loadSample } from '../../events/samples.ts';
import { awsClients, type Clients } from './clients.ts';

export interface ConsoleExtras {
  readonly overview?: ConsoleDeps['overview'];
  readonly messages?: ConsoleDeps['messages'];
  readonly clock?: () => Date;
}

/** The sample events, when the files are there (the laptop; a Lambda bundle has none). */
const samples: ConsoleDeps['samples'] = {
  list: () => {
    try {
      return listSamples();
    } catch {
      return [];
    }
  },
  load: (name) => loadSample(name),
};

export function consoleDeps(settings: Pick<Settings, 'tables' | 'aws'>, console: ConsoleSettings, extras: ConsoleExtras = {}, clients: Pick<Clients, 'dynamodb'> = awsClients(settings.aws)): ConsoleDeps {
  const db = clients.dynamodb();
  const { tables } = settings;
  return {
    tenant: console.tenant,
    fourEyes: console.fourEyes,
    rules: new DynamoRuleRepository(db, tables.rules, extras.clock),
    changes: new DynamoConsoleChanges<RuleChange, AuditEntry>(db, tables.rules),
    templates: new DynamoTemplateStore(db, tables.templates),
    templatesWhere: tables.templates,
    customers: new DynamoConsoleCustomers<CustomerState>(db, tables),
    profiles: new DynamoCustomerRepository<CustomerState>(db, tables),
    // Read fresh for each dry run: a marketer tests against the policy in force now.
    campaigns: new CachedCampaignSource(scanCampaignItems(db, tables.campaigns), { refreshMs: 1 }),
    quarantine: new DynamoQuarantine(db, tables.quarantine),
    samples,
    ...(extras.overview ? { overview: extras.overview } : {}),
    ...(extras.messages ? { messages: extras.messages } : {}),
    ...(extras.clock ? { clock: extras.clock } : {}),
  };
}

export const consoleApi = (deps: ConsoleDeps) => createConsole(deps);
