// Fault injection for the ingest path: decorators that make a customer repository or a quarantine
// store fail the way DynamoDB and Lambda do, deterministically from a seed.
//  - throttling: an error named like the SDK's (`ProvisionedThroughputExceededException`,
//    `ThrottlingException`) thrown BEFORE the inner call, so nothing was written;
//  - crashes at every step: before/after resolve, before/after load, before/after commit (and the
//    same for markSeen and erase). A crash AFTER a write means the write happened but the caller
//    saw an error, as when a Lambda times out after DynamoDB answered.
// The ingest path must let each of them fail the record (SQS redelivers it) and lose nothing.
//  - FaultyDynamo: crashes before or after any one call a repository makes to DynamoDB, for the
//    steps inside one repository method (an erasure's tombstones, deletes and transaction).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CommitResult, CustomerRepository, Erasure, ProfileChange, QuarantinedEvent, QuarantineStore, Resolution, StoredProfile } from '../../lib/app/ports.ts';
import type { IdRef } from '../../lib/core/customer/identity.ts';

export const FAULT_POINTS = [
  'before-resolve',
  'after-resolve',
  'before-load',
  'after-load',
  'before-commit',
  'after-commit',
  'before-mark-seen',
  'after-mark-seen',
  'before-erase',
  'after-erase',
] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

export const THROTTLING_ERROR_NAMES = ['ProvisionedThroughputExceededException', 'ThrottlingException'] as const;

/** A crash the test injected (not a bug): the record fails and SQS delivers it again. */
export class InjectedCrash extends Error {
  override readonly name = 'InjectedCrash';
  constructor(readonly point: FaultPoint | 'quarantine-put' | `${'before' | 'after'} DynamoDB call ${number}`) {
    super(`injected crash at ${point}`);
  }
}

/** An error shaped like the AWS SDK's throttling errors (name, `$retryable`, `$metadata`). */
export class InjectedThrottling extends Error {
  readonly $retryable = { throttling: true };
  readonly $metadata = { httpStatusCode: 400, attempts: 1 };
  constructor(
    override readonly name: (typeof THROTTLING_ERROR_NAMES)[number],
    readonly operation: string,
  ) {
    super(`${name}: rate of requests exceeded (injected before ${operation})`);
  }
}

/** mulberry32: a tiny seeded PRNG, so a seed reproduces the same faults call for call. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface FaultOptions {
  /** Seeds every random choice (which call fails, with what). */
  readonly seed: number;
  /** Probability that a call throws a throttling error before reaching the inner repository. Default 0. */
  readonly throttle?: number;
  /** Probability of a crash at each point; a number applies to every point. Default 0. */
  readonly crash?: number | Partial<Record<FaultPoint, number>>;
  /**
   * Up to this many extra microtask hops (drawn from the seed) before each inner call, so parallel
   * ingests interleave differently from run to run yet reproducibly. Default 0.
   */
  readonly jitter?: number;
}

export type FaultCounts = Record<FaultPoint | 'throttle', number>;

const zeroCounts = (): FaultCounts =>
  Object.fromEntries([...FAULT_POINTS, 'throttle'].map((k) => [k, 0])) as FaultCounts;

/** Shared by both decorators: the seeded dice, the one-shot faults armed by a test, the tallies. */
class FaultDice {
  readonly random: () => number;
  readonly injected: FaultCounts = zeroCounts();
  private readonly crashRates: Partial<Record<FaultPoint, number>>;
  private readonly armed = new Map<FaultPoint | 'throttle', number>();
  /** Off: every call goes straight through (e.g. to drain a queue at the end). */
  enabled = true;

  constructor(private readonly options: FaultOptions) {
    this.random = prng(options.seed);
    const crash = options.crash ?? 0;
    this.crashRates = typeof crash === 'number' ? Object.fromEntries(FAULT_POINTS.map((p) => [p, crash])) : crash;
  }

  arm(point: FaultPoint | 'throttle', times = 1): void {
    this.armed.set(point, (this.armed.get(point) ?? 0) + times);
  }

