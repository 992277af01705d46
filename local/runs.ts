// The local stack's run worker (docs/campaigns.md): on the stack's clock it picks up every run that
// is due, scheduled or still running (after a restart too: the checkpoints are in DynamoDB Local),
// and works on it. The cloud does the same with a Scheduler schedule and Lambda (infra/constructs/runs.ts).
import type { Runs } from '../lib/app/runs.ts';
import type { LocalClock } from './clock.ts';

export class LocalRunWorker {
  private readonly working = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly runs: Runs,
    private readonly clock: LocalClock,
    private readonly onError: (runId: string, error: unknown) => void,
    /** Real milliseconds between looks at the runs table. */
    private readonly everyMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.everyMs);
    this.timer.unref();
  }

  /** Runs being worked on now. */
  get busy(): number {
    return this.working.size;
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    let due;
    try {
      due = (await this.runs.list()).filter((r) => (r.state === 'scheduled' || r.state === 'running') && r.pass.at <= this.clock.nowMs() && !this.working.has(r.runId));
    } catch (err) {
      if (!this.stopped) this.onError('(list)', err);
      return;
    }
    for (const run of due) {
      this.working.add(run.runId);
      void this.runs
        .work(run.runId)
        .catch((err) => {
          // Left as it is: the next tick carries on from the checkpoint.
          if (!this.stopped) this.onError(run.runId, err);
        })
        .finally(() => this.working.delete(run.runId));
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }
}
