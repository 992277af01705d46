// Baton's local EventBridge Scheduler. Hand-written, as the local bus is: no library or emulator
// (LocalStack's free tier included) runs one-time schedules that fire, so this one answers the
// REST-JSON API the real @aws-sdk/client-scheduler speaks (CreateSchedule, GetSchedule,
// DeleteSchedule, ListSchedules; paths and shapes from the SDK's own serde schema), keeps every
// schedule in a DynamoDB Local table (so waits survive a restart with --persist), and fires each
// `at()` schedule when the local stack's clock reaches it in the schedule's time zone: it hands
// Target.Input to the target the ARN names (the local evaluate queue), retries with backoff per
// the RetryPolicy, then dead-letters; ActionAfterCompletion DELETE removes it once it has fired.
// One-time schedules only: rate() and cron() are refused, FLEXIBLE windows fire at their start.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DeleteCommand, PutCommand, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { Target } from '@aws-sdk/client-scheduler';
import { isTimeZone } from '../lib/core/campaigns/quiet-hours.ts';
import { PARTITION_KEY, SORT_KEY } from '../lib/contract/tables.ts';
import type { LocalClock } from './clock.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './constants.ts';

/** Scheduler's own limits and defaults (CreateSchedule API reference). */
const NAME = /^[0-9a-zA-Z-_.]{1,64}$/;
const DEFAULT_GROUP = 'default';
const DEFAULT_RETRY = { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86_400 };
/** "All schedule types invoke their targets with 60 second precision": later than this is late. */
const PRECISION_MS = 60_000;
const MAX_INPUT_BYTES = 256 * 1024;

/** Where a schedule's Input goes: a target ARN the local stack runs, and what receives it there. */
export type ScheduleTargets = Readonly<Record<string, (input: string) => void | Promise<void>>>;

export interface LocalSchedulerOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly clock: LocalClock;
  readonly db: DynamoDBDocumentClient;
  /** The table that keeps the schedules (local/tables.ts createSchedulesTable). */
  readonly table: string;
  /** The schedule groups that exist besides `default` (the cloud stack creates Baton's). */
  readonly groups: readonly string[];
  readonly targets: ScheduleTargets;
  /** Real milliseconds before retry `attempt` (1, 2, …). @default 100 ms doubling, at most 2 s */
  readonly retryDelayMs?: (attempt: number) => number;
}

/** A schedule as GetSchedule answers it (dates as epoch milliseconds here). */
export interface StoredSchedule {
  readonly Name: string;
  readonly GroupName: string;
  readonly Arn: string;
  readonly ScheduleExpression: string;
  readonly ScheduleExpressionTimezone: string;
  readonly State: 'ENABLED' | 'DISABLED';
  readonly ActionAfterCompletion: 'NONE' | 'DELETE';
  readonly FlexibleTimeWindow: { Mode: 'OFF' | 'FLEXIBLE'; MaximumWindowInMinutes?: number };
  readonly Target: Target;
  readonly Description?: string;
  readonly StartDate?: number;
  readonly EndDate?: number;
  readonly KmsKeyArn?: string;
  readonly CreationDate: number;
  readonly LastModificationDate: number;
  readonly ClientToken?: string;
}

interface Entry {
  readonly schedule: StoredSchedule;
  /** The instant `at()` names in its time zone, epoch ms. */
  readonly dueAt: number;
  /** Set once a one-time schedule with ActionAfterCompletion NONE has fired: it stays, it never fires again. */
  completed?: boolean;
  firing?: boolean;
  attempts: number;
}

export interface TimerDeadLetter {
  readonly scheduleArn: string;
  /** The DeadLetterConfig ARN the schedule named; none: the invocation was dropped, as Scheduler drops it. */
  readonly deadLetterArn?: string;
  readonly input: string;
  readonly attempts: number;
  readonly reason: string;
  readonly at: string;
}

