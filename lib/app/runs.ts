// Outbound runs (docs/campaigns.md): a campaign sent to every member of a segment. The run pages
// the membership bucket by bucket and decides each member through the same decision step as live
// events (lib/app/decide-and-commit.ts: consent, caps, quiet hours in the member's zone with
// deferral, cooldown, budget, capacity, holdout, priority). Each decision is keyed by run and
// customer (its event id), and the event marker, the decision and the run's count commit in one
// transaction: after a crash the run resumes at its last checkpoint and members decided since are
// duplicates, never decided or counted twice. A checkpoint is saved after each fully decided page.
import { randomUUID } from 'node:crypto';
import { payloadHash } from '../core/customer/identity.ts';
import { customerView, type CustomerState } from '../core/customer/index.ts';
import { TokenBucket, type Clock } from '../core/channels/capacity.ts';
import { dueAt, move, newRun, nextPass, pace, placeInPass, runEvent, runMemberEventId, RunError, tallyOf, type BucketCheckpoint, type Run, type RunCounts, type RunRequest, type Tally } from '../core/runs/run.ts';
import { AGAIN, assembleProfile, createDecisionStep, type DecisionStep } from './decide-and-commit.ts';
import type { JourneyStep } from './journeys.ts';
import type { CampaignSource, CustomerRepository, Metrics, RuleSource, RunQueue, RunRepository, SegmentMemberPages, SegmentSource } from './ports.ts';

export interface RunDeps {
  readonly runs: RunRepository;
  readonly members: SegmentMemberPages;
  readonly customers: CustomerRepository<CustomerState>;
  readonly rules: RuleSource;
  readonly campaigns?: CampaignSource;
  readonly segments?: SegmentSource;
  readonly journeys?: JourneyStep;
  readonly metrics: Metrics;
  readonly clock: () => Date;
  /** Sleeps on the same clock (the local stack's may run faster than real time). */
  readonly sleep: (ms: number) => Promise<void>;
  /** Members decided at once per bucket, and buckets paged at once. @default 8 and 4 */
  readonly concurrency?: number;
  readonly parallelBuckets?: number;
  readonly pageSize?: number;
  readonly newRunId?: () => string;
}

/** What one member came to in a pass. */
type MemberOutcome = { readonly kind: 'decided'; readonly tally: Tally } | { readonly kind: 'duplicate' } | { readonly kind: 'earlier-pass' } | { readonly kind: 'later'; readonly due: number };

export interface RunStatus {
  readonly run: Run;
  readonly counts: RunCounts;
  /** Members in the segment now (its sharded count), when known. */
  readonly members?: number;
}

/** How a cloud worker works on a run: under a lease, and until a deadline (its Lambda's time). */
export interface WorkOptions {
  /** Takes the run's lease as this holder (renewed at every page); without it no lease is taken. */
  readonly holder?: string;
  readonly leaseMs?: number;
  /** Stops at the first page boundary after this time (epoch ms of the real clock). */
  readonly deadlineMs?: number;
}

export interface Runs {
  start(request: RunRequest): Promise<Run>;
  status(runId: string): Promise<RunStatus>;
  list(): Promise<Run[]>;
  control(runId: string, command: 'pause' | 'resume' | 'cancel'): Promise<Run>;
  /**
   * Works on the run until it is done, paused or cancelled, or its next pass is not due yet.
   * Safe to call again at any time (after a crash): it carries on from the checkpoints.
   */
  work(runId: string, options?: WorkOptions): Promise<Run | undefined>;
}

