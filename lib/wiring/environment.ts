// The wiring's entry points, by use case: settings → clients → adapters → use cases. Kept as one
// import for the handlers; each part lives in its own file beside this one.
export { awsClients, type Clients } from './clients.ts';
export { ingestDeps, type Observed } from './ingest.ts';
export { dispatchDeps, outboxRef, pendingOutboxMessage, type OutboxRef } from './dispatch.ts';
export { decisionApiDeps } from './decision-api.ts';