  private takeArmed(point: FaultPoint | 'throttle'): boolean {
    const left = this.armed.get(point) ?? 0;
    if (left === 0) return false;
    this.armed.set(point, left - 1);
    return true;
  }

  async pause(): Promise<void> {
    const hops = Math.floor(this.random() * ((this.options.jitter ?? 0) + 1));
    for (let i = 0; i < hops; i++) await Promise.resolve();
  }

  throttle(operation: string): void {
    if (this.takeArmed('throttle') || (this.enabled && this.random() < (this.options.throttle ?? 0))) {
      this.injected.throttle++;
      throw new InjectedThrottling(THROTTLING_ERROR_NAMES[this.random() < 0.5 ? 0 : 1], operation);
    }
  }

  crash(point: FaultPoint): void {
    if (this.takeArmed(point) || (this.enabled && this.random() < (this.crashRates[point] ?? 0))) {
      this.injected[point]++;
      throw new InjectedCrash(point);
    }
  }
}

/** A CustomerRepository that throttles and crashes at every step, reproducibly from a seed. */
export class FaultyCustomerRepository<S> implements CustomerRepository<S> {
  private readonly dice: FaultDice;

  constructor(
    private readonly inner: CustomerRepository<S>,
    options: FaultOptions,
  ) {
    this.dice = new FaultDice(options);
  }

  /** How many faults of each kind were injected so far. */
  get injected(): Readonly<FaultCounts> {
    return this.dice.injected;
  }
  get enabled(): boolean {
    return this.dice.enabled;
  }
  set enabled(on: boolean) {
    this.dice.enabled = on;
  }
  /** Makes the next call(s) at `point` fail, whatever the dice say (and even when disabled). */
  arm(point: FaultPoint | 'throttle', times = 1): void {
    this.dice.arm(point, times);
  }

  resolve(ids: readonly IdRef[]): Promise<Resolution> {
    return this.around('resolve', 'before-resolve', 'after-resolve', () => this.inner.resolve(ids));
  }
  load(customerId: string): Promise<StoredProfile<S> | undefined> {
    return this.around('load', 'before-load', 'after-load', () => this.inner.load(customerId));
  }
  commit(change: ProfileChange<S>): Promise<CommitResult> {
    return this.around('commit', 'before-commit', 'after-commit', () => this.inner.commit(change));
  }
  markSeen(eventId: string, payloadHash: string, outcome: string): Promise<CommitResult> {
    return this.around('markSeen', 'before-mark-seen', 'after-mark-seen', () => this.inner.markSeen(eventId, payloadHash, outcome));
  }
  erase(erasure: Erasure): Promise<CommitResult> {
    return this.around('erase', 'before-erase', 'after-erase', () => this.inner.erase(erasure));
  }

  private async around<T>(operation: string, before: FaultPoint, after: FaultPoint, call: () => Promise<T>): Promise<T> {
    await this.dice.pause();
    this.dice.crash(before);
    this.dice.throttle(operation);
    const result = await call();
    await this.dice.pause();
    // The inner call is done (a write is durable): the caller still sees an error.
    this.dice.crash(after);
    return result;
  }
}

/** A QuarantineStore that fails before `put` (nothing stored), throttling or crashing. */
export class FaultyQuarantine implements QuarantineStore {
  private readonly dice: FaultDice;
  readonly failures = { throttle: 0, crash: 0 };

  constructor(
    private readonly inner: QuarantineStore,
    private readonly options: { seed: number; fail: number },
  ) {
    this.dice = new FaultDice({ seed: options.seed });
  }

  get enabled(): boolean {
    return this.dice.enabled;
  }
  set enabled(on: boolean) {
    this.dice.enabled = on;
  }

  async put(entry: QuarantinedEvent): Promise<void> {
    if (this.dice.enabled && this.dice.random() < this.options.fail) {
      if (this.dice.random() < 0.5) {
        this.failures.throttle++;
        throw new InjectedThrottling('ThrottlingException', 'quarantine put');
      }
      this.failures.crash++;
      throw new InjectedCrash('quarantine-put');
    }
    return this.inner.put(entry);
  }

