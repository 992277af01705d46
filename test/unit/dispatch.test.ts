// Dispatch with in-memory ports: at most once under crashes (killed between claim and send, and
// between send and record), none lost, stuck claims retried after their timeout, and the checks
// before a send (consent, deliverability guard, SMS budget, quiet hours, capacity).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createDispatch, type DispatchDeps } from '../../lib/app/dispatch.ts';
import { type DeadLetterEntry, type OutboxPort, type SendResult, type OutboxItem, type ChannelSender } from '../../lib/app/ports.ts';
import { newCustomer, type CustomerState } from '../../lib/core/customer/index.ts';
import { PermanentSendError, type OutgoingMessage } from '../../lib/core/channels/senders.ts';
import type { Template } from '../../lib/core/channels/template.ts';
import type { Channel } from '../../events/catalog.ts';
import { ChannelCapacity } from '../../lib/core/channels/capacity.ts';
import type { Assessment } from '../../lib/core/channels/deliverability.ts';

/** Thrown by a hook to stand for the process dying there: dispatch runs no cleanup after it. */
class Killed extends Error {}

class MemoryOutbox implements OutboxPort {
  readonly items = new Map<string, Record<string, unknown>>();
  /** Kill the next `complete` call (a crash between send and record). */
  killNextComplete = false;

  add(channel: Channel | 'bus', extra: Record<string, unknown> = {}): { pk: string; sk: string } {
    const key = { pk: `DEC#d-${this.items.size}`, sk: `MSG#${channel}` };
    this.items.set(`${key.pk}|${key.sk}`, {
      ...key,
      decisionId: key.pk.slice(4),
      customerId: 'cus-1',
      ruleId: 'r1',
      campaignId: 'c1',
      channel,
      ...(channel === 'bus' ? { action: 'call' } : { template: 't1', offer: 'OFF10' }),
      transactional: false,
      status: 'pending',
      createdAt: '2026-01-01T00:00:00.000Z',
      attempts: 0,
      ...extra,
    });
    return key;
  }
  get(pk: string, sk: string) {
    return this.items.get(`${pk}|${sk}`)!;
  }
  async claim(pk: string, sk: string, now: Date, claimMs: number): Promise<OutboxItem | undefined> {
    const i = this.get(pk, sk);
    const free = i.status === 'pending' || (i.status === 'sending' && (i.claimedUntil as number) < now.getTime());
    if (!free) return undefined;
    Object.assign(i, { status: 'sending', claimedUntil: now.getTime() + claimMs, attempts: (i.attempts as number) + 1 });
    return structuredClone(i) as unknown as OutboxItem;
  }
  async markSending(pk: string, sk: string, attempt: number, now: Date): Promise<boolean> {
    const i = this.get(pk, sk);
    if (i.status !== 'sending' || i.attempts !== attempt) return false;
    i.sendStartedAt = now.toISOString();
    return true;
  }
  async complete(pk: string, sk: string, result: SendResult, now: Date): Promise<void> {
    if (this.killNextComplete) {
      this.killNextComplete = false;
      throw new Killed('killed between send and record');
    }
    const i = this.get(pk, sk);
    if (i.status !== 'sending') throw Object.assign(new Error('condition'), { name: 'ConditionalCheckFailedException' });
    delete i.claimedUntil;
    Object.assign(i, result, { completedAt: now.toISOString() });
  }
  async release(pk: string, sk: string, opts: { clearMark?: boolean; notBefore?: string } = {}): Promise<void> {
    const i = this.get(pk, sk);
    if (i.status !== 'sending') return;
    i.status = 'pending';
    if (opts.notBefore) i.notBefore = opts.notBefore;
    delete i.claimedUntil;
    if (opts.clearMark) delete i.sendStartedAt;
  }
}

class RecordingSender implements ChannelSender {
  readonly sent: OutgoingMessage[] = [];
  fail: (() => Error) | undefined;
  async send(message: OutgoingMessage) {
    if (this.fail) throw this.fail();
    this.sent.push(message);
    return { providerMessageId: `p-${this.sent.length}` };
  }
}

