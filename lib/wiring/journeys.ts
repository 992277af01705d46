// The timer sweep's dependencies: the timer outbox in the customers table, Scheduler, the metrics
// port. The same adapters evaluate relays with after each commit (lib/wiring/ingest.ts).
import type { Settings } from '../contract/config.ts';
import type { JourneyDeps } from '../app/journeys.ts';
import { DynamoJourneyInstances } from '../adapters/dynamo/journeys.ts';
import { SchedulerJourneyTimers } from '../adapters/aws/scheduler.ts';
import { awsClients, type Clients } from './clients.ts';
import type { Observed } from './ingest.ts';

export type RelayDeps = Pick<JourneyDeps, 'timers' | 'outbox' | 'metrics' | 'account' | 'region'>;

export function timerRelayDeps(settings: Pick<Settings, 'tables' | 'scheduler' | 'aws'>, o: Observed, clients: Partial<Pick<Clients, 'dynamodb' | 'scheduler'>> = {}): RelayDeps {
  if (!settings.scheduler) throw new Error('the timer sweep needs the journey timer settings (BATON_SCHEDULER_GROUP, _ROLE_ARN, _TARGET_ARN)');
  const aws = awsClients(settings.aws ?? { endpoints: {} });
  const db = (clients.dynamodb ?? aws.dynamodb)();
  const [, , , region, account] = settings.scheduler.targetArn.split(':');
  return {
    outbox: new DynamoJourneyInstances(db, settings.tables.customers),
    timers: new SchedulerJourneyTimers((clients.scheduler ?? aws.scheduler)(), settings.scheduler),
    metrics: o.port,
    ...(account ? { account } : {}),
    ...(region ? { region } : {}),
  };
}
