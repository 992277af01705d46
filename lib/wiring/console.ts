// Settings → adapters → the console API (lib/app/console.ts): the rules through the CLI's own
// repository, pending changes and audit beside them, customers, quarantine, the campaigns the dry
// run arbitrates under. The overview and (locally) the messages are the caller's to give.
import type { Settings } from '../contract/config.ts';
import type { ConsoleSettings } from '../contract/console.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { createConsole, type ConsoleDeps } from '../app/console.ts';
import { DynamoRuleRepository } from '../adapters/dynamo/rules.ts';
import { DynamoConsoleChanges } from '../adapters/dynamo/console-changes.ts';
import { DynamoConsoleCustomers } from '../adapters/dynamo/console-customers.ts';
import { DynamoCustomerRepository } from '../adapters/dynamo/customers.ts';
import { DynamoTemplateStore } from '../adapters/dynamo/templates.ts';
import { DynamoQuarantine } from '../adapters/dynamo/quarantine.ts';
import { CachedCampaignSource, scanCampaignItems } from '../adapters/dynamo/campaigns.ts';
import { DynamoConsoleJourneys } from '../adapters/dynamo/console-journeys.ts';
import { DynamoConsoleSegments } from '../adapters/dynamo/console-segments.ts';
import { DynamoJourneyRepository } from '../adapters/dynamo/journeys.ts';
import { DynamoRunRepository } from '../adapters/dynamo/runs.ts';
import { DynamoAggregates } from '../adapters/dynamo/aggregates.ts';
import { MemoryMetrics } from '../adapters/memory/metrics.ts';
import { publishEvents } from '../adapters/aws/publisher.ts';
import { BUS_NAME } from '../contract/routes.ts';
import { createIngest } from '../app/ingest.ts';
import type { QuarantineStore } from '../app/ports.ts';
import { listSamples, loadSample } from '../../events/samples.ts';
import { awsClients, type Clients } from './clients.ts';
import { ingestDeps } from './ingest.ts';

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

/** Where an erasure request goes: the bus, as a CRM puts it there (`baton send` does the same). */
function busPublisher(clients: Pick<Clients, 'bus'>, busName: string): ConsoleDeps['events'] {
  return {
    async publish(event) {
      const [result] = await publishEvents(clients.bus(), busName, [event]);
      if (!result?.eventId) throw new Error(`the bus refused the ${event['detail-type']} event: ${result?.errorCode ?? 'no result'}`);
      return result.eventId;
    },
  };
}

export function consoleDeps(
  settings: Pick<Settings, 'tables' | 'aws'> & Partial<Pick<Settings, 'busName'>>,
  console: ConsoleSettings,
  extras: ConsoleExtras = {},
  clients: Pick<Clients, 'dynamodb' | 'bus'> = awsClients(settings.aws),
): ConsoleDeps {
  const db = clients.dynamodb();
  const { tables } = settings;
  // A replay runs the pipeline's own ingest, as `baton quarantine replay` does (its counts are not the pipeline's).
  const ingest = console.replay === false ? undefined : ingestDeps({ tables }, { port: new MemoryMetrics(), logger: { warn: () => undefined } }, clients, extras.clock);
  return {
    tenant: console.tenant,
    fourEyes: console.fourEyes,
    rules: new DynamoRuleRepository(db, tables.rules, extras.clock),
    changes: new DynamoConsoleChanges(db, tables.rules),
    templates: new DynamoTemplateStore(db, tables.templates),
    templatesWhere: tables.templates,
    customers: new DynamoConsoleCustomers<CustomerState>(db, tables),
    profiles: new DynamoCustomerRepository<CustomerState>(db, tables),
    // Read fresh for each dry run: a marketer tests against the policy in force now.
    campaigns: new CachedCampaignSource(scanCampaignItems(db, tables.campaigns), { refreshMs: 1 }),
    quarantine: new DynamoQuarantine(db, tables.quarantine),
    ...(console.replay === false ? {} : { ingestWith: (quarantine: QuarantineStore) => createIngest({ ...ingest!, quarantine }) }),
    journeys: new DynamoJourneyRepository(db, tables.campaigns, extras.clock),
    journeyPositions: new DynamoConsoleJourneys(db, tables.customers),
    segments: new DynamoConsoleSegments(db, tables),
    runs: new DynamoRunRepository(db, tables.counters),
    aggregates: new DynamoAggregates(db, tables.aggregates),
    events: busPublisher(clients, settings.busName ?? BUS_NAME),
    samples,
    ...(extras.overview ? { overview: extras.overview } : {}),
    ...(extras.messages ? { messages: extras.messages } : {}),
    ...(extras.clock ? { clock: extras.clock } : {}),
  };
}

export const consoleApi = (deps: ConsoleDeps) => createConsole(deps);