export function createRuns(deps: RunDeps): Runs {
  const step = createDecisionStep({
    customers: deps.customers,
    rules: deps.rules,
    ...(deps.campaigns ? { campaigns: deps.campaigns } : {}),
    ...(deps.segments ? { segments: deps.segments } : {}),
    ...(deps.journeys ? { journeys: deps.journeys } : {}),
    metrics: deps.metrics,
    clock: deps.clock,
    sleep: deps.sleep,
    maxAttempts: 12,
    maxPauseMs: 1000,
  });
  const clock: Clock = { now: () => deps.clock().getTime(), sleep: deps.sleep };

  const mustGet = (runId: string) => getRun(deps.runs, runId);

  const control = runControl(deps);
  return {
    ...control,

    async work(runId, options = {}) {
      const leased = async () => !options.holder || deps.runs.lease(runId, options.holder, Date.now() + (options.leaseMs ?? 120_000), Date.now());
      if (!(await leased())) return deps.runs.get(runId);
      let run = await deps.runs.get(runId);
      while (run) {
        if (run.state === 'scheduled') {
          if (run.pass.at > clock.now()) return run;
          run = await deps.runs.transition(runId, ['scheduled'], 'running');
          continue;
        }
        if (run.state !== 'running' || run.pass.at > clock.now()) return run;
        const finished = await workPass(run, async () => (options.deadlineMs !== undefined && Date.now() > options.deadlineMs) || !(await leased()));
        if (!finished) return deps.runs.get(runId);
        const after = await mustGet(runId);
        if (after.state !== 'running' || after.pass.at !== run.pass.at) {
          run = after;
          continue;
        }
        // Every bucket is done: the next pass (local-time runs, a zone whose time is still to come) or the end.
        const pass = nextPass(after);
        run = pass
          ? await deps.runs.transition(runId, ['running'], 'running', { pass, buckets: after.buckets.map(() => ({ done: false })) })
          : await deps.runs.transition(runId, ['running'], 'done', { finishedAt: deps.clock().toISOString() });
        if (!pass && run) deps.metrics.count('RunsDone');
      }
      return run;
    },
  };

  /** One pass over every bucket; false when the run stopped being this pass's (paused, cancelled). */
  async function workPass(run: Run, timeUp: () => Promise<boolean>): Promise<boolean> {
    const book = await step.book();
    const campaign = book.campaigns.campaign(run.campaignId);
    const fallbackZone = book.campaigns.policy(campaign.policyId).quietHours?.defaultTimeZone ?? 'UTC';
    const rate = pace(run, campaign);
    const tokens = new TokenBucket(rate, Math.max(1, Math.min(rate, 50)), clock);
    const pending = run.buckets.map((b, i) => ({ b, i })).filter(({ b }) => !b.done);
    let stopped = false;
    const nextBucket = async (): Promise<void> => {
      for (let next = pending.shift(); next && !stopped; next = pending.shift()) {
        let checkpoint: BucketCheckpoint = next.b;
        while (!checkpoint.done && !stopped) {
          const current = await deps.runs.get(run.runId);
          if (!current || current.state !== 'running' || current.pass.at !== run.pass.at || (await timeUp())) {
            stopped = true;
            break;
          }
          // No rule matches the run's event (not written yet, or not in this process's cached rules yet):
          // deciding now would only suppress everyone. The run waits and the worker tries again.
          if ((await step.book()).rules.matching(runEvent(run, '-', new Date(clock.now()))).length === 0) {
            stopped = true;
            break;
          }
          const page = await deps.members.page(run.segmentId, next.i, checkpoint.cursor, deps.pageSize ?? 100);
          const outcomes = await pool(page.customerIds, deps.concurrency ?? 8, async (customerId) => {
            await tokens.take();
            return decideMember(step, run, customerId, fallbackZone);
          });
          const later = outcomes.filter((o): o is Extract<MemberOutcome, { kind: 'later' }> => o.kind === 'later').map((o) => o.due);
          const nextDue = Math.min(checkpoint.nextDue ?? Infinity, ...later);
          checkpoint = { done: page.cursor === undefined, ...(page.cursor ? { cursor: page.cursor } : {}), ...(Number.isFinite(nextDue) ? { nextDue } : {}) };
          if (!(await deps.runs.checkpoint(run.runId, run.pass.at, next.i, checkpoint))) stopped = true;
          deps.metrics.count('RunMembersDecided', outcomes.filter((o) => o.kind === 'decided').length);
        }
      }
    };
    await Promise.all(Array.from({ length: deps.parallelBuckets ?? 4 }, nextBucket));
    return !stopped;
  }

  /** Decides one member through the decision step, once per run: a second time is a duplicate. */
  async function decideMember(decisionStep: DecisionStep, run: Run, customerId: string, fallbackZone: string): Promise<MemberOutcome> {
    const eventId = runMemberEventId(run.runId, customerId);
    return decisionStep.run<MemberOutcome>(
      async (attempt) => {
        // The member is named by customerId (no external id to resolve), like a journey's timer.
        const read = await assembleProfile(deps.customers, [], { links: new Map(), erased: false }, { tagged: customerId });
        if (read.status === 'moved') return AGAIN;
        if (read.status !== 'found') {
          // Erased or merged away since the membership page was read: counted, nothing decided.
          await deps.runs.tallyAlone(run.runId, customerId, 'suppressed:no-profile');
          return { kind: 'decided', tally: 'suppressed:no-profile' };
        }
        const due = dueAt(run.at, run.localTime, customerView(read.draft.state, attempt.now).timeZone, fallbackZone);
        const place = placeInPass(run.pass, due);
        if (place === 'earlier-pass') return { kind: 'earlier-pass' };
        if (place === 'later') return { kind: 'later', due };
        const event = runEvent(run, read.draft.customerId, attempt.now);
        let tally: Tally = 'suppressed:no-rule';
        const { result } = await decisionStep.commit(attempt, {
          event,
          payloadHash: payloadHash(`${eventId}\u0000${run.campaignId}`),
          draft: read.draft,
          book: await decisionStep.book(),
          stateAt: attempt.now,
          outbox: true,
          runTally: (decision) => ({ runId: run.runId, tally: (tally = tallyOf(decision, run.campaignId)) }),
        });
        if (result.status === 'committed') return { kind: 'decided', tally };
        if (result.status === 'duplicate') return { kind: 'duplicate' };
        return AGAIN;
      },
      (attempts) => new RunError('run-contention', `run ${run.runId}: a member could not be committed after ${attempts} attempts (concurrent updates); resume the run`),
    );
  }
}


