// Dispatch on the real DynamoDB outbox (DynamoDecisionStore on DynamoDB Local): the claim
// condition and the send-started condition are what keep a message from going out twice.
//  - concurrent and replayed stream records for the same messages: each sent exactly once;
//  - a claim that runs out while its attempt is slow: the attempt's failed send-started write
//    stops its send; a provider call that outlasts the claim is still recorded by its attempt;
//  - kill points (before/after claim, before/after send-started, after the send before it is
//    recorded) against the real table, then redelivery: never two sends, none lost unless the
//    process died between send-started and the provider (the at-most-once window);
//  - an unconfirmed message resolved by SES's evidence (the feedback path), not left for a person.
// The provider is a recording sender: what is under test is the table's conditions.
import { beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createDispatch, type DispatchDeps, type DispatchOutcome } from '../../lib/app/dispatch.ts';
import { createFeedback } from '../../lib/app/feedback.ts';
import { decisionItems, DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import type { ChannelSender, DeadLetterEntry, OutboxItem, OutboxPort, SendResult } from '../../lib/app/ports.ts';
import { newCustomer, type CustomerState } from '../../lib/core/customer/index.ts';
import type { OutgoingMessage } from '../../lib/core/channels/senders.ts';
import type { Decision } from '../../lib/core/decide.ts';
import type { Channel } from '../../events/catalog.ts';
import { loadSample } from '../../events/samples.ts';
import { parseEvent } from '../../events/validate.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { db, unique } from '../support/local.ts';
import { freshTables } from '../support/tables.ts';

const CLAIM_MS = 60_000;
const START = Date.parse('2026-03-02T10:00:00.000Z');

/** Thrown by a hook to stand for the process dying there: dispatch runs no cleanup after it. */
class Killed extends Error {
  override readonly name = 'Killed';
}

type Key = { pk: string; sk: string };

/** The provider: counts what it was asked to send, per decision. */
class RecordingSender implements ChannelSender {
  readonly sends = new Map<string, number>();
  /** Runs inside the provider call (before it returns), to make it slow or kill after it. */
  during: ((m: OutgoingMessage) => Promise<void>) | undefined;
  after: ((m: OutgoingMessage) => void) | undefined;
  async send(m: OutgoingMessage) {
    await this.during?.(m);
    const n = (this.sends.get(m.decisionId) ?? 0) + 1;
    this.sends.set(m.decisionId, n);
    this.after?.(m);
    return { providerMessageId: `ses-${m.decisionId}-${n}` };
  }
  total = () => [...this.sends.values()].reduce((a, b) => a + b, 0);
}

function customer(): CustomerState {
  const s = newCustomer('cus-d');
  const reg = <T>(v: T) => ({ v, at: '2026-01-01T00:00:00.000Z', ev: 'e1' });
  s.profile.firstName = reg('Ada');
  s.profile.email = reg('ada@example.com');
  s.profile.phone = reg('+4915112345678');
  for (const c of ['email', 'sms', 'push', 'device'] as Channel[]) s.consent[c] = { ...reg(true), via: 'test' };
  s.devices = [{ id: 'dev-1', lastSeen: '2026-01-01T00:00:00.000Z' }];
  return s;
}

const KILL_POINTS = ['before-claim', 'after-claim', 'before-send-started', 'after-send-started', 'after-send'] as const;
type KillPoint = (typeof KILL_POINTS)[number];

/** The real store, with a crash injectable before or after its writes (the write happened, the caller died). */
class KillableOutbox implements OutboxPort {
  kill: KillPoint | undefined;
  constructor(private readonly inner: DynamoDecisionStore) {}
  private die(point: KillPoint) {
    if (this.kill !== point) return;
    this.kill = undefined;
    throw new Killed(`killed ${point}`);
  }
  async claim(pk: string, sk: string, now: Date, claimMs: number): Promise<OutboxItem | undefined> {
    this.die('before-claim');
    const got = await this.inner.claim(pk, sk, now, claimMs);
    if (got) this.die('after-claim');
    return got;
  }
  async markSending(pk: string, sk: string, attempt: number, now: Date): Promise<boolean> {
    this.die('before-send-started');
    const ok = await this.inner.markSending(pk, sk, attempt, now);
    if (ok) this.die('after-send-started');
    return ok;
  }
  async complete(pk: string, sk: string, result: SendResult, now: Date): Promise<void> {
    // After the provider took the message and before it is recorded.
    if (result.status === 'sent' && !result.unconfirmed) this.die('after-send');
    return this.inner.complete(pk, sk, result, now);
  }
  release(pk: string, sk: string, opts?: { clearMark?: boolean }): Promise<void> {
    return this.inner.release(pk, sk, opts);
  }
}

describe('dispatch on the DynamoDB outbox (DynamoDB Local)', () => {
  let names: TableNames;
  const client = db();
  let store: DynamoDecisionStore;
  beforeAll(async () => {
    names = await freshTables('dispatch');
    store = new DynamoDecisionStore(client, names.decisions);
  });

  /** Queues `n` decisions with one message each, written as ingest writes them. */
  async function queue(n: number, channel: Channel = 'email'): Promise<Key[]> {
    const keys: Key[] = [];
    for (let i = 0; i < n; i++) {
      const decisionId = unique('dec');
      const decision: Decision = {
        decisionId,
        customerId: 'cus-d',
        eventId: unique('ev'),
        eventType: 'baton.pos/SaleCompleted',
        at: new Date(START).toISOString(),
        candidates: [],
        setState: {},
        messages: [{ decisionId, customerId: 'cus-d', ruleId: 'r1', campaignId: 'c1', channel, template: 't1', offer: 'OFF10', transactional: false }],
      };
      for (const Item of decisionItems(decision, new Date(START))) await client.send(new PutCommand({ TableName: names.decisions, Item }));
      keys.push({ pk: `DEC#${decisionId}`, sk: `MSG#${channel}` });
    }
    return keys;
  }

  function setup(overrides: Partial<DispatchDeps> = {}) {
    let now = START;
    const sender = new RecordingSender();
    const outbox = new KillableOutbox(store);
    const deadLetters: DeadLetterEntry[] = [];
    const deps: DispatchDeps = {
      outbox,
      customers: { load: async (id) => ({ customerId: id, version: 1, state: customer(), identities: [] }) },
      templates: { find: async (_t, channel) => ({ templateId: 't1', channel, locale: 'en', ...(channel === 'email' ? { subject: 'Hi' } : {}), text: 'Hi {{ customer.firstName }}, {{ offer }}' }) },
      senders: { email: sender, sms: sender, push: sender, device: sender },
      metrics: { count: () => undefined },
      clock: () => new Date(now),
      claimMs: CLAIM_MS,
      deadLetters: { put: async (e) => void deadLetters.push(e) },
      ...overrides,
    };
    return { sender, outbox, deadLetters, dispatch: createDispatch(deps), advance: (ms: number) => (now += ms) };
  }
  const sendsOf = (sender: RecordingSender, key: Key) => sender.sends.get(key.pk.slice('DEC#'.length)) ?? 0;

  it('concurrent and replayed stream records for the same 20 messages: each sent exactly once', async () => {
    const keys = await queue(20);
    const t = setup();
    // Each message's record four times, all at once, in a shuffled order; the provider is slow enough to interleave.
    t.sender.during = () => new Promise((r) => setTimeout(r, Math.random() * 5));
    const records = fc.sample(fc.shuffledSubarray(keys.flatMap((k) => [k, k, k, k]), { minLength: 80, maxLength: 80 }), { seed: 11, numRuns: 1 })[0]!;
    const attempt = (k: Key) => t.dispatch(k).catch((err: Error): DispatchOutcome | string => err.name);
    const first = await Promise.all(records.map(attempt));
    // The stream replays the same records later (a retried batch, a redrive), also after every claim would have run out.
    const replays: (DispatchOutcome | string)[] = [];
    for (const wait of [0, CLAIM_MS + 1, 10 * CLAIM_MS]) {
      t.advance(wait);
      replays.push(...(await Promise.all(records.map(attempt))));
    }
    expect(keys.map((k) => sendsOf(t.sender, k)), 'sends per message').toEqual(keys.map(() => 1));
    expect(first.filter((o) => o === 'sent')).toHaveLength(20);
    expect(first.filter((o) => o === 'already-handled')).toHaveLength(60);
    expect(new Set(replays)).toEqual(new Set(['already-handled']));
    for (const k of keys) expect(await store.message(k.pk, k.sk)).toMatchObject({ status: 'sent', attempts: 1, providerMessageId: `ses-${k.pk.slice(4)}-1` });
  }, 300_000);

  it('a claim that runs out while its attempt is slow: the failed send-started write stops that attempt from sending', async () => {
    const [key] = await queue(1);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    let takes = 0;
    // The first attempt stalls after its claim (a slow render, capacity wait, GC pause).
    const t = setup({ capacity: { take: async () => (takes++ === 0 ? slow.then(() => 0) : 0) } });
    const stalled = t.dispatch(key!);
    while (takes === 0) await new Promise((r) => setTimeout(r, 10));
    t.advance(CLAIM_MS + 1);
    expect(await t.dispatch(key!)).toBe('sent');
    release();
    const outcome = await stalled.catch((err: Error) => err.name);
    expect(sendsOf(t.sender, key!), 'sends').toBe(1);
    expect(outcome).toBe('already-handled');
    expect(await store.message(key!.pk, key!.sk)).toMatchObject({ status: 'sent', attempts: 2, providerMessageId: `ses-${key!.pk.slice(4)}-1` });
  });

  it('a provider call that outlasts the claim: not sent again, and its late answer records it as confirmed', async () => {
    const [key] = await queue(1);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    let calls = 0;
    const t = setup();
    t.sender.during = async () => {
      if (calls++ === 0) await slow;
    };
    const inProvider = t.dispatch(key!);
    while (calls === 0) await new Promise((r) => setTimeout(r, 10));
    t.advance(CLAIM_MS + 1);
    // The retry sees the send started and does not send; it cannot know yet whether it went.
    expect(await t.dispatch(key!)).toBe('unconfirmed');
    release();
    expect(await inProvider).toBe('sent');
    expect(sendsOf(t.sender, key!)).toBe(1);
    const item = await store.message(key!.pk, key!.sk);
    expect(item).toMatchObject({ status: 'sent', providerMessageId: `ses-${key!.pk.slice(4)}-1` });
    expect(item?.unconfirmed).toBeUndefined();
  });

  it.each(KILL_POINTS)('killed %s, then redelivered: never sent twice, sent once unless killed inside the at-most-once window', async (point) => {
    const [key] = await queue(1);
    const t = setup();
    t.outbox.kill = point;
    await expect(t.dispatch(key!)).rejects.toBeInstanceOf(Killed);
    const sentByKilled = sendsOf(t.sender, key!);
    expect(sentByKilled).toBe(point === 'after-send' ? 1 : 0);
    // Redelivered at once (the claim may still hold), then after it ran out, then again.
    const outcomes = [await t.dispatch(key!)];
    t.advance(CLAIM_MS + 1);
    outcomes.push(await t.dispatch(key!), await t.dispatch(key!));
    const item = (await store.message(key!.pk, key!.sk))!;
    if (point === 'before-claim') {
      expect(outcomes).toEqual(['sent', 'already-handled', 'already-handled']);
    } else if (point === 'after-claim' || point === 'before-send-started') {
      expect(outcomes).toEqual(['already-handled', 'sent', 'already-handled']);
    } else {
      // The send had started: the retry never sends; it records `sent`, unconfirmed, for the evidence (or a person).
      expect(outcomes).toEqual(['already-handled', 'unconfirmed', 'already-handled']);
      expect(item).toMatchObject({ status: 'sent', unconfirmed: true });
      expect(t.deadLetters.map((d) => d.code)).toEqual(['outcome-unknown']);
    }
    expect(sendsOf(t.sender, key!)).toBe(point === 'after-send-started' ? 0 : 1);
    expect(item.status).toBe('sent');
  });

  it('property: any mix of kills, concurrent copies and redeliveries never sends a message twice, and loses none outside the window', async () => {
    const step = fc.constantFrom<KillPoint | 'none' | 'concurrent'>('none', 'concurrent', ...KILL_POINTS);
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 5 }), fc.boolean(), async (plan, wait) => {
        const [key] = await queue(1, 'device');
        const t = setup();
        let windowHit = false;
        for (const s of plan) {
          const before = (await store.message(key!.pk, key!.sk))!;
          if (s === 'concurrent') await Promise.allSettled([t.dispatch(key!), t.dispatch(key!), t.dispatch(key!)]);
          else {
            t.outbox.kill = s === 'none' ? undefined : s;
            await t.dispatch(key!).catch((e) => expect(e).toBeInstanceOf(Killed));
            // The window was hit when this attempt marked the send started and died before the provider.
            const after = (await store.message(key!.pk, key!.sk))!;
            if (s === 'after-send-started' && after.sendStartedAt !== before.sendStartedAt && sendsOf(t.sender, key!) === 0) windowHit = true;
            t.outbox.kill = undefined;
          }
          if (wait) t.advance(CLAIM_MS + 1);
        }
        t.advance(CLAIM_MS + 1);
        await t.dispatch(key!);
        expect(sendsOf(t.sender, key!)).toBe(windowHit ? 0 : 1);
        expect((await store.message(key!.pk, key!.sk))!.status).toBe('sent');
      }),
      { numRuns: 40, seed: 2_026 },
    );
  }, 300_000);
});

