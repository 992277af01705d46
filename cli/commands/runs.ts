// `baton runs start|status|list|pause|resume|cancel` (docs/campaigns.md). Runs are items of the
// counters table (lib/adapters/dynamo/runs.ts); the local stack's worker (or, in the cloud, the
// run machinery) executes them; this command schedules, reads and moves them.
import { runControl } from '../../lib/app/runs.ts';
import { DynamoRunRepository } from '../../lib/adapters/dynamo/runs.ts';
import { CachedSegmentSource, DynamoSegmentMembers, MEMBER_BUCKETS, scanCurrentSegments } from '../../lib/adapters/dynamo/segments.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { RunError, type Run, type RunCounts } from '../../lib/core/runs/run.ts';
import { report, UsageError, type CliFlags } from '../io.ts';
import type { ItemsContext } from './items.ts';

const control = (ctx: ItemsContext) =>
  runControl({
    runs: new DynamoRunRepository(ctx.db, ctx.names.counters),
    members: { buckets: MEMBER_BUCKETS },
    segments: new CachedSegmentSource(scanCurrentSegments(ctx.db, ctx.names.rules)),
    clock: ctx.clock ?? (() => new Date()),
    metrics: new MemoryMetrics(),
  });

const when = (run: Run) => `${run.at}${run.localTime ? ' (each member\'s local time)' : ''}`;
const summary = (run: Run) => `${run.runId.padEnd(14)} ${run.state.padEnd(9)} ${run.campaignId} → ${run.segmentId}  at ${when(run)}  ${run.rate}/s`;

/** `sent 9800 · deferred 400 · suppressed 200 (capacity 120, quiet-hours 80)` */
function countsLine(c: RunCounts): string {
  const suppressed = Object.entries(c.suppressed).sort(([, a], [, b]) => b - a);
  const total = suppressed.reduce((n, [, v]) => n + v, 0);
  return `sent ${c.sent} · deferred ${c.deferred} · suppressed ${total}${suppressed.length ? ` (${suppressed.map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`;
}

function progressBar(done: number, of: number, width = 30): string {
  const share = of > 0 ? Math.min(1, done / of) : 0;
  const full = Math.round(share * width);
  return `[${'█'.repeat(full)}${'░'.repeat(width - full)}] ${String(Math.floor(share * 100)).padStart(3)}%`;
}

async function status(id: string, flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const { run, counts } = await control(ctx).status(id);
  const members = (await new DynamoSegmentMembers(ctx.db, ctx.names).counts([run.segmentId])).get(run.segmentId) ?? 0;
  report(flags, ctx, { run, counts, members }, () => [
    summary(run),
    // A bar in a terminal; scripts that read text get the same figures without it.
    `${process.stdout.isTTY ? `${progressBar(counts.decided, members)}  ` : ''}${counts.decided} of ${members} members decided${run.finishedAt ? `, finished ${run.finishedAt}` : ''}`,
    countsLine(counts),
  ]);
  return 0;
}

export async function runRuns(args: string[], flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const [sub, id] = args;
  try {
    switch (sub) {
      case 'start': {
        if (!id) throw new UsageError('usage: baton runs start <campaignId> --segment <segmentId> --at <time> [--local-time] [--rate N]');
        const f = flags as CliFlags & { segment?: string; at?: string; localTime?: boolean; rate?: number };
        const run = await control(ctx).start({ campaignId: id, segmentId: String(f.segment ?? ''), at: String(f.at ?? ''), localTime: f.localTime === true, rate: Number(f.rate ?? 100) });
        report(flags, ctx, run, () => [`scheduled ${run.runId}: ${run.campaignId} → ${run.segmentId} at ${when(run)}, at most ${run.rate} customers/s`, `follow it with: baton runs status ${run.runId}`]);
        return 0;
      }
      case 'status':
        if (!id) throw new UsageError('usage: baton runs status <runId>');
        return await status(id, flags, ctx);
      case 'list': {
        const runs = await control(ctx).list();
        report(flags, ctx, runs, () => [...runs.map(summary), `${runs.length} ${runs.length === 1 ? 'run' : 'runs'}`]);
        return 0;
      }
      case 'pause':
      case 'resume':
      case 'cancel': {
        if (!id) throw new UsageError(`usage: baton runs ${sub} <runId>`);
        const run = await control(ctx).control(id, sub);
        report(flags, ctx, run, () => [`${run.runId} is ${run.state}`]);
        return 0;
      }
      default:
        throw new UsageError(`unknown runs command ${sub ?? ''}; expected start, status, list, pause, resume or cancel`);
    }
  } catch (err) {
    if (!(err instanceof RunError)) throw err;
    // A bad --at or a move the state refuses is a usage problem; a run not found or in the wrong state a "no".
    if (err.code === 'invalid-run') throw new UsageError(err.message);
    if (flags.json) ctx.out(JSON.stringify({ status: err.code, id, reason: err.message }));
    (ctx.err ?? ctx.out)(err.message);
    return 1;
  }
}
