// What the schedule that sweeps the journey timer outbox sends to evaluate (infra/constructs/journeys.ts,
// functions/evaluate.ts): not an SQS batch, so it can never be mistaken for events to ingest.
export const SWEEP_EVENT = { baton: 'relay-journey-timers' } as const;

export const isSweepEvent = (event: unknown): boolean =>
  typeof event === 'object' && event !== null && (event as Record<string, unknown>).baton === SWEEP_EVENT.baton;
