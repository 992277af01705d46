// The local stand-ins for SQS + Lambda and for EventBridge, in process: no servers, no HTTP.
import { afterEach, describe, expect, it } from 'vitest';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { LocalQueue, type LocalQueueOptions } from '../../local/queue.ts';
import { entrySize, LocalBus, MAX_DETAIL_DEPTH, MAX_REQUEST_BYTES, type PutEventsEntry } from '../../local/bus.ts';
import type { Route, RouteTarget } from '../../lib/contract/routes.ts';

interface Receipt {
  readonly body: string;
  readonly messageId: string;
  readonly receiveCount: number;
  readonly batch: number;
}

const queues: LocalQueue[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.stop()));
});

/** A queue whose handler records every record it sees, then answers with `respond`. */
function recordingQueue(
  respond: (event: SQSEvent, receipts: Receipt[]) => Promise<SQSBatchResponse | void> | SQSBatchResponse | void = () => undefined,
  options: Partial<LocalQueueOptions> = {},
) {
  const receipts: Receipt[] = [];
  const batches: number[] = [];
  const queue = new LocalQueue({
    name: 'test-queue',
    retryDelayMs: () => 5,
    ...options,
    handler: async (event) => {
      const batch = batches.push(event.Records.length) - 1;
      for (const r of event.Records) {
        receipts.push({ body: r.body, messageId: r.messageId, receiveCount: Number(r.attributes.ApproximateReceiveCount), batch });
      }
      return respond(event, receipts);
    },
  });
  queues.push(queue);
  return { queue, receipts, batches };
}

const failBodies = (bodies: string[]) => (event: SQSEvent): SQSBatchResponse => ({
  batchItemFailures: event.Records.filter((r) => bodies.includes(r.body)).map((r) => ({ itemIdentifier: r.messageId })),
});

