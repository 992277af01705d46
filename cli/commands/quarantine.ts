// `baton quarantine list|replay [--days N] [--code C]`: what failed validation, and reprocessing it after a fix.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoQuarantine, type QuarantineRecord } from '../../lib/adapters/dynamo/quarantine.ts';
import { createIngest } from '../../lib/app/ingest.ts';
import { ingestDeps } from '../../lib/wiring/ingest.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { replayQuarantined } from '../../lib/app/quarantine-replay.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { report, type CliFlags, type Printer } from '../io.ts';

const summary = (r: Pick<QuarantineRecord, 'receivedAt' | 'body' | 'reason'> & { readonly code: string }) => {
  let what = '(not JSON)';
  try {
    const e = JSON.parse(r.body) as { source?: unknown; 'detail-type'?: unknown; id?: unknown };
    what = `${String(e.source)} ${String(e['detail-type'])} ${String(e.id)}`;
  } catch {
    // keep "(not JSON)"
  }
  return `${r.receivedAt}  ${r.code.padEnd(20)} ${what}\n    ${r.reason}`;
};

export interface QuarantineOptions {
  readonly days: number;
  readonly code?: string | undefined;
}

export async function listQuarantine(opts: QuarantineOptions, flags: CliFlags, p: Printer & { db: DynamoDBDocumentClient; names: TableNames }): Promise<number> {
  const records = await recordsOf(opts, p);
  report(flags, p, records, (rs) => [...rs.map(summary), `${rs.length} quarantined in the last ${opts.days} days`]);
  return 0;
}

/** The original body of each entry through the real ingest path; entries that now pass are removed. */
export async function replayQuarantine(opts: QuarantineOptions, flags: CliFlags, p: Printer & { db: DynamoDBDocumentClient; names: TableNames }): Promise<number> {
  const records = await recordsOf(opts, p);
  const store = new DynamoQuarantine(p.db, p.names.quarantine);
  const deps = ingestDeps({ tables: p.names }, { port: new MemoryMetrics(), logger: { warn: () => undefined } }, { dynamodb: () => p.db });
  const result = await replayQuarantined(records, { shelf: store, ingestWith: (quarantine) => createIngest({ ...deps, quarantine }) });
  const still = result.stillInvalid;
  const byId = new Map(records.map((r) => [r.quarantineId, r]));
  const lines = still.map((x) => `still invalid: ${summary({ ...byId.get(x.quarantineId)!, code: x.code, reason: x.reason })}`);
  const fixed = result.processed;
  report(flags, p, { replayed: records.length, processed: fixed, stillInvalid: still }, () => [
    ...lines,
    `replayed ${records.length}: ${fixed} processed and removed, ${records.length - fixed} still invalid`,
  ]);
  return records.length - fixed > 0 ? 1 : 0;
}

async function recordsOf(opts: QuarantineOptions, p: { db: DynamoDBDocumentClient; names: TableNames }): Promise<QuarantineRecord[]> {
  return (await new DynamoQuarantine(p.db, p.names.quarantine).list(opts.days)).filter((r) => !opts.code || r.code === opts.code);
}