function customer(consent: Partial<Record<Channel, boolean>> = { email: true, sms: true, push: true, device: true }): CustomerState {
  const s = newCustomer('cus-1');
  const reg = <T>(v: T) => ({ v, at: '2026-01-01T00:00:00.000Z', ev: 'e1' });
  s.profile.firstName = reg('Ada');
  s.profile.email = reg('ada@example.com');
  s.profile.phone = reg('+4915112345678');
  for (const [c, v] of Object.entries(consent)) s.consent[c as Channel] = { ...reg(v), via: 'test' };
  s.devices = [{ id: 'dev-1', lastSeen: '2026-01-01T00:00:00.000Z', pushEndpointArn: reg('arn:aws:sns:eu-west-1:1:endpoint/GCM/app/1') }];
  return s;
}

const TEMPLATE = (channel: Channel): Template => ({ templateId: 't1', channel, locale: 'en', ...(channel === 'email' ? { subject: 'Hi' } : {}), text: 'Hi {{ customer.firstName }}, {{ offer }}' });

function setup(overrides: Partial<DispatchDeps> = {}, state = customer()) {
  let now = Date.parse('2026-03-02T10:00:00.000Z');
  const outbox = new MemoryOutbox();
  const sender = new RecordingSender();
  const deadLetters: DeadLetterEntry[] = [];
  const counts: Record<string, number> = {};
  const deps: DispatchDeps = {
    outbox,
    customers: { load: async (id) => ({ customerId: id, version: 1, state: structuredClone(state), identities: [] }) },
    templates: { find: async (_t, channel) => TEMPLATE(channel) },
    senders: { email: sender, sms: sender, push: sender, device: sender, bus: sender },
    metrics: { count: (name, v = 1) => void (counts[name] = (counts[name] ?? 0) + v) },
    clock: () => new Date(now),
    claimMs: 60_000,
    deadLetters: { put: async (e) => void deadLetters.push(e) },
    ...overrides,
  };
  return { outbox, sender, deadLetters, counts, deps, dispatch: createDispatch(deps), advance: (ms: number) => (now += ms), now: () => now };
}