describe('LocalQueue', () => {
  it('delivers every message once, in batches of at most batchSize', async () => {
    const { queue, receipts, batches } = recordingQueue(undefined, { batchSize: 4, concurrency: 2 });
    const bodies = Array.from({ length: 11 }, (_, i) => `m${i}`);

    for (const body of bodies) queue.send(body);
    await queue.drained();

    expect(batches.every((size) => size >= 1 && size <= 4)).toBe(true);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(11);
    expect(receipts.map((r) => r.body).sort()).toEqual([...bodies].sort());
    expect(receipts.every((r) => r.receiveCount === 1)).toBe(true);
    expect(queue.stats).toEqual({ sent: 11, delivered: 11, retried: 0, deadLettered: 0 });
  });

  it('fills batches in send order when one batch runs at a time', async () => {
    const { queue, receipts, batches } = recordingQueue(undefined, { batchSize: 10, concurrency: 1 });
    const bodies = Array.from({ length: 23 }, (_, i) => `m${i}`);

    for (const body of bodies) queue.send(body);
    await queue.drained();

    expect(batches).toEqual([10, 10, 3]);
    expect(receipts.map((r) => r.body)).toEqual(bodies);
  });

  it('redelivers only the records reported as batch item failures, with the receive count raised', async () => {
    let first = true;
    const { queue, receipts } = recordingQueue((event) => {
      if (!first) return undefined;
      first = false;
      return failBodies(['b'])(event);
    });

    const ids = ['a', 'b', 'c'].map((body) => queue.send(body));
    await queue.drained();

    expect(receipts.map((r) => [r.body, r.receiveCount])).toEqual([
      ['a', 1],
      ['b', 1],
      ['c', 1],
      ['b', 2],
    ]);
    expect(receipts[3]?.messageId).toBe(ids[1]);
    expect(queue.stats).toEqual({ sent: 3, delivered: 3, retried: 1, deadLettered: 0 });
    expect(queue.deadLetters).toEqual([]);
  });

  it('retries the whole batch when the handler throws', async () => {
    let calls = 0;
    const { queue, receipts } = recordingQueue(() => {
      if (++calls === 1) throw new Error('database unavailable');
    });

    for (const body of ['a', 'b', 'c']) queue.send(body);
    await queue.drained();

    expect(receipts.map((r) => [r.body, r.receiveCount, r.batch])).toEqual([
      ['a', 1, 0],
      ['b', 1, 0],
      ['c', 1, 0],
      ['a', 2, 1],
      ['b', 2, 1],
      ['c', 2, 1],
    ]);
    expect(queue.stats).toEqual({ sent: 3, delivered: 3, retried: 3, deadLettered: 0 });
  });

  it('dead-letters a record reported as failed maxReceiveCount times, with the reason', async () => {
    const { queue, receipts } = recordingQueue(failBodies(['poison']), { maxReceiveCount: 3 });

    const poisonId = queue.send('poison');
    queue.send('fine');
    await queue.drained();

    expect(receipts.filter((r) => r.body === 'poison').map((r) => r.receiveCount)).toEqual([1, 2, 3]);
    expect(receipts.filter((r) => r.body === 'fine').map((r) => r.receiveCount)).toEqual([1]);
    expect(queue.deadLetters).toEqual([
      { messageId: poisonId, body: 'poison', receiveCount: 3, reason: 'reported as a batch item failure' },
    ]);
    expect(queue.stats).toEqual({ sent: 2, delivered: 1, retried: 2, deadLettered: 1 });
  });

  it('dead-letters with the thrown error\'s class as the reason, never its message', async () => {
    const { queue, receipts } = recordingQueue(
      () => {
        throw new Error('template missing');
      },
      { maxReceiveCount: 2 },
    );

    queue.send('x');
    await queue.drained();

    expect(receipts.map((r) => r.receiveCount)).toEqual([1, 2]);
    expect(queue.deadLetters.map((d) => [d.body, d.receiveCount, d.reason])).toEqual([['x', 2, 'handler threw Error']]);
  });

  it('waits retryDelayMs(receiveCount) before a failed record is visible again', async () => {
    const delays: number[] = [];
    const seenAt: number[] = [];
    const { queue } = recordingQueue(
      (event) => {
        seenAt.push(Date.now());
        return failBodies(['slow'])(event);
      },
      {
        maxReceiveCount: 3,
        retryDelayMs: (n) => {
          delays.push(n);
          return 60 * n;
        },
      },
    );

    queue.send('slow');
    await queue.drained();

    expect(delays).toEqual([1, 2]);
    expect(seenAt).toHaveLength(3);
    // Timers may fire a millisecond early; never a whole delay early.
    expect(seenAt[1]! - seenAt[0]!).toBeGreaterThanOrEqual(55);
    expect(seenAt[2]! - seenAt[1]!).toBeGreaterThanOrEqual(115);
  });

  it('drained() resolves at once when nothing was sent', async () => {
    const { queue, receipts } = recordingQueue();

    await queue.drained();

    expect(queue.depth).toBe(0);
    expect(receipts).toEqual([]);
  });

  it('drained() waits for the handler to finish, and for retries still waiting', async () => {
    let release!: () => void;
    const gate = new Promise<void>((ok) => (release = ok));
    let calls = 0;
    const { queue } = recordingQueue(
      async (event) => {
        calls++;
        await gate;
        return calls === 1 ? failBodies(['a'])(event) : undefined;
      },
      { retryDelayMs: () => 30 },
    );
    let drained = false;

    queue.send('a');
    const done = queue.drained().then(() => (drained = true));
    await new Promise((r) => setTimeout(r, 50));
    const whileBlocked = { drained, depth: queue.depth, calls };
    release();
    await done;

    expect(whileBlocked).toEqual({ drained: false, depth: 1, calls: 1 });
    expect(calls).toBe(2);
    expect(queue.depth).toBe(0);
    expect(queue.stats.delivered).toBe(1);
  });

  it('hands the handler SQS records with the queue ARN and an MD5 of the body', async () => {
    const events: SQSEvent[] = [];
    const probe = new LocalQueue({
      name: 'probe',
      handler: async (event) => {
        events.push(event);
      },
    });
    queues.push(probe);

    probe.send('hello');
    await probe.drained();

    const record = events[0]?.Records[0];
    expect(record).toMatchObject({ body: 'hello', eventSource: 'aws:sqs', eventSourceARN: probe.arn, md5OfBody: '5d41402abc4b2a76b9719d911017c592' });
    expect(probe.arn).toMatch(/^arn:aws:sqs:[\w-]+:\d{12}:probe$/);
  });

  it('refuses messages once stopped', async () => {
    const { queue } = recordingQueue();

    await queue.stop();

    expect(() => queue.send('late')).toThrow(/stopped/);
  });
});

