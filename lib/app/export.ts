// The analytical export (docs/reports.md): decisions, messages, feedback, ledger entries and profile
// changes as pseudonymised rows in partitioned Parquet, streamed from the tables' changes (the
// `export` Lambda in the cloud, stream pollers on the laptop) or written once by `baton export`.
//
// Erasure: every row names its customer (and decision) only by a keyed hash made with a key kept
// per customer; the customer's erasure destroys that key (Pseudonyms.forget), so the rows already
// written can no longer be linked to anyone, and changes of theirs still in flight are dropped.
// Files are never rewritten.
import type { ExportInput, ExportSink, Pseudonyms } from './ports.ts';
import { batchesOf, exportRows, type ExportKind, type ExportRow } from '../core/reports/export.ts';

export type { ExportInput };

export interface ExportDeps {
  readonly pseudonyms: Pseudonyms;
  readonly sink: ExportSink;
}

export interface ExportOutcome {
  readonly rows: number;
  readonly files: string[];
  /** Customers whose key was destroyed by an erasure in these changes. */
  readonly forgotten: number;
  /** Changes of forgotten customers that were not exported. */
  readonly dropped: number;
}

export interface ExportFilter {
  readonly kinds?: readonly ExportKind[];
  /** Days (yyyy-mm-dd, inclusive) of the rows to keep. */
  readonly from?: string;
  readonly to?: string;
}

/** Exports a batch of changes in order: one file per kind and day. */
export function createExporter(deps: ExportDeps) {
  return async function exportChanges(inputs: readonly ExportInput[], filter: ExportFilter = {}): Promise<ExportOutcome> {
    const rows: { kind: ExportKind; day: string; row: ExportRow }[] = [];
    let forgotten = 0;
    let dropped = 0;
    for (const input of inputs) {
      if (input.type === 'erasure') {
        for (const id of new Set(input.customerIds)) await deps.pseudonyms.forget(id);
        forgotten += new Set(input.customerIds).size;
        continue;
      }
      const hash = await deps.pseudonyms.of(input.customerId);
      if (!hash) {
        dropped++;
        continue;
      }
      const made = exportRows({
        id: hash(`row\u0000${input.id}`),
        source: input.source,
        newItem: input.newItem,
        oldItem: input.oldItem,
        customer: hash(`customer\u0000${input.customerId}`),
        ...(input.decisionId ? { decision: hash(`decision\u0000${input.decisionId}`) } : {}),
      });
      for (const r of made) {
        if (filter.kinds && !filter.kinds.includes(r.kind)) continue;
        if ((filter.from && r.day < filter.from) || (filter.to && r.day > filter.to)) continue;
        rows.push(r);
      }
    }
    const files: string[] = [];
    for (const batch of batchesOf(rows)) files.push(await deps.sink.write(batch));
    return { rows: rows.length, files, forgotten, dropped };
  };
}