describe('dispatch: at most once, none lost', () => {
  it('sends a pending message once and records it; a replayed stream record is already handled', async () => {
    const t = setup();
    const key = t.outbox.add('email');
    expect(await t.dispatch(key)).toBe('sent');
    expect(await t.dispatch(key)).toBe('already-handled');
    expect(t.sender.sent).toHaveLength(1);
    expect(t.sender.sent[0]!.content.text).toBe('Hi Ada, OFF10');
    expect(t.outbox.get(key.pk, key.sk)).toMatchObject({ status: 'sent', providerMessageId: 'p-1' });
  });

  it('killed between claim and send: not sent by a retry while the claim holds, sent once after its timeout', async () => {
    let kill = true;
    const t = setup({
      capacity: {
        take: async () => {
          if (kill) throw new Killed('killed between claim and send');
          return 0;
        },
      },
    });
    const key = t.outbox.add('sms');
    await expect(t.dispatch(key)).rejects.toBeInstanceOf(Killed);
    kill = false;
    expect(await t.dispatch(key)).toBe('already-handled');
    expect(t.sender.sent).toHaveLength(0);
    t.advance(60_001);
    expect(await t.dispatch(key)).toBe('sent');
    expect(await t.dispatch(key)).toBe('already-handled');
    expect(t.sender.sent).toHaveLength(1);
    expect(t.outbox.get(key.pk, key.sk)).toMatchObject({ status: 'sent', attempts: 2 });
  });

  it('killed between send and record: never sent again; recorded sent, unconfirmed and dead-lettered for review', async () => {
    const t = setup();
    const key = t.outbox.add('push');
    t.outbox.killNextComplete = true;
    await expect(t.dispatch(key)).rejects.toBeInstanceOf(Killed);
    expect(t.sender.sent).toHaveLength(1);
    t.advance(60_001);
    expect(await t.dispatch(key)).toBe('unconfirmed');
    expect(t.sender.sent).toHaveLength(1);
    expect(t.outbox.get(key.pk, key.sk)).toMatchObject({ status: 'sent', unconfirmed: true });
    expect(t.deadLetters.map((d) => d.code)).toEqual(['outcome-unknown']);
  });

  it('killed between send and record, then confirmed by feedback: recorded sent, no dead letter', async () => {
    const t = setup();
    const key = t.outbox.add('email');
    t.outbox.killNextComplete = true;
    await expect(t.dispatch(key)).rejects.toBeInstanceOf(Killed);
    // The SES "Email Sent" event arrives and lib/app/feedback.ts records it on the message.
    Object.assign(t.outbox.get(key.pk, key.sk), { sentAt: '2026-03-02T10:00:01.000Z', providerMessageId: 'ses-1' });
    t.advance(60_001);
    expect(await t.dispatch(key)).toBe('sent');
    expect(t.sender.sent).toHaveLength(1);
    expect(t.outbox.get(key.pk, key.sk)).toMatchObject({ status: 'sent', providerMessageId: 'ses-1' });
    expect(t.outbox.get(key.pk, key.sk).unconfirmed).toBeUndefined();
    expect(t.deadLetters).toEqual([]);
  });

  it('property: any sequence of kills (before send, after send) and retries sends each message exactly once', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('none', 'before-send', 'after-send', 'concurrent'), { minLength: 1, maxLength: 6 }), async (plan) => {
        let killBefore = false;
        const t = setup({ capacity: { take: async () => (killBefore ? Promise.reject(new Killed('x')) : 0) } });
        const key = t.outbox.add('device');
        for (const step of plan) {
          killBefore = step === 'before-send';
          t.outbox.killNextComplete = step === 'after-send';
          if (step === 'concurrent') await Promise.allSettled([t.dispatch(key), t.dispatch(key)]);
          else await t.dispatch(key).catch((e) => expect(e).toBeInstanceOf(Killed));
          t.advance(60_001);
        }
        killBefore = false;
        t.outbox.killNextComplete = false;
        await t.dispatch(key);
        expect(t.sender.sent).toHaveLength(1);
        expect(t.outbox.get(key.pk, key.sk).status).toBe('sent');
      }),
      { numRuns: 200 },
    );
  });

  it('a transient refusal frees the claim at once for the retry; a timeout without answer is never sent again', async () => {
    const t = setup();
    const refused = t.outbox.add('email');
    t.sender.fail = () => Object.assign(new Error('slow down'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } });
    await expect(t.dispatch(refused)).rejects.toThrow('slow down');
    expect(t.outbox.get(refused.pk, refused.sk).status).toBe('pending');
    t.sender.fail = undefined;
    expect(await t.dispatch(refused)).toBe('sent');

    const timedOut = t.outbox.add('email');
    t.sender.fail = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
    await expect(t.dispatch(timedOut)).rejects.toThrow('socket hang up');
    t.sender.fail = undefined;
    expect(await t.dispatch(timedOut)).toBe('unconfirmed');
    expect(t.sender.sent).toHaveLength(1);
  });

  it('records a permanent failure with its reason and puts it on the dead-letter queue', async () => {
    const t = setup();
    const key = t.outbox.add('sms');
    t.sender.fail = () => new PermanentSendError('SNS refused the message (OptedOutException)', 'opted-out');
    expect(await t.dispatch(key)).toBe('failed');
    expect(t.outbox.get(key.pk, key.sk)).toMatchObject({ status: 'failed', failure: 'opted-out: SNS refused the message (OptedOutException)' });
    expect(t.deadLetters).toEqual([expect.objectContaining({ pk: key.pk, sk: key.sk, code: 'opted-out', channel: 'sms', customerId: 'cus-1' })]);
    expect(JSON.stringify(t.deadLetters)).not.toContain('+4915112345678');
  });
});