describe('an unconfirmed message resolved by SES evidence (DynamoDB Local)', () => {
  let names: TableNames;
  const client = db();
  let store: DynamoDecisionStore;
  beforeAll(async () => {
    names = await freshTables('unconfirmed');
    store = new DynamoDecisionStore(client, names.decisions);
  });

  /** An SES event of the sample's type for one Baton message: its tags and SES's message id. */
  function sesEvent(detailType: string, decisionId: string, messageId: string) {
    const sample = loadSample(`aws.ses/${detailType.replace(/ /g, '')}`) as Record<string, unknown> & { detail: { mail: Record<string, unknown> } };
    const body = structuredClone(sample);
    body.id = unique('ses-ev');
    body.detail.mail.messageId = messageId;
    body.detail.mail.tags = { ...(body.detail.mail.tags as object), decisionId: [decisionId], customerId: ['cus-u'] };
    const parsed = parseEvent(JSON.stringify(body));
    if (!parsed.ok) throw new Error(parsed.reason);
    return parsed.event;
  }

  /** A message whose attempt died after the provider call: the retry records it `sent`, unconfirmed. */
  async function unconfirmedMessage(): Promise<{ key: Key; decisionId: string }> {
    const decisionId = unique('dec');
    const decision: Decision = {
      decisionId, customerId: 'cus-u', eventId: unique('ev'), eventType: 'baton.pos/SaleCompleted', at: new Date(START).toISOString(), candidates: [], setState: {},
      messages: [{ decisionId, customerId: 'cus-u', ruleId: 'r1', campaignId: 'c1', channel: 'email', template: 't1', transactional: false }],
    };
    for (const Item of decisionItems(decision, new Date(START))) await client.send(new PutCommand({ TableName: names.decisions, Item }));
    const key = { pk: `DEC#${decisionId}`, sk: 'MSG#email' };
    const claimed = (await store.claim(key.pk, key.sk, new Date(START), CLAIM_MS))!;
    expect(await store.markSending(key.pk, key.sk, claimed.attempts, new Date(START))).toBe(true);
    // ... the process dies here, after SES took the message. The retry after the claim ran out:
    const retry = createDispatch({
      outbox: store,
      customers: { load: async () => undefined },
      templates: { find: async () => undefined },
      senders: {},
      metrics: { count: () => undefined },
      clock: () => new Date(START + CLAIM_MS + 1),
      claimMs: CLAIM_MS,
    });
    expect(await retry(key)).toBe('unconfirmed');
    expect(await store.message(key.pk, key.sk)).toMatchObject({ status: 'sent', unconfirmed: true });
    return { key, decisionId };
  }

  it.each([
    ['Email Sent', 'sentAt'],
    ['Email Delivered', 'deliveredAt'],
    ['Email Bounced', 'bouncedAt'],
  ])('an SES "%s" event carrying the message tags confirms it, with SES\'s message id', async (detailType, field) => {
    const { key, decisionId } = await unconfirmedMessage();
    const feedback = createFeedback({ outbox: store });
    await feedback(sesEvent(detailType, decisionId, `ses-real-${decisionId}`));
    const item = (await store.message(key.pk, key.sk))!;
    expect(item).toMatchObject({ status: 'sent', providerMessageId: `ses-real-${decisionId}` });
    expect(item.unconfirmed).toBeUndefined();
    expect(item).toMatchObject({ confirmedBy: field, confirmedAt: expect.any(String) });
    // A duplicate of the event changes nothing.
    await feedback(sesEvent(detailType, decisionId, `ses-real-${decisionId}`));
    expect(await store.message(key.pk, key.sk)).toEqual(item);
  });

  it('events that do not show SES took the message (delayed, rejected, rendering failed) leave it unconfirmed', async () => {
    const { key, decisionId } = await unconfirmedMessage();
    const feedback = createFeedback({ outbox: store });
    for (const type of ['Email Delivery Delayed', 'Email Rejected', 'Email Rendering Failed']) await feedback(sesEvent(type, decisionId, `ses-other-${decisionId}`));
    expect(await store.message(key.pk, key.sk)).toMatchObject({ status: 'sent', unconfirmed: true });
  });

  it('evidence that arrives before the retry: the retry records the message confirmed, with no dead letter', async () => {
    const decisionId = unique('dec');
    const decision: Decision = {
      decisionId, customerId: 'cus-u', eventId: unique('ev'), eventType: 'baton.pos/SaleCompleted', at: new Date(START).toISOString(), candidates: [], setState: {},
      messages: [{ decisionId, customerId: 'cus-u', ruleId: 'r1', campaignId: 'c1', channel: 'email', template: 't1', transactional: false }],
    };
    for (const Item of decisionItems(decision, new Date(START))) await client.send(new PutCommand({ TableName: names.decisions, Item }));
    const key = { pk: `DEC#${decisionId}`, sk: 'MSG#email' };
    const claimed = (await store.claim(key.pk, key.sk, new Date(START), CLAIM_MS))!;
    await store.markSending(key.pk, key.sk, claimed.attempts, new Date(START));
    await createFeedback({ outbox: store })(sesEvent('Email Sent', decisionId, `ses-early-${decisionId}`));
    const deadLetters: DeadLetterEntry[] = [];
    const retry = createDispatch({
      outbox: store, customers: { load: async () => undefined }, templates: { find: async () => undefined }, senders: {},
      metrics: { count: () => undefined }, clock: () => new Date(START + CLAIM_MS + 1), claimMs: CLAIM_MS,
      deadLetters: { put: async (e) => void deadLetters.push(e) },
    });
    expect(await retry(key)).toBe('sent');
    expect(deadLetters).toEqual([]);
    const item = (await store.message(key.pk, key.sk))!;
    expect(item).toMatchObject({ status: 'sent', providerMessageId: `ses-early-${decisionId}` });
    expect(item.unconfirmed).toBeUndefined();
  });
});