export type RunControlDeps = Pick<RunDeps, 'runs' | 'clock' | 'metrics' | 'newRunId' | 'segments'> & { readonly members: Pick<SegmentMemberPages, 'buckets'> };

/** Starting, reading and moving runs: what the CLI needs, without the decision step. */
export function runControl(deps: RunControlDeps): Omit<Runs, 'work'> {
  const mustGet = (runId: string) => getRun(deps.runs, runId);
  return {
    async start(request) {
      const run = newRun(request, deps.newRunId?.() ?? `run-${randomUUID().slice(0, 8)}`, deps.clock(), deps.members.buckets);
      // A run over a segment that is not in force would page an empty (or stale) membership and
      // "finish" having decided no one: refused before it is scheduled.
      if (deps.segments && !(await deps.segments.current()).segment(run.segmentId)) {
        throw new RunError('segment-not-found', `--segment: no segment with this id is in force; \`baton segments list\` shows the segments there are`);
      }
      await deps.runs.create(run);
      deps.metrics.count('RunsStarted');
      return run;
    },

    async status(runId) {
      const run = await mustGet(runId);
      return { run, counts: await deps.runs.counts(runId) };
    },

    list: () => deps.runs.list(),

    async control(runId, command) {
      const run = await mustGet(runId);
      const { from, to } = move(command);
      const moved = await deps.runs.transition(runId, from, to);
      if (!moved) throw new RunError('wrong-state', `run: a ${run.state} run cannot ${command}; expected a run that is ${from.join(' or ')}`);
      return moved;
    },
  };
}

async function getRun(runs: RunRepository, runId: string): Promise<Run> {
  const run = await runs.get(runId);
  if (!run) throw new RunError('run-not-found', `run: no run with this id; \`baton runs list\` shows the runs there are`);
  return run;
}

/** Runs `fn` over the items, at most `limit` at once, results in order. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

/**
 * The cloud's run starter, every minute (EventBridge Scheduler): hands each run that is due
 * (scheduled past its time, or running) to the run workers. A run already being worked on is
 * handed over again; the worker finds its lease taken and leaves it.
 */
export async function startDueRuns(deps: { runs: RunRepository; queue: RunQueue; clock: () => Date }): Promise<string[]> {
  const now = deps.clock().getTime();
  const due = (await deps.runs.list()).filter((r) => (r.state === 'scheduled' || r.state === 'running') && r.pass.at <= now).map((r) => r.runId);
  await deps.queue.enqueue(due);
  return due;
}
