// Publishes events to an EventBridge bus (the cloud's or the local one): batches of 10, and
// entries that failed with a retryable code are sent again with backoff.
import { EventBridgeClient, PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';

export const RETRYABLE_CODES = new Set(['InternalFailure', 'ThrottlingException', 'ServiceUnavailable']);
const BATCH = 10;

export interface EntryResult {
  readonly index: number;
  readonly eventId?: string;
  readonly errorCode?: string;
  readonly errorMessage?: string;
}

/** A bus event as a source system writes it (the EventBridge envelope or its PutEvents entry). */
export type OutgoingEvent =
  | { source: string; 'detail-type': string; detail: unknown; time?: string; resources?: string[] }
  | PutEventsRequestEntry;

export function toEntry(event: OutgoingEvent, busName: string): PutEventsRequestEntry {
  if ('Source' in event || 'DetailType' in event) return { ...event, EventBusName: busName };
  const e = event as { source: string; 'detail-type': string; detail: unknown; time?: string; resources?: string[] };
  return {
    Source: e.source,
    DetailType: e['detail-type'],
    Detail: typeof e.detail === 'string' ? e.detail : JSON.stringify(e.detail),
    EventBusName: busName,
    ...(e.time ? { Time: new Date(e.time) } : {}),
    ...(e.resources?.length ? { Resources: e.resources } : {}),
  };
}

export async function publishEvents(
  client: EventBridgeClient,
  busName: string,
  events: readonly OutgoingEvent[],
  { maxAttempts = 5, sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)) } = {},
): Promise<EntryResult[]> {
  const results: EntryResult[] = [];
  for (let start = 0; start < events.length; start += BATCH) {
    let pending = events.slice(start, start + BATCH).map((e, i) => ({ index: start + i, entry: toEntry(e, busName) }));
    for (let attempt = 1; pending.length > 0; attempt++) {
      const out = await client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) }));
      const retry: typeof pending = [];
      pending.forEach((item, i) => {
        // An entry the answer does not account for counts as failed, never as sent.
        const answer = out.Entries?.[i] ?? { ErrorCode: 'MissingResult', ErrorMessage: 'the bus returned no result for this entry' };
        if (answer.EventId) results.push({ index: item.index, eventId: answer.EventId });
        else if (answer.ErrorCode && RETRYABLE_CODES.has(answer.ErrorCode) && attempt < maxAttempts) retry.push(item);
        else results.push({ index: item.index, ...(answer.ErrorCode ? { errorCode: answer.ErrorCode } : {}), ...(answer.ErrorMessage ? { errorMessage: answer.ErrorMessage } : {}) });
      });
      pending = retry;
      if (pending.length) await sleep(Math.random() * Math.min(5000, 100 * 2 ** attempt));
    }
  }
  return results.sort((a, b) => a.index - b.index);
}