  async withdraw(entry: QuarantinedEvent): Promise<void> {
    return this.inner.withdraw(entry);
  }
}

/** One call a repository made to DynamoDB while watched: the command and the item kinds it touches. */
export interface DynamoStep {
  readonly index: number;
  /** e.g. `TransactWriteCommand Put EVT, Delete CUS` (key prefixes only, never a key's value). */
  readonly step: string;
}

type Sendable = { constructor: { name: string }; input?: Record<string, unknown> };

/** The key prefixes (`EVT`, `ID`, ...) of the items a command names, for naming the step. */
function describeStep(command: Sendable): string {
  const input = (command.input ?? {}) as Record<string, unknown>;
  const prefix = (key: unknown) => String((key as { pk?: unknown } | undefined)?.pk ?? '?').split('#')[0]!;
  const parts: string[] = [];
  for (const t of (input.TransactItems as Record<string, { Key?: unknown; Item?: unknown }>[] | undefined) ?? []) {
    for (const [op, v] of Object.entries(t)) parts.push(`${op} ${prefix(v.Key ?? v.Item)}`);
  }
  for (const requests of Object.values((input.RequestItems as Record<string, unknown[] | { Keys: unknown[] }>) ?? {})) {
    const list = Array.isArray(requests) ? requests : requests.Keys;
    const kinds = new Set(list.map((r) => {
      const w = r as { PutRequest?: { Item: unknown }; DeleteRequest?: { Key: unknown } };
      return w.PutRequest ? `Put ${prefix(w.PutRequest.Item)}` : w.DeleteRequest ? `Delete ${prefix(w.DeleteRequest.Key)}` : `Get ${prefix(r)}`;
    }));
    parts.push(`${[...kinds].join('/')} ×${list.length}`);
  }
  if (input.Key ?? input.Item) parts.push(prefix(input.Key ?? input.Item));
  if (input.IndexName) parts.push(`index ${String(input.IndexName)}`);
  return [command.constructor.name, parts.join(', ')].filter(Boolean).join(' ');
}

/**
 * Fault points inside repository methods: wraps a DynamoDB document client, numbers the calls made
 * while watched, and crashes once at a chosen call, before it is sent (nothing written) or after it
 * answered (written, but the caller sees an error, as when a Lambda times out right then).
 */
export class FaultyDynamo {
  readonly client: DynamoDBDocumentClient;
  readonly steps: DynamoStep[] = [];
  private watching = false;
  private crash: { index: number; when: 'before' | 'after' } | undefined;

  constructor(inner: DynamoDBDocumentClient) {
    const send = (command: Sendable) => this.send(inner, command);
    this.client = new Proxy(inner, { get: (target, prop, receiver) => (prop === 'send' ? send : Reflect.get(target, prop, receiver)) });
  }

  /** Numbers the calls from 0 again; with `crash`, the call at that index fails once. */
  watch(crash?: { index: number; when: 'before' | 'after' }): void {
    this.steps.length = 0;
    this.watching = true;
    this.crash = crash;
  }

  /** Calls go straight through again; returns the steps seen while watched. */
  stop(): DynamoStep[] {
    this.watching = false;
    this.crash = undefined;
    return [...this.steps];
  }

  private async send(inner: DynamoDBDocumentClient, command: Sendable): Promise<unknown> {
    if (!this.watching) return inner.send(command as never);
    const index = this.steps.length;
    this.steps.push({ index, step: describeStep(command) });
    const planned = this.crash?.index === index ? this.crash.when : undefined;
    if (planned === 'before') {
      this.crash = undefined;
      throw new InjectedCrash(`before DynamoDB call ${index}`);
    }
    const out = await inner.send(command as never);
    if (planned === 'after') {
      this.crash = undefined;
      throw new InjectedCrash(`after DynamoDB call ${index}`);
    }
    return out;
  }
}