describe('LocalBus.putEvents in process', () => {
  const posSale: Route = {
    id: 'PosSales',
    description: 'test route',
    pattern: { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] },
    target: 'evaluate',
  };

  function bus(routes?: readonly Route[]) {
    const delivered: { target: RouteTarget; body: Record<string, unknown> }[] = [];
    const instance = new LocalBus({
      port: 0,
      ...(routes ? { routes } : {}),
      deliver: (target, body) => delivered.push({ target, body: JSON.parse(body) as Record<string, unknown> }),
    });
    return { bus: instance, delivered };
  }
  const entry = (source: string, detailType: string, detail: unknown = { n: 1 }, busName = 'baton'): PutEventsEntry => ({
    Source: source,
    DetailType: detailType,
    Detail: JSON.stringify(detail),
    EventBusName: busName,
  });

  it('entrySize counts Time as 14 bytes and the strings in UTF-8 bytes', () => {
    const base = { Source: 'baton.pos', DetailType: 'SaleCompleted', Detail: '{"name":"Jürgen"}', Resources: ['arn:x'] };

    // 9 (Source) + 13 (DetailType) + 18 (Detail: ü is two bytes) + 5 (Resources)
    expect(entrySize(base)).toBe(45);
    expect(entrySize({ ...base, Time: new Date() })).toBe(59);
    expect(entrySize({ ...base, EventBusName: 'a-long-bus-name-that-does-not-count' })).toBe(45);
    expect(entrySize({ Source: '€', DetailType: 'x', Detail: '{}' })).toBe(6);
  });

  it('accepts a request of exactly 256 KB and refuses one byte more', () => {
    const { bus: b } = bus([posSale]);
    const sized = (bytes: number): PutEventsEntry => {
      const empty = entry('baton.pos', 'SaleCompleted', { pad: '' });
      return entry('baton.pos', 'SaleCompleted', { pad: 'x'.repeat(bytes - entrySize(empty)) });
    };
    expect(entrySize(sized(MAX_REQUEST_BYTES))).toBe(MAX_REQUEST_BYTES);

    expect(b.putEvents([sized(MAX_REQUEST_BYTES)]).FailedEntryCount).toBe(0);
    expect(() => b.putEvents([sized(MAX_REQUEST_BYTES + 1)])).toThrow('Total size of the entries in the request is over the limit.');
  });

  it('delivers to the target only the events that match its pattern', () => {
    const { bus: b, delivered } = bus([posSale]);

    const out = b.putEvents([
      entry('baton.pos', 'SaleCompleted', { saleId: 'S-1' }),
      entry('baton.pos', 'SaleRefunded', { saleId: 'S-2' }),
      entry('baton.crm', 'SaleCompleted', { saleId: 'S-3' }),
    ]);

    expect(out.FailedEntryCount).toBe(0);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.target).toBe('evaluate');
    expect(delivered[0]?.body).toMatchObject({
      version: '0',
      source: 'baton.pos',
      'detail-type': 'SaleCompleted',
      detail: { saleId: 'S-1' },
      resources: [],
    });
    expect(delivered[0]?.body.id).toBe((out.Entries[0] as { EventId: string }).EventId);
    expect(b.stats).toEqual({ accepted: 3, rejected: 0, routed: 1, unrouted: 2 });
  });

  it('with the real routes: customer sources and unknown sources reach evaluate, Baton’s own events do not', () => {
    const { bus: b, delivered } = bus();

    b.putEvents([
      entry('baton.crm', 'CustomerUpserted'),
      entry('acme.billing', 'InvoicePaid'),
      entry('baton', 'ActionRequested'),
    ]);

    expect(delivered.map((d) => [d.target, d.body.source])).toEqual([
      ['evaluate', 'baton.crm'],
      ['evaluate', 'acme.billing'],
    ]);
  });

  it('on the default bus forwards only SES feedback, and only from a trusted caller', () => {
    const { bus: b, delivered } = bus();

    const untrusted = b.putEvents([entry('aws.ses', 'Email Delivered', { eventType: 'Delivery' }, 'default')]);
    b.putEvents([entry('baton.pos', 'SaleCompleted', {}, 'default')]);
    b.putEvents([entry('aws.ses', 'Email Delivered', { eventType: 'Delivery' }, 'default')], { trusted: true });

    expect(untrusted.Entries[0]).toMatchObject({ ErrorCode: 'NotAuthorizedForSourceException' });
    expect(delivered.map((d) => d.body.source)).toEqual(['aws.ses']);
  });

  it('answers per entry and routes none of the failed ones', () => {
    const { bus: b, delivered } = bus([posSale]);

    const out = b.putEvents([
      entry('baton.pos', 'SaleCompleted', { ok: true }),
      { Source: 'baton.pos', DetailType: 'SaleCompleted', Detail: '[1]', EventBusName: 'baton' },
      { Source: 'baton.pos', DetailType: 'SaleCompleted', Detail: '{}', EventBusName: 'baton', Time: 'not a time' },
      { Source: 'baton.pos', DetailType: 'SaleCompleted', Detail: '{}', EventBusName: 'baton', Resources: [1] },
    ]);

    expect(out.FailedEntryCount).toBe(3);
    expect(out.Entries.map((e) => ('ErrorCode' in e ? e.ErrorCode : 'ok'))).toEqual(['ok', 'MalformedDetail', 'InvalidArgument', 'InvalidArgument']);
    expect(delivered).toHaveLength(1);
    expect(b.stats).toMatchObject({ accepted: 1, rejected: 3 });
  });

  it('refuses, per entry, a Detail nested deeper than EventBridge processes, and keeps it out of the history', () => {
    const { bus: b, delivered } = bus([posSale]);
    // 100,000 nested arrays: 200 KB, under the size limit, but too deep for JSON.stringify's stack.
    const poisoned: PutEventsEntry = { ...entry('baton.pos', 'SaleCompleted'), Detail: `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}` };
    expect(entrySize(poisoned)).toBeLessThan(MAX_REQUEST_BYTES);

    const out = b.putEvents([entry('baton.pos', 'SaleCompleted', { saleId: 'S-1' }), poisoned]);

    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries[1]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: `Detail is nested more than ${MAX_DETAIL_DEPTH} levels deep.` });
    expect(delivered.map((d) => d.body.detail)).toEqual([{ saleId: 'S-1' }]);
    expect(b.history.map((e) => e.detail)).toEqual([{ saleId: 'S-1' }]);
    expect(() => JSON.stringify(b.history)).not.toThrow();
    expect(b.stats).toMatchObject({ accepted: 1, rejected: 1 });
  });

  it(`accepts a Detail nested exactly ${MAX_DETAIL_DEPTH} levels deep and refuses one level more`, () => {
    const { bus: b, delivered } = bus([posSale]);
    // The detail object is the first level; brackets inside strings do not count.
    const nested = (levels: number) => ({ ...entry('baton.pos', 'SaleCompleted'), Detail: `{"s":"[[{{","a":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}` });

    const out = b.putEvents([nested(MAX_DETAIL_DEPTH), nested(MAX_DETAIL_DEPTH + 1)]);

    expect(out.Entries.map((e) => ('ErrorCode' in e ? e.ErrorCode : 'ok'))).toEqual(['ok', 'MalformedDetail']);
    expect(delivered).toHaveLength(1);
    expect(b.history).toHaveLength(1);
  });

  it('keeps an SES event forwarded from the default bus once in the history', () => {
    const { bus: b, delivered } = bus();

    const out = b.putEvents([entry('aws.ses', 'Email Delivered', { eventType: 'Delivery' }, 'default')], { trusted: true });

    const id = (out.Entries[0] as { EventId: string }).EventId;
    expect(delivered.map((d) => d.body.id)).toEqual([id]);
    expect(b.history.map((e) => e.id)).toEqual([id]);
  });

  it('refuses 0 and 11 entries as a whole request', () => {
    const { bus: b, delivered } = bus([posSale]);

    expect(() => b.putEvents([])).toThrow(/greater than or equal to 1/);
    expect(() => b.putEvents(Array.from({ length: 11 }, () => entry('baton.pos', 'SaleCompleted')))).toThrow(/less than or equal to 10/);
    expect(delivered).toEqual([]);
  });
});
