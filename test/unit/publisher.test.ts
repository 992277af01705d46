// publishEvents against a mocked EventBridge: the failures the local bus cannot produce
// (throttling, internal failures) and the batching and resend rules around them.
import { afterEach, describe, expect, it } from 'vitest';
import { mockClient } from 'aws-sdk-client-mock';
import {
  EventBridgeClient,
  PutEventsCommand,
  type PutEventsRequestEntry,
  type PutEventsResultEntry,
} from '@aws-sdk/client-eventbridge';
import { publishEvents, toEntry, type OutgoingEvent } from '../../lib/adapters/aws/publisher.ts';

const eventBridge = mockClient(EventBridgeClient);
afterEach(() => eventBridge.reset());

const client = () => new EventBridgeClient({ region: 'eu-west-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const noSleep = async () => {};

/** Event n carries its number in detail, so every sent entry says which event it is. */
const events = (count: number): OutgoingEvent[] =>
  Array.from({ length: count }, (_, n) => ({ source: 'baton.pos', 'detail-type': 'SaleCompleted', detail: { n } }));
const numberOf = (entry: PutEventsRequestEntry) => (JSON.parse(entry.Detail ?? '{}') as { n: number }).n;

/** Entries of every PutEvents call, as event numbers. */
const sentCalls = () => eventBridge.commandCalls(PutEventsCommand).map((call) => (call.args[0].input.Entries ?? []).map(numberOf));

/** Answers each entry with `answer(eventNumber, attemptOfThatEvent)`; counts attempts per event. */
function answerWith(answer: (n: number, attempt: number) => PutEventsResultEntry) {
  const attempts = new Map<number, number>();
  eventBridge.on(PutEventsCommand).callsFake((input: { Entries: PutEventsRequestEntry[] }) => {
    const entries = input.Entries.map((entry) => {
      const n = numberOf(entry);
      const attempt = (attempts.get(n) ?? 0) + 1;
      attempts.set(n, attempt);
      return answer(n, attempt);
    });
    return { FailedEntryCount: entries.filter((e) => e.ErrorCode).length, Entries: entries };
  });
  return attempts;
}
const accepted = (n: number): PutEventsResultEntry => ({ EventId: `evt-${n}` });

describe('publishEvents', () => {
  it('sends 23 events in 3 calls of at most 10, in order, to the named bus', async () => {
    answerWith(accepted);

    const results = await publishEvents(client(), 'baton', events(23), { sleep: noSleep });

    expect(sentCalls()).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
      [20, 21, 22],
    ]);
    const buses = eventBridge.commandCalls(PutEventsCommand).flatMap((c) => (c.args[0].input.Entries ?? []).map((e) => e.EventBusName));
    expect(new Set(buses)).toEqual(new Set(['baton']));
    expect(results).toEqual(Array.from({ length: 23 }, (_, n) => ({ index: n, eventId: `evt-${n}` })));
  });

  it('resends only the entries that failed with a retryable code, until they are accepted', async () => {
    const attempts = answerWith((n, attempt) => {
      if (n === 3 && attempt === 1) return { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' };
      if (n === 7 && attempt <= 2) return { ErrorCode: 'InternalFailure', ErrorMessage: 'Internal failure' };
      return accepted(n);
    });
    const sleeps: number[] = [];

    const results = await publishEvents(client(), 'baton', events(12), { sleep: async (ms) => void sleeps.push(ms) });

    expect(sentCalls()).toEqual([[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [3, 7], [7], [10, 11]]);
    expect(attempts.get(3)).toBe(2);
    expect(attempts.get(7)).toBe(3);
    expect(results).toEqual(Array.from({ length: 12 }, (_, n) => ({ index: n, eventId: `evt-${n}` })));
    // One back-off before each resend, none after a batch that was fully accepted.
    expect(sleeps).toHaveLength(2);
  });

  it('returns a non-retryable failure at once, without resending it', async () => {
    answerWith((n) => (n === 1 ? { ErrorCode: 'InvalidArgument', ErrorMessage: 'Parameter Detail is not valid.' } : accepted(n)));

    const results = await publishEvents(client(), 'baton', events(3), { sleep: noSleep });

    expect(sentCalls()).toEqual([[0, 1, 2]]);
    expect(results).toEqual([
      { index: 0, eventId: 'evt-0' },
      { index: 1, errorCode: 'InvalidArgument', errorMessage: 'Parameter Detail is not valid.' },
      { index: 2, eventId: 'evt-2' },
    ]);
  });

  it('stops after maxAttempts and returns the last retryable error', async () => {
    answerWith((n) => (n === 0 ? { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' } : accepted(n)));

    const results = await publishEvents(client(), 'baton', events(2), { maxAttempts: 3, sleep: noSleep });

    expect(sentCalls()).toEqual([[0, 1], [0], [0]]);
    expect(results).toEqual([
      { index: 0, errorCode: 'ThrottlingException', errorMessage: 'Rate exceeded' },
      { index: 1, eventId: 'evt-1' },
    ]);
  });

  it('keeps indexes right when a later batch has failures', async () => {
    answerWith((n, attempt) => (n === 14 && attempt === 1 ? { ErrorCode: 'InternalFailure' } : n === 12 ? { ErrorCode: 'AccessDeniedException' } : accepted(n)));

    const results = await publishEvents(client(), 'baton', events(15), { sleep: noSleep });

    expect(results.map((r) => r.index)).toEqual(Array.from({ length: 15 }, (_, n) => n));
    expect(results[12]).toEqual({ index: 12, errorCode: 'AccessDeniedException' });
    expect(results[14]).toEqual({ index: 14, eventId: 'evt-14' });
  });

  it('passes a thrown request error to the caller', async () => {
    eventBridge.on(PutEventsCommand).rejects(new Error('socket hang up'));

    await expect(publishEvents(client(), 'baton', events(1), { sleep: noSleep })).rejects.toThrow('socket hang up');
  });

  it('sends nothing for no events', async () => {
    answerWith(accepted);

    expect(await publishEvents(client(), 'baton', [], { sleep: noSleep })).toEqual([]);
    expect(sentCalls()).toEqual([]);
  });
});

describe('toEntry', () => {
  it('turns an envelope into a PutEvents entry with Detail as JSON', () => {
    const entry = toEntry({ source: 'baton.crm', 'detail-type': 'CustomerErased', detail: { requestId: 'r1' }, resources: ['arn:a'] }, 'baton');

    expect(entry).toEqual({ Source: 'baton.crm', DetailType: 'CustomerErased', Detail: '{"requestId":"r1"}', EventBusName: 'baton', Resources: ['arn:a'] });
  });

  it('keeps a PutEvents entry as given, on the named bus', () => {
    const entry = toEntry({ Source: 'baton.crm', DetailType: 'CustomerErased', Detail: '[1]', EventBusName: 'other' }, 'baton');

    expect(entry).toEqual({ Source: 'baton.crm', DetailType: 'CustomerErased', Detail: '[1]', EventBusName: 'baton' });
  });
});
