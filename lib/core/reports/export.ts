// The analytical export: what the tables' changes become as rows an analyst queries (Athena in the
// cloud, DuckDB on the laptop). Pure: the app layer hands it each changed item with the pseudonyms
// of its customer and decision; it says which rows of which kind and day to write.
//
// Personal data never becomes a column. A customer is a pseudonym (a keyed hash with a key kept
// per customer and destroyed when the customer is erased, lib/app/export.ts), a decision the same
// keyed hash of its id; names, e-mail addresses, phone numbers, tokens, event ids, provider
// message ids, transaction ids and message payloads are left out. The columns below are all there is.
import { dayOf, FIELD_FIGURE } from './aggregates.ts';

export { EXPORT_COLUMNS, EXPORT_KINDS, type ColumnType, type ExportKind } from '../../contract/export.ts';
import type { ExportKind } from '../../contract/export.ts';

export type Value = string | number | boolean | Date | null;
export type ExportRow = Record<string, Value>;

/** Rows of one kind on one day (the partition `kind=<kind>/day=<day>`). */
export interface ExportBatch {
  readonly kind: ExportKind;
  readonly day: string;
  readonly rows: ExportRow[];
}

/** Which table a change comes from, and which item of it (the repository tells from its key). */
export type ExportSource =
  | { readonly table: 'decisions'; readonly item: 'decision' | 'message' }
  | { readonly table: 'ledger'; readonly item: 'entry'; readonly programmeId: string }
  | { readonly table: 'customers'; readonly item: 'profile' };

/** One changed item to export, with the pseudonyms the app looked up for it. */
export interface ExportChange {
  readonly id: string;
  readonly source: ExportSource;
  readonly newItem: Record<string, unknown>;
  readonly oldItem?: Record<string, unknown> | undefined;
  readonly customer: string;
  /** The decision's pseudonym (decisions-table items only). */
  readonly decision?: string;
}

/** The message times feedback sets that are exported as feedback rows (not sent/failed: messages rows say those). */
export const FEEDBACK_EXPORTED = {
  ...FIELD_FIGURE,
  rejectedAt: 'rejected',
  delayedAt: 'delayed',
} as const;

const FINAL_STATUSES = ['sent', 'failed', 'suppressed'];

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);
const time = (v: unknown): Date | null => {
  const ms = typeof v === 'string' ? Date.parse(v) : NaN;
  return Number.isFinite(ms) ? new Date(ms) : null;
};
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null);

/** The rows one change adds, each with the kind and day it goes under. */
export function exportRows(change: ExportChange): { kind: ExportKind; day: string; row: ExportRow }[] {
  const s = change.source;
  if (s.table === 'decisions') return s.item === 'decision' ? (change.oldItem ? [] : decisionRows(change)) : messageRows(change);
  if (s.table === 'ledger') return ledgerRows(change, s.programmeId);
  return stateRows(change);
}

function decisionRows(c: ExportChange) {
  const d = c.newItem;
  const at = time(d.at);
  if (!at) return [];
  const day = dayOf(String(d.at));
  return ((d.candidates ?? []) as Record<string, unknown>[]).map((cand, n) => ({
    kind: 'decisions' as const,
    day,
    row: {
      row_id: `${c.id}#${n}`,
      at,
      customer: c.customer,
      decision: c.decision ?? null,
      event_type: text(d.eventType),
      campaign_id: text(cand.campaignId),
      rule_id: text(cand.ruleId),
      channel: text(cand.channel),
      outcome: text(cand.outcome),
      reason: text(cand.reason),
      priority: int(cand.priority),
    },
  }));
}