class ApiError extends Error {
  constructor(
    readonly type: 'ValidationException' | 'ConflictException' | 'ResourceNotFoundException' | 'UnknownOperationException' | 'InternalServerException',
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}
const invalid = (message: string) => new ApiError('ValidationException', message, 400);
const notFound = (message: string) => new ApiError('ResourceNotFoundException', message, 404);

const key = (group: string, name: string) => `${group}/${name}`;

export class LocalScheduler {
  /** created/deleted by the API; fired, late (past Scheduler's precision), retried, dead-lettered by the firing. */
  readonly stats = { created: 0, deleted: 0, fired: 0, late: 0, retried: 0, deadLettered: 0, dropped: 0 };
  readonly deadLetters: TimerDeadLetter[] = [];
  private readonly entries = new Map<string, Entry>();
  private readonly groups: Set<string>;
  private server: Server | undefined;
  private cancelTimer: (() => void) | undefined;
  private armedAt: number | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly opts: LocalSchedulerOptions) {
    this.groups = new Set([DEFAULT_GROUP, ...opts.groups]);
  }

  get endpoint(): string {
    const address = this.server?.address();
    const port = address && typeof address === 'object' ? address.port : this.opts.port;
    return `http://127.0.0.1:${port}`;
  }

  /** Schedules waiting for their time (enabled, not yet fired). */
  get waiting(): number {
    let n = 0;
    for (const e of this.entries.values()) if (!e.completed && e.schedule.State === 'ENABLED') n++;
    return n;
  }

  /** Schedules whose time has come that are still being delivered (or retried). */
  get due(): number {
    const now = this.opts.clock.nowMs();
    let n = 0;
    for (const e of this.entries.values()) if (!e.completed && e.schedule.State === 'ENABLED' && e.dueAt <= now) n++;
    return n;
  }