describe('dispatch: checks before a send', () => {
  it('suppresses a marketing message whose consent was withdrawn after the decision; transactional still goes', async () => {
    const t = setup({}, customer({ email: false }));
    const marketing = t.outbox.add('email');
    const transactional = t.outbox.add('email', { transactional: true });
    expect(await t.dispatch(marketing)).toBe('suppressed');
    expect(t.outbox.get(marketing.pk, marketing.sk).failure).toMatch(/^no-consent: /);
    expect(await t.dispatch(transactional)).toBe('sent');
    expect(t.sender.sent).toHaveLength(1);
  });

  it('holds a message until notBefore without claiming it, then sends it', async () => {
    const holds: string[] = [];
    const t = setup({ held: { hold: async (k) => void holds.push(k.notBefore) } });
    const notBefore = new Date(t.now() + 3_600_000).toISOString();
    const key = t.outbox.add('sms', { notBefore });
    expect(await t.dispatch({ ...key, notBefore })).toBe('held');
    expect(holds).toEqual([notBefore]);
    expect(t.outbox.get(key.pk, key.sk).status).toBe('pending');
    t.advance(3_600_000);
    expect(await t.dispatch({ ...key, notBefore })).toBe('sent');
    expect(t.sender.sent).toHaveLength(1);
  });

  it('pauses marketing email while the deliverability guard is closed; transactional and other channels go on', async () => {
    const paused: Assessment = { status: 'paused', code: 'complaint-rate', reason: 'marketing email paused: complaint rate 0.100 % ...', sent: 1000, bounceRate: 0, complaintRate: 0.001 };
    const t = setup({ deliverability: { assess: async () => paused } });
    const marketing = t.outbox.add('email');
    const transactional = t.outbox.add('email', { transactional: true });
    const sms = t.outbox.add('sms');
    expect(await t.dispatch(marketing)).toBe('suppressed');
    expect(t.outbox.get(marketing.pk, marketing.sk).failure).toMatch(/^deliverability-complaint-rate: /);
    expect(t.counts.DeliverabilityPaused).toBe(1);
    expect(await t.dispatch(transactional)).toBe('sent');
    expect(await t.dispatch(sms)).toBe('sent');
  });

  it('never lets concurrent SMS sends pass the monthly budget', async () => {
    let used = 0;
    const budget = {
      monthlyMicros: 50_000,
      costPerPartMicros: 10_000,
      reserve: async (_m: string, micros: number, limit: number) => {
        await new Promise((r) => setTimeout(r, Math.random() * 3));
        if (used + micros > limit) return false;
        used += micros;
        return true;
      },
      refund: async (_m: string, micros: number) => void (used -= micros),
    };
    const t = setup({ smsBudget: budget });
    const keys = Array.from({ length: 12 }, () => t.outbox.add('sms'));
    const outcomes = await Promise.all(keys.map((k) => t.dispatch(k)));
    expect(outcomes.filter((o) => o === 'sent')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'suppressed')).toHaveLength(7);
    expect(used).toBe(50_000);
    // Which seven lose depends on the random delays; each of them says why.
    for (const [i, key] of keys.entries()) {
      if (outcomes[i] === 'suppressed') expect(t.outbox.get(key.pk, key.sk).failure).toContain('sms-budget-spent: the monthly SMS budget of $0.05 is spent');
    }
  });

  it('refunds the SMS budget when the send fails permanently', async () => {
    let used = 0;
    const t = setup({ smsBudget: { monthlyMicros: 10_000, costPerPartMicros: 10_000, reserve: async (_m, n) => ((used += n), true), refund: async (_m, n) => void (used -= n) } });
    t.sender.fail = () => new PermanentSendError('bad number', 'invalid-parameter');
    expect(await t.dispatch(t.outbox.add('sms'))).toBe('failed');
    expect(used).toBe(0);
  });

  it('takes a capacity token per send: 10 e-mails at 2 per second take at least 4 s', async () => {
    let clock = 0;
    const fake = { now: () => clock, sleep: async (ms: number) => void (clock += ms) };
    const t = setup({ capacity: new ChannelCapacity({ email: 2 }, fake) });
    const keys = Array.from({ length: 10 }, () => t.outbox.add('email'));
    await Promise.all(keys.map((k) => t.dispatch(k)));
    expect(t.sender.sent).toHaveLength(10);
    expect(clock).toBeGreaterThanOrEqual(4000);
    expect(clock).toBeLessThan(5000);
  });

  it('fails with a reason when the customer has no address or device for the channel', async () => {
    const state = customer();
    state.devices = [];
    delete state.profile.phone;
    const { IotDeviceSender } = await import('../../lib/adapters/aws/iot.ts');
    const { SnsSmsSender } = await import('../../lib/adapters/aws/sns.ts');
    const t = setup({ senders: { device: new IotDeviceSender({} as never), sms: new SnsSmsSender({} as never) } }, state);
    const device = t.outbox.add('device');
    const sms = t.outbox.add('sms');
    expect(await t.dispatch(device)).toBe('failed');
    expect(await t.dispatch(sms)).toBe('failed');
    expect(t.deadLetters.map((d) => d.code)).toEqual(['no-device', 'no-address']);
  });

  it('passes the bus action and its payload to the bus sender, with no template', async () => {
    const t = setup();
    const key = t.outbox.add('bus', { payload: { list: 'winback' } });
    expect(await t.dispatch(key)).toBe('sent');
    expect(t.sender.sent[0]).toMatchObject({ channel: 'bus', action: 'call', payload: { list: 'winback' } });
  });
});

