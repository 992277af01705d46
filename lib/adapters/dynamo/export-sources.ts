// What each changed item of the decisions, ledger and customers tables is to the analytical export
// (lib/app/export.ts), read from the keys the repositories own (./decisions.ts, ./loyalty.ts,
// ./customers.ts). Read-only: the export never writes these tables.
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ExportInput } from '../../app/ports.ts';
import { itemKind } from './aggregates.ts';

export type ExportTable = 'decisions' | 'ledger' | 'customers';

export interface ItemChangeOf {
  readonly id: string;
  readonly newItem?: Record<string, unknown> | undefined;
  readonly oldItem?: Record<string, unknown> | undefined;
}

/** The export input a change is, or undefined when the export has nothing to say about it (removals, markers, counters). */
export function exportInputOf(table: ExportTable, change: ItemChangeOf): ExportInput | undefined {
  const item = change.newItem;
  if (!item) return undefined;
  const pk = String(item.pk ?? '');
  const sk = String(item.sk ?? '');
  if (table === 'decisions') {
    const kind = itemKind(item);
    if (!kind || typeof item.customerId !== 'string') return undefined;
    return { type: 'row', id: change.id, source: { table, item: kind }, customerId: item.customerId, decisionId: pk.slice('DEC#'.length), newItem: item, oldItem: change.oldItem };
  }
  if (table === 'ledger') {
    // MEMBER#<programmeId>#<customerId> / E#<at>#<txId>#<n>: customer ids (cus-<uuid>) hold no '#'.
    if (!pk.startsWith('MEMBER#') || !sk.startsWith('E#')) return undefined;
    const rest = pk.slice('MEMBER#'.length);
    const cut = rest.lastIndexOf('#');
    if (cut <= 0) return undefined;
    return { type: 'row', id: change.id, source: { table, item: 'entry', programmeId: rest.slice(0, cut) }, customerId: rest.slice(cut + 1), newItem: item, oldItem: change.oldItem };
  }
  // The erasure journal (ERASING#<eventId>) is written before anything is deleted: the export forgets its customers then.
  if (pk.startsWith('ERASING#') && !change.oldItem) {
    const ids = [item.customerId, ...((item.formerIds as unknown[] | undefined) ?? [])].filter((v): v is string => typeof v === 'string' && v !== '');
    return ids.length ? { type: 'erasure', id: change.id, customerIds: ids } : undefined;
  }
  if (pk.startsWith('CUS#') && sk === 'PROFILE' && typeof item.customerId === 'string') {
    return { type: 'row', id: change.id, source: { table, item: 'profile' }, customerId: item.customerId, newItem: item, oldItem: change.oldItem };
  }
  return undefined;
}

/** Every item of a table as if just written, page by page (`baton export`'s input). */
export async function scanForExport(db: DynamoDBDocumentClient, tableName: string, table: ExportTable, onPage: (inputs: ExportInput[]) => Promise<void>): Promise<void> {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    const inputs = (page.Items ?? []).flatMap((newItem) => {
      const input = exportInputOf(table, { id: `${String(newItem.pk)}\u0000${String(newItem.sk)}`, newItem });
      return input && input.type === 'row' ? [input] : [];
    });
    await onPage(inputs);
    start = page.LastEvaluatedKey;
  } while (start);
}