  /** The next time a schedule is due, or undefined. */
  get nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const e of this.entries.values()) {
      if (!e.completed && e.schedule.State === 'ENABLED' && !e.firing && (next === undefined || e.dueAt < next)) next = e.dueAt;
    }
    return next;
  }

  /** Loads the kept schedules (those of a --persist directory) and starts serving and firing. */
  async start(): Promise<void> {
    let ExclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page: ScanCommandOutput = await this.opts.db.send(new ScanCommand({ TableName: this.opts.table, ExclusiveStartKey }));
      for (const item of page.Items ?? []) {
        const schedule = JSON.parse(item.schedule as string) as StoredSchedule;
        this.entries.set(key(schedule.GroupName, schedule.Name), {
          schedule,
          dueAt: item.dueAt as number,
          attempts: 0,
          ...(item.completed ? { completed: true } : {}),
        });
      }
      ExclusiveStartKey = page.LastEvaluatedKey;
    } while (ExclusiveStartKey);

    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await new Promise<void>((ok, fail) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        fail(err.code === 'EADDRINUSE' ? new Error(`port ${this.opts.port} for the local Scheduler is already in use (set BATON_SCHEDULER_PORT)`) : err),
      );
      server.listen(this.opts.port, '127.0.0.1', () => ok());
    });
    this.arm();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer?.();
    for (const t of this.retryTimers) clearTimeout(t);
    await Promise.allSettled([...this.inFlight]);
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }

  /** Resolves once no schedule that is due now is still being delivered. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0 || this.retryTimers.size > 0) await Promise.allSettled([...this.inFlight, new Promise((r) => setTimeout(r, 20))]);
  }

  /** What GET /local/stats shows of the stand-in. */
  figures(): Record<string, unknown> {
    const next = this.nextDueAt;
    return { ...this.stats, waiting: this.waiting, due: this.due, ...(next !== undefined ? { nextDueAt: new Date(next).toISOString() } : {}) };
  }

  // ---- firing ------------------------------------------------------------------------------

  /** One clock timer, at the earliest due schedule; re-armed whenever the schedules change. */
  private arm(): void {
    if (this.stopped) return;
    const next = this.nextDueAt;
    if (next === this.armedAt && this.cancelTimer) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.armedAt = next;
    if (next === undefined) return;
    this.cancelTimer = this.opts.clock.setTimer(next, () => {
      this.cancelTimer = undefined;
      this.armedAt = undefined;
      this.fireDue();
    });
  }

  private fireDue(): void {
    const now = this.opts.clock.nowMs();
    for (const entry of this.entries.values()) {
      if (entry.completed || entry.firing || entry.schedule.State !== 'ENABLED' || entry.dueAt > now) continue;
      entry.firing = true;
      this.track(this.fire(entry));
    }
    this.arm();
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async fire(entry: Entry): Promise<void> {
    const { schedule } = entry;
    const { clock } = this.opts;
    entry.attempts++;
    let failure: string | undefined;
    try {
      const deliver = this.opts.targets[schedule.Target.Arn!];
      if (!deliver) throw new Error('no target with this ARN runs locally');
      await deliver(schedule.Target.Input ?? '{}');
    } catch (err) {
      failure = (err as Error).message;
    }
    if (this.stopped) return;
    if (failure === undefined) {
      this.stats.fired++;
      const lateMs = clock.nowMs() - clock.reachedAt(entry.dueAt);
      // On a fast clock a few real milliseconds are minutes: late means past Scheduler's precision and a real second.
      if (lateMs > PRECISION_MS && lateMs / Math.max(clock.speed, 1) > 1000) this.stats.late++;
      await this.complete(entry);
      return;
    }
    const retry = { ...DEFAULT_RETRY, ...schedule.Target.RetryPolicy };
    const tooOld = clock.nowMs() - entry.dueAt > retry.MaximumEventAgeInSeconds * 1000;
    if (entry.attempts > retry.MaximumRetryAttempts || tooOld) {
      const deadLetterArn = schedule.Target.DeadLetterConfig?.Arn;
      this.deadLetters.push({
        scheduleArn: schedule.Arn,
        ...(deadLetterArn ? { deadLetterArn } : {}),
        input: schedule.Target.Input ?? '{}',
        attempts: entry.attempts,
        reason: tooOld ? `older than the retry policy's MaximumEventAgeInSeconds: ${failure}` : `failed ${entry.attempts} times: ${failure}`,
        at: clock.now().toISOString(),
      });
      if (deadLetterArn) this.stats.deadLettered++;
      else this.stats.dropped++;
      await this.complete(entry);
      return;
    }
    this.stats.retried++;
    const delay = (this.opts.retryDelayMs ?? ((n) => Math.min(2000, 100 * 2 ** (n - 1))))(entry.attempts);
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      if (this.entries.get(key(schedule.GroupName, schedule.Name)) === entry) this.track(this.fire(entry));
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** After the one invocation: DELETE removes the schedule; NONE keeps it, done. */
  private async complete(entry: Entry): Promise<void> {
    const { schedule } = entry;
    const k = key(schedule.GroupName, schedule.Name);
    if (this.entries.get(k) !== entry) return; // deleted (or replaced) meanwhile
    try {
      if (schedule.ActionAfterCompletion === 'DELETE') await this.forget(schedule.GroupName, schedule.Name);
      else {
        entry.completed = true;
        await this.keep(entry);
      }
    } catch (err) {
      // The table was unreachable: keep it in memory as done; it fires again after a restart, at least once.
      console.error(`local Scheduler: could not record that a schedule fired (${(err as Error).name})`);
      if (schedule.ActionAfterCompletion === 'DELETE') this.entries.delete(k);
      else entry.completed = true;
    }
    entry.firing = false;
  }

  // ---- storage -----------------------------------------------------------------------------

  private async keep(entry: Entry, { create = false } = {}): Promise<void> {
    const { schedule } = entry;
    await this.opts.db.send(
      new PutCommand({
        TableName: this.opts.table,
        Item: { [PARTITION_KEY]: schedule.GroupName, [SORT_KEY]: schedule.Name, schedule: JSON.stringify(schedule), dueAt: entry.dueAt, ...(entry.completed ? { completed: true } : {}) },
        ...(create ? { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': PARTITION_KEY } } : {}),
      }),
    );
    this.entries.set(key(schedule.GroupName, schedule.Name), entry);
  }

  private async forget(group: string, name: string): Promise<void> {
    await this.opts.db.send(new DeleteCommand({ TableName: this.opts.table, Key: { [PARTITION_KEY]: group, [SORT_KEY]: name } }));
    this.entries.delete(key(group, name));
  }

  // ---- the API -----------------------------------------------------------------------------

  private async create(name: string, body: Record<string, unknown>): Promise<{ ScheduleArn: string }> {
    validName(name);
    const group = groupOf(body.GroupName);
    if (!this.groups.has(group)) throw notFound(`Schedule group ${group} does not exist.`);
    const existing = this.entries.get(key(group, name));
    if (existing) {
      // The SDK sends the same ClientToken when it retries a call: the schedule it made is the answer.
      if (typeof body.ClientToken === 'string' && existing.schedule.ClientToken === body.ClientToken) return { ScheduleArn: existing.schedule.Arn };
      throw new ApiError('ConflictException', `Schedule ${name} already exists.`, 409);
    }
    const timeZone = body.ScheduleExpressionTimezone ?? 'UTC';
    if (typeof timeZone !== 'string' || !isTimeZone(timeZone)) {
      throw invalid('ScheduleExpressionTimezone: expected an IANA time zone such as Europe/Paris or UTC');
    }
    const expression = body.ScheduleExpression;
    if (typeof expression !== 'string') throw invalid('ScheduleExpression: expected at(yyyy-mm-ddThh:mm:ss)');
    const dueAt = atInstant(expression, timeZone);
    const window = flexibleWindow(body.FlexibleTimeWindow);
    const target = this.target(body.Target);
    const state = body.State ?? 'ENABLED';
    if (state !== 'ENABLED' && state !== 'DISABLED') throw invalid('State: expected ENABLED or DISABLED');
    const after = body.ActionAfterCompletion ?? 'NONE';
    if (after !== 'NONE' && after !== 'DELETE') throw invalid('ActionAfterCompletion: expected NONE or DELETE');
    const now = this.opts.clock.nowMs();
    const schedule: StoredSchedule = {
      Name: name,
      GroupName: group,
      Arn: `arn:aws:scheduler:${LOCAL_REGION}:${LOCAL_ACCOUNT}:schedule/${group}/${name}`,
      ScheduleExpression: expression,
      ScheduleExpressionTimezone: timeZone,
      State: state,
      ActionAfterCompletion: after,
      FlexibleTimeWindow: window,
      Target: target,
      ...(typeof body.Description === 'string' ? { Description: body.Description } : {}),
      ...(typeof body.StartDate === 'number' ? { StartDate: body.StartDate * 1000 } : {}),
      ...(typeof body.EndDate === 'number' ? { EndDate: body.EndDate * 1000 } : {}),
      ...(typeof body.KmsKeyArn === 'string' ? { KmsKeyArn: body.KmsKeyArn } : {}),
      ...(typeof body.ClientToken === 'string' ? { ClientToken: body.ClientToken } : {}),
      CreationDate: now,
      LastModificationDate: now,
    };
    try {
      await this.keep({ schedule, dueAt, attempts: 0 }, { create: true });
    } catch (err) {
      // Another request made it between the check and the write.
      if ((err as { name?: string }).name === 'ConditionalCheckFailedException') throw new ApiError('ConflictException', `Schedule ${name} already exists.`, 409);
      throw err;
    }
    this.stats.created++;
    this.arm();
    return { ScheduleArn: schedule.Arn };
  }

  private target(raw: unknown): Target {
    if (!raw || typeof raw !== 'object') throw invalid('Target: expected an object with Arn and RoleArn');
    const t = raw as Target;
    if (typeof t.Arn !== 'string' || !t.Arn) throw invalid('Target.Arn: expected the ARN of the target');
    if (typeof t.RoleArn !== 'string' || !/^arn:aws[\w-]*:iam::\d{12}:role\/.+$/.test(t.RoleArn)) {
      throw invalid('Target.RoleArn: expected the ARN of an IAM role, such as arn:aws:iam::000000000000:role/scheduler');
    }
    if (!this.opts.targets[t.Arn]) {
      throw invalid(`Target.Arn: expected a target the local stack runs (${Object.keys(this.opts.targets).join(', ') || 'none'})`);
    }
    if (t.Input !== undefined && (typeof t.Input !== 'string' || Buffer.byteLength(t.Input) > MAX_INPUT_BYTES)) {
      throw invalid(`Target.Input: expected text of at most ${MAX_INPUT_BYTES} bytes`);
    }
    const retry = t.RetryPolicy;
    if (retry) {
      const attempts = retry.MaximumRetryAttempts;
      const age = retry.MaximumEventAgeInSeconds;
      if (attempts !== undefined && (!Number.isInteger(attempts) || attempts < 0 || attempts > 185)) {
        throw invalid('Target.RetryPolicy.MaximumRetryAttempts: expected a whole number from 0 to 185');
      }
      if (age !== undefined && (!Number.isInteger(age) || age < 60 || age > 86_400)) {
        throw invalid('Target.RetryPolicy.MaximumEventAgeInSeconds: expected a whole number of seconds from 60 to 86400');
      }
    }
    const dlq = t.DeadLetterConfig?.Arn;
    if (dlq !== undefined && !/^arn:aws[\w-]*:sqs:[a-z0-9-]+:\d{12}:.+$/.test(dlq)) {
      throw invalid('Target.DeadLetterConfig.Arn: expected the ARN of an SQS queue');
    }
    return t;
  }

  private entry(name: string, query: URLSearchParams): Entry {
    validName(name);
    const group = groupOf(query.get('groupName') ?? undefined);
    if (!this.groups.has(group)) throw notFound(`Schedule group ${group} does not exist.`);
    const entry = this.entries.get(key(group, name));
    if (!entry) throw notFound(`Schedule ${name} does not exist.`);
    return entry;
  }

  private list(query: URLSearchParams): { Schedules: unknown[]; NextToken?: string } {
    const group = query.get('ScheduleGroup');
    const prefix = query.get('NamePrefix') ?? '';
    const state = query.get('State');
    const max = Number(query.get('MaxResults') ?? 100);
    if (!Number.isInteger(max) || max < 1 || max > 100) throw invalid('MaxResults: expected a whole number from 1 to 100');
    const token = query.get('NextToken');
    const after = token ? Buffer.from(token, 'base64url').toString('utf8') : '';
    const all = [...this.entries.entries()]
      .filter(([k, e]) => k > after && (!group || e.schedule.GroupName === group) && e.schedule.Name.startsWith(prefix) && (!state || e.schedule.State === state))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    const page = all.slice(0, max);
    const last = page.length === max && all.length > max ? page[page.length - 1]![0] : undefined;
    return {
      Schedules: page.map(([, { schedule: s }]) => ({
        Arn: s.Arn,
        Name: s.Name,
        GroupName: s.GroupName,
        State: s.State,
        CreationDate: s.CreationDate / 1000,
        LastModificationDate: s.LastModificationDate / 1000,
        Target: { Arn: s.Target.Arn },
      })),
      ...(last ? { NextToken: Buffer.from(last).toString('base64url') } : {}),
    };
  }

  private async route(req: IncomingMessage, body: string): Promise<unknown> {
    const url = new URL(req.url ?? '/', 'http://local');
    const path = url.pathname;
    if (path === '/schedules' && req.method === 'GET') return this.list(url.searchParams);
    const match = /^\/schedules\/([^/]+)$/.exec(path);
    if (!match) throw new ApiError('UnknownOperationException', `the local Scheduler answers CreateSchedule, GetSchedule, DeleteSchedule and ListSchedules; not ${req.method} ${path.split('/').slice(0, 2).join('/')}`, 404);
    const name = decodeURIComponent(match[1]!);
    if (req.method === 'POST') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body || '{}');
      } catch {
        throw invalid('body: expected JSON');
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid('body: expected a JSON object');
      return this.create(name, parsed as Record<string, unknown>);
    }
    if (req.method === 'GET') return describe(this.entry(name, url.searchParams).schedule);
    if (req.method === 'DELETE') {
      const { schedule } = this.entry(name, url.searchParams);
      await this.forget(schedule.GroupName, schedule.Name);
      this.stats.deleted++;
      this.arm();
      return {};
    }
    throw new ApiError('UnknownOperationException', `the local Scheduler does not answer ${req.method} on a schedule (UpdateSchedule is not supported)`, 404);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const out = await this.route(req, Buffer.concat(chunks).toString('utf8'));
      send(res, 200, out);
    } catch (err) {
      if (err instanceof ApiError) {
        res.setHeader('x-amzn-ErrorType', err.type);
        send(res, err.status, { Message: err.message });
      } else {
        // The error's name only: messages may quote a schedule's Input, which names a customer.
        console.error(`local Scheduler: ${req.method} request failed (${(err as Error).name})`);
        res.setHeader('x-amzn-ErrorType', 'InternalServerException');
        send(res, 500, { Message: 'the local Scheduler failed; see its log' });
      }
    }
  }
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function validName(name: string): void {
  if (!NAME.test(name)) throw invalid('Name: expected 1 to 64 letters, digits, hyphens, underscores or dots');
}

function groupOf(raw: unknown): string {
  if (raw === undefined || raw === '') return DEFAULT_GROUP;
  if (typeof raw !== 'string' || !NAME.test(raw)) throw invalid('GroupName: expected 1 to 64 letters, digits, hyphens, underscores or dots');
  return raw;
}

function flexibleWindow(raw: unknown): StoredSchedule['FlexibleTimeWindow'] {
  const w = raw as { Mode?: unknown; MaximumWindowInMinutes?: unknown } | undefined;
  if (w?.Mode === 'OFF') return { Mode: 'OFF' };
  if (w?.Mode === 'FLEXIBLE') {
    const minutes = w.MaximumWindowInMinutes;
    if (typeof minutes !== 'number' || !Number.isInteger(minutes) || minutes < 1 || minutes > 1440) {
      throw invalid('FlexibleTimeWindow.MaximumWindowInMinutes: expected a whole number of minutes from 1 to 1440 with Mode FLEXIBLE');
    }
    return { Mode: 'FLEXIBLE', MaximumWindowInMinutes: minutes };
  }
  throw invalid('FlexibleTimeWindow.Mode: expected OFF or FLEXIBLE');
}

/** GetSchedule's answer: the stored schedule, dates in epoch seconds as REST-JSON carries them. */
function describe(s: StoredSchedule): Record<string, unknown> {
  const { ClientToken: _token, CreationDate, LastModificationDate, StartDate, EndDate, ...rest } = s;
  return {
    ...rest,
    CreationDate: CreationDate / 1000,
    LastModificationDate: LastModificationDate / 1000,
    ...(StartDate !== undefined ? { StartDate: StartDate / 1000 } : {}),
    ...(EndDate !== undefined ? { EndDate: EndDate / 1000 } : {}),
  };
}

const AT = /^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$/;
const formatters = new Map<string, Intl.DateTimeFormat>();

/** Wall clock of `timeZone` at `ms`, read as if it were UTC, minus `ms`: the zone's offset. */
function offsetAt(timeZone: string, ms: number): number {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(ms).map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant `at(yyyy-mm-ddThh:mm:ss)` names on the wall clock of `timeZone`. A time the clock
 * passes twice (autumn) is its first pass; a time it skips (spring) is as far past the jump as it
 * was past the last time before it, as Scheduler runs such schedules.
 */
export function atInstant(expression: string, timeZone: string): number {
  if (/^(rate|cron)\(/.test(expression)) {
    throw invalid('ScheduleExpression: the local Scheduler runs one-time schedules only; expected at(yyyy-mm-ddThh:mm:ss), not rate() or cron()');
  }
  const m = AT.exec(expression);
  if (!m) throw invalid('ScheduleExpression: expected at(yyyy-mm-ddThh:mm:ss), such as at(2030-01-31T09:00:00)');
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const wall = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(wall);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw invalid('ScheduleExpression: expected at() to name a real date and time, such as at(2030-01-31T09:00:00)');
  }
  const before = offsetAt(timeZone, wall - 86_400_000);
  const after = offsetAt(timeZone, wall + 86_400_000);
  const fits = [wall - before, wall - after].filter((t) => wall - offsetAt(timeZone, t) === t).sort((a, b) => a - b);
  return fits[0] ?? wall - before;
}
