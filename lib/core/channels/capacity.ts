// Channel capacity: a token bucket per channel per function instance. Dispatch takes a token
// before each send and waits when the bucket is empty, so one instance never sends faster than
// its share of the channel's rate. The stack's reserved concurrency bounds the instances, so the
// channel's whole rate is `perInstance × concurrency` (docs/channels.md, "Capacity").
import type { Channel } from '../../../events/catalog.ts';

export type ChannelRates = Partial<Record<Channel | 'bus', number>>;

/**
 * Messages per second per instance when nothing is configured: SES's production default is 14/s
 * for the account and dispatch runs at most 5 instances; an SNS toll-free number sends 3/s. A call
 * is one bus entry: the team's live capacity (context) throttles calls, not this bucket.
 */
export const DEFAULT_RATES: Required<ChannelRates> = { email: 2.8, sms: 0.6, push: 20, device: 20, call: 20, bus: 50 };

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}
export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  /** `rate` tokens per second, at most `burst` saved up (default: one second's worth, at least 1). */
  constructor(
    readonly rate: number,
    readonly burst = Math.max(1, rate),
    private readonly clock: Clock = realClock,
  ) {
    if (!(rate > 0)) throw new RangeError(`rate is ${rate}; expected a positive number of messages per second`);
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Resolves when a token is taken; callers are served in order. Returns how long it waited (ms). */
  take(): Promise<number> {
    const next = this.queue.then(() => this.takeNow());
    this.queue = next.then(() => undefined);
    return next;
  }

  private async takeNow(): Promise<number> {
    let waited = 0;
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return waited;
      }
      const ms = Math.ceil(((1 - this.tokens) / this.rate) * 1000);
      waited += ms;
      await this.clock.sleep(ms);
    }
  }
}

/** One bucket per channel. */
export class ChannelCapacity {
  private readonly buckets = new Map<string, TokenBucket>();
  constructor(
    private readonly rates: ChannelRates = {},
    private readonly clock: Clock = realClock,
  ) {}

  take(channel: Channel | 'bus'): Promise<number> {
    let b = this.buckets.get(channel);
    if (!b) this.buckets.set(channel, (b = new TokenBucket(this.rates[channel] ?? DEFAULT_RATES[channel], undefined, this.clock)));
    return b.take();
  }
}