function messageRows(c: ExportChange) {
  const m = c.newItem;
  const old = c.oldItem;
  const created = text(m.createdAt);
  if (!created) return [];
  const common = {
    customer: c.customer,
    decision: c.decision ?? null,
    campaign_id: text(m.campaignId),
    rule_id: text(m.ruleId),
    channel: text(m.channel),
  };
  const out: { kind: ExportKind; day: string; row: ExportRow }[] = [];
  // A message row when it is created, and again when it reaches its final status.
  const status = String(m.status ?? '');
  if (!old || (status !== old.status && FINAL_STATUSES.includes(status))) {
    const at = old ? (time(m.completedAt) ?? time(m.sentAt) ?? time(created)) : time(created);
    out.push({
      kind: 'messages',
      day: dayOf((at ?? new Date(created)).toISOString()),
      row: {
        row_id: `${c.id}#m`,
        at,
        created_at: time(created),
        ...common,
        template: text(m.template),
        offer: text(m.offer),
        transactional: typeof m.transactional === 'boolean' ? m.transactional : null,
        status: status || null,
        attempts: int(m.attempts),
      },
    });
  }
  for (const [field, feedback] of Object.entries(FEEDBACK_EXPORTED)) {
    const at = time(m[field]);
    if (!at || old?.[field] !== undefined) continue;
    out.push({ kind: 'feedback', day: dayOf(at.toISOString()), row: { row_id: `${c.id}#${feedback}`, at, sent_day: dayOf(created), ...common, feedback } });
  }
  return out;
}

function ledgerRows(c: ExportChange, programmeId: string) {
  if (c.oldItem) return []; // entries are append-only
  const e = (c.newItem.entry ?? {}) as Record<string, unknown>;
  const at = time(e.at);
  if (!at) return [];
  return [
    {
      kind: 'ledger' as const,
      day: dayOf(at.toISOString()),
      row: {
        row_id: c.id,
        at,
        customer: c.customer,
        programme_id: programmeId,
        entry_kind: text(e.kind),
        points: int(e.points),
        rule_id: text(e.ruleId),
        promotion_id: text(e.promotionId),
        partner_id: text(e.partnerId),
        reward_id: text(e.rewardId),
      },
    },
  ];
}

const parseState = (v: unknown): Record<string, unknown> => {
  if (typeof v !== 'string') return {};
  try {
    return JSON.parse(v) as Record<string, unknown>;
  } catch {
    return {};
  }
};
const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const granted = (consent: unknown, channel: string): boolean | null => {
  const c = (consent as Record<string, { value?: unknown } | undefined> | undefined)?.[channel];
  return typeof c?.value === 'boolean' ? c.value : null;
};

/** A profile's change: which parts of the state changed (names only, never values), segments, consent. */
function stateRows(c: ExportChange) {
  const at = time(c.newItem.updatedAt);
  if (!at) return [];
  const now = parseState(c.newItem.state);
  const before = parseState(c.oldItem?.state);
  const changed = [...new Set([...Object.keys(now), ...Object.keys(before)])]
    .filter((k) => k !== 'customerId' && k !== 'v' && JSON.stringify(now[k]) !== JSON.stringify(before[k]))
    .sort();
  const segNow = list(c.newItem.segments);
  const segBefore = list(c.oldItem?.segments);
  return [
    {
      kind: 'states' as const,
      day: dayOf(at.toISOString()),
      row: {
        row_id: c.id,
        at,
        customer: c.customer,
        version: int(c.newItem.version),
        changed: changed.join(','),
        segments_entered: segNow.filter((s) => !segBefore.includes(s)).sort().join(','),
        segments_left: segBefore.filter((s) => !segNow.includes(s)).sort().join(','),
        consent_email: granted(now.consent, 'email'),
        consent_sms: granted(now.consent, 'sms'),
        consent_push: granted(now.consent, 'push'),
        consent_device: granted(now.consent, 'device'),
      },
    },
  ];
}

/** Rows grouped into one batch per kind and day. */
export function batchesOf(rows: Iterable<{ kind: ExportKind; day: string; row: ExportRow }>): ExportBatch[] {
  const out = new Map<string, ExportBatch>();
  for (const r of rows) {
    const key = `${r.kind}/${r.day}`;
    const b = out.get(key) ?? { kind: r.kind, day: r.day, rows: [] };
    b.rows.push(r.row);
    out.set(key, b);
  }
  return [...out.values()];
}

/** Where a batch's file goes under the export root: Hive-style partitions Athena and DuckDB read. */
export const partitionPath = (kind: ExportKind, day: string) => `kind=${kind}/day=${day}`;
