// Settings → adapters → outbound runs (lib/app/runs.ts): the same customers, rules, campaigns,
// segments and journeys as ingest, the run items and counts in the counters table.
import type { RunDeps } from '../app/runs.ts';
import { DynamoRunRepository } from '../adapters/dynamo/runs.ts';
import { DynamoRunMembers } from '../adapters/dynamo/run-members.ts';
import { SqsRunQueue } from '../adapters/aws/run-queue.ts';
import { awsClients, type Clients } from './clients.ts';
import { ingestDeps, type IngestSettings, type Observed } from './ingest.ts';

export function runDeps(
  settings: IngestSettings,
  o: Observed,
  { clients = awsClients(settings.aws ?? { endpoints: {} }), clock = () => new Date(), sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms)), ...tuning }: {
    clients?: Pick<Clients, 'dynamodb'> & Partial<Pick<Clients, 'bus' | 'scheduler'>>;
    /** The local stack's simulated clock, and a sleep on it. */
    clock?: () => Date;
    sleep?: (ms: number) => Promise<void>;
    concurrency?: number;
    parallelBuckets?: number;
    pageSize?: number;
  } = {},
): RunDeps {
  const db = clients.dynamodb();
  const ingest = ingestDeps(settings, o, clients, clock);
  return {
    runs: new DynamoRunRepository(db, settings.tables.counters),
    members: new DynamoRunMembers(db, settings.tables),
    customers: ingest.customers,
    rules: ingest.rules,
    ...(ingest.campaigns ? { campaigns: ingest.campaigns } : {}),
    ...(ingest.segments ? { segments: ingest.segments } : {}),
    ...(ingest.journeys ? { journeys: ingest.journeys } : {}),
    metrics: o.port,
    clock,
    sleep,
    ...tuning,
  };
}

/** The cloud's run starter: the runs in the counters table, the run queue (its URL from the function's environment). */
export function runStarterDeps(settings: Pick<IngestSettings, 'tables' | 'aws'>, queueUrl: string, clients: Pick<Clients, 'dynamodb' | 'sqs'> = awsClients(settings.aws ?? { endpoints: {} })) {
  return { runs: new DynamoRunRepository(clients.dynamodb(), settings.tables.counters), queue: new SqsRunQueue(clients.sqs(), queueUrl), clock: () => new Date() };
}
