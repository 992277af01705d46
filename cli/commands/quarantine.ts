// `baton quarantine list|replay`: what failed validation, and reprocessing it after a fix.
import { DynamoQuarantine, type QuarantineRecord } from '../../lib/adapters/dynamo/quarantine.ts';
import { createIngest } from '../../lib/app/ingest.ts';
import { ingestDeps } from '../../lib/wiring/environment.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import type { QuarantinedEvent } from '../../lib/app/ports.ts';
import { tables, UsageError, type CliFlags } from '../io.ts';

const summary = (r: QuarantineRecord) => {
  let what = '(not JSON)';
  try {
    const e = JSON.parse(r.body) as { source?: unknown; 'detail-type'?: unknown; id?: unknown };
    what = `${String(e.source)} ${String(e['detail-type'])} ${String(e.id)}`;
  } catch {
    // keep "(not JSON)"
  }
  return `${r.receivedAt}  ${r.code.padEnd(20)} ${what}\n    ${r.reason}`;
};

export const command = {
  name: 'quarantine',
  usage: 'quarantine list|replay [--days N] [--code C] [--json]   events that failed validation; replay reprocesses them',
  options: { days: { type: 'string' as const }, code: { type: 'string' as const } },
  async run([sub]: string[], flags: CliFlags): Promise<number> {
    if (sub !== 'list' && sub !== 'replay') throw new UsageError('usage: baton quarantine list|replay [--days N] [--code C]');
    const days = flags.days ? Number(flags.days) : 7;
    if (!Number.isInteger(days) || days < 1 || days > 30) throw new UsageError('--days must be a whole number from 1 to 30');
    const { db, names } = tables(flags);
    const store = new DynamoQuarantine(db, names.quarantine);
    try {
      const records = (await store.list(days)).filter((r) => !flags.code || r.code === flags.code);
      if (sub === 'list') {
        if (flags.json) console.log(JSON.stringify(records, null, 2));
        else {
          for (const r of records) console.log(summary(r));
          console.log(`${records.length} quarantined in the last ${days} days`);
        }
        return 0;
      }
      // Replay: the original body through the real ingest path; entries that now pass are removed.
      let stillFailing: QuarantinedEvent | undefined;
      const deps = ingestDeps({ tables: names }, { port: new MemoryMetrics(), logger: { warn: () => undefined } }, { dynamodb: () => db });
      const ingest = createIngest({ ...deps, quarantine: { put: async (e) => void (stillFailing = e) } });
      let fixed = 0;
      for (const r of records) {
        stillFailing = undefined;
        const outcome = await ingest(r.body);
        if (outcome.status === 'quarantined' && stillFailing) {
          console.log(`still invalid: ${summary({ ...r, code: outcome.code as never, reason: outcome.reason })}`);
          continue;
        }
        await store.remove(r);
        fixed++;
      }
      console.log(`replayed ${records.length}: ${fixed} processed and removed, ${records.length - fixed} still invalid`);
      return records.length - fixed > 0 ? 1 : 0;
    } finally {
      db.destroy();
    }
  },
};