describe('dispatch: the loyalty statement in templates (docs/loyalty.md)', () => {
  const summary = { programmeId: 'city-rewards', currencyName: 'points', balance: 1240, nextExpiry: { points: 300, on: '2026-03-31' } };

  it('reads the ledger only for a template that names loyalty, and formats it in the customer\'s locale', async () => {
    const reads: { customerId: string; timeZone: string | undefined }[] = [];
    const loyalty: NonNullable<DispatchDeps['loyalty']> = { summaries: async (customerId, opts) => (reads.push({ customerId, timeZone: opts?.timeZone }), [summary]) };
    const state = customer();
    state.profile.locale = { v: 'de-DE', at: '2026-01-01T00:00:00.000Z', ev: 'e1' };
    state.profile.timeZone = { v: 'Europe/Berlin', at: '2026-01-01T00:00:00.000Z', ev: 'e1' };
    const named: Template = { templateId: 't1', channel: 'email', locale: 'de', subject: 'Punkte', text: 'Du hast {{ loyalty.city-rewards.balanceText }} Punkte, {{ loyalty.city-rewards.nextExpiry.pointsText }} verfallen am {{ loyalty.city-rewards.nextExpiry.date }}.' };
    const t = setup({ loyalty, templates: { find: async (_t, channel) => (channel === 'email' ? named : TEMPLATE(channel)) } }, state);
    expect(await t.dispatch(t.outbox.add('email'))).toBe('sent');
    expect(t.sender.sent[0]!.content.text).toBe('Du hast 1.240 Punkte, 300 verfallen am 31. März.');
    expect(reads).toEqual([{ customerId: 'cus-1', timeZone: 'Europe/Berlin' }]);
    // A template that does not name it: no read.
    expect(await t.dispatch(t.outbox.add('sms'))).toBe('sent');
    expect(reads).toHaveLength(1);
  });
});

describe('dispatch: a call checked again at delivery (docs/context.md)', () => {
  const team = (agentsFree: number) => ({ current: async () => ({ inventory: {}, callCentre: { service: { agentsFree, queueLength: 3 } }, promotions: {} }) });
  const quiet = (start: string, end: string) => ({
    current: async () => ({
      campaign: (campaignId: string) => ({ campaignId, enabled: true, priority: 0, policyId: 'calls' }) as never,
      policy: (policyId: string) => ({ policyId, caps: {}, cooldownHours: 0, transactionalExemptions: [], quietHours: { start, end, channels: ['call'], defaultTimeZone: 'UTC' } }) as never,
    }),
  });
  const call = (t: ReturnType<typeof setup>, extra: Record<string, unknown> = {}) =>
    t.outbox.add('call' as Channel, { template: 't1', team: 'service', retryMinutes: 45, createdAt: '2026-03-02T09:30:00.000Z', ...extra });
  const held = { hold: async () => undefined };
  const callable = () => customer({ email: true, call: true } as Partial<Record<Channel, boolean>>);

  it('holds a call again by the rule\'s retry time while its team reports no agent free, then books it once agents are free', async () => {
    let free = 0;
    const t = setup({ senders: { call: new RecordingSender() }, held, context: { current: async () => (await team(free).current()) } }, callable());
    const key = call(t);
    expect(await t.dispatch(key)).toBe('held');
    expect(t.outbox.get(key.pk, key.sk)).toMatchObject({ status: 'pending', notBefore: '2026-03-02T10:45:00.000Z' });
    t.advance(45 * 60_000);
    free = 2;
    expect(await t.dispatch({ ...key, notBefore: '2026-03-02T10:45:00.000Z' })).toBe('sent');
  });

  it('drops a call whose team is still busy a day after the decision, as team-busy', async () => {
    const t = setup({ senders: { call: new RecordingSender() }, held, context: team(0) }, callable());
    const key = call(t, { createdAt: '2026-03-01T09:00:00.000Z' });
    expect(await t.dispatch(key)).toBe('suppressed');
    expect(String(t.outbox.get(key.pk, key.sk).failure)).toMatch(/^team-busy: team service still reports no agent free/);
  });

  it('holds a call that would ring inside quiet hours on the customer\'s clock to the window\'s end', async () => {
    const t = setup({ senders: { call: new RecordingSender() }, held, context: team(3), campaigns: quiet('09:00', '12:00') }, callable());
    const key = call(t);
    expect(await t.dispatch(key)).toBe('held');
    expect(t.outbox.get(key.pk, key.sk).notBefore).toBe('2026-03-02T12:00:00.000Z');
  });

  it('does not ring a customer whose consent to be called was withdrawn meanwhile', async () => {
    const t = setup({ senders: { call: new RecordingSender() }, held, context: team(3) }, customer({ email: true }));
    expect(await t.dispatch(call(t))).toBe('suppressed');
  });
});
