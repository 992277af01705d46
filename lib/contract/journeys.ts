// The message the recurring schedule that sweeps the journey timer outbox puts on the inbound queue
// (infra/constructs/journeys.ts); evaluate relays the outbox on it (functions/evaluate.ts). It has no
// source or detail-type, so it can never be mistaken for an event to ingest.
export const SWEEP_EVENT = { baton: 'relay-journey-timers' } as const;

/** The recurring schedule's name in the timer group (timer names always hold a dot; this one has none). */
export const SWEEP_SCHEDULE = 'sweep-timer-outbox';

/** Whether an inbound message body is the sweep message. */
export function isSweepMessage(body: string): boolean {
  if (body.length > 100) return false;
  try {
    const value = JSON.parse(body) as unknown;
    return typeof value === 'object' && value !== null && (value as Record<string, unknown>).baton === SWEEP_EVENT.baton;
  } catch {
    return false;
  }
}
