// The parallel run (docs/loyalty.md): the old system's export of transactions with the points it
// gave, replayed through Baton's rules in a dry run, compared per transaction, and the differences
// explained where a known cause fits (a promotion one side missed, another rounding rule).
import { accrue, capKey, tierFor, type SaleLine } from './earn.ts';
import { ROUNDING, type ProgrammeBook } from './items.ts';
import { parse } from 'csv-parse/sync';

/** One row of the legacy export, as read from the CSV (columns in docs/loyalty.md). */
export interface LegacyRow {
  readonly transactionId: string;
  readonly customerId: string;
  readonly occurredAt: string;
  readonly currency: string;
  readonly total: number;
  readonly lines: readonly SaleLine[];
  readonly partnerId?: string | undefined;
  readonly points: number;
}

export const LEGACY_COLUMNS = ['transactionId', 'customerId', 'occurredAt', 'currency', 'total', 'lines', 'partnerId', 'points'] as const;

/**
 * RFC 4180 fields (quotes, doubled quotes, commas and newlines inside quotes) by csv-parse's sync
 * API on a string: no I/O here. Rows may differ in length (a short row is reported, not thrown).
 */
export function parseCsv(text: string): string[][] {
  // Every line ending, mixed too: a hand-edited export may have both.
  return parse(text, { relax_column_count: true, skip_empty_lines: true, relax_quotes: true, record_delimiter: ['\r\n', '\n', '\r'] }) as string[][];
}

/** `category:quantity:unitPrice;…` */
function parseLines(text: string): SaleLine[] | undefined {
  if (text === '') return [];
  const out: SaleLine[] = [];
  for (const part of text.split(';')) {
    const [category, q, p] = part.split(':');
    const quantity = Number(q);
    const unitPrice = Number(p);
    if (!category || !Number.isInteger(quantity) || !Number.isFinite(unitPrice)) return undefined;
    out.push({ category, quantity, unitPrice });
  }
  return out;
}

/** The rows of a legacy export; a row that cannot be read is reported by line and column, not value. */
export function readLegacyCsv(text: string): { rows: LegacyRow[]; unreadable: { line: number; reason: string }[] } {
  let parsed: string[][];
  try {
    parsed = parseCsv(text);
  } catch (err) {
    // csv-parse's own message may quote the field: only its code and line are reported.
    const e = err as { code?: string; lines?: number };
    return { rows: [], unreadable: [{ line: e.lines ?? 1, reason: `csv: ${e.code ?? 'unreadable'} (expected RFC 4180 fields)` }] };
  }
  const [header, ...body] = parsed;
  const missing = LEGACY_COLUMNS.filter((c) => c !== 'partnerId' && !header?.includes(c));
  if (!header || missing.length) return { rows: [], unreadable: [{ line: 1, reason: `header: expected the columns ${LEGACY_COLUMNS.join(', ')} (missing ${missing.join(', ')})` }] };
  const at = Object.fromEntries(header.map((h, i) => [h, i]));
  const rows: LegacyRow[] = [];
  const unreadable: { line: number; reason: string }[] = [];
  body.forEach((r, n) => {
    const get = (c: string) => r[at[c] ?? -1] ?? '';
    const total = Number(get('total'));
    const points = Number(get('points'));
    const lines = parseLines(get('lines'));
    const bad = !get('transactionId') ? 'transactionId: expected a text' : !get('customerId') ? 'customerId: expected a text' : Number.isNaN(Date.parse(get('occurredAt'))) ? 'occurredAt: expected an ISO 8601 time' : !Number.isFinite(total) ? 'total: expected a number' : !Number.isInteger(points) ? 'points: expected a whole number' : !lines ? 'lines: expected category:quantity:unitPrice;…' : undefined;
    if (bad) return void unreadable.push({ line: n + 2, reason: bad });
    rows.push({ transactionId: get('transactionId'), customerId: get('customerId'), occurredAt: new Date(get('occurredAt')).toISOString(), currency: get('currency'), total, lines: lines!, partnerId: get('partnerId') || undefined, points });
  });
  return { rows, unreadable };
}

export interface TransactionVerdict {
  readonly transactionId: string;
  readonly status: 'agreed' | 'differed';
  readonly legacy: number;
  readonly baton: number;
  /** The rules and promotions Baton applied. */
  readonly rules: readonly string[];
  readonly cause?: string;
}

export interface Reconciliation {
  readonly total: number;
  readonly agreed: number;
  readonly differed: number;
  /** In the export but not replayable (unreadable rows), and duplicates of a transaction id. */
  readonly missing: number;
  /** (differed + missing) / total. */
  readonly discrepancyRate: number;
  readonly causes: readonly { readonly cause: string; readonly transactions: number; readonly points: number }[];
  readonly differences: readonly TransactionVerdict[];
  readonly unreadable: readonly { line: number; reason: string }[];
}

/**
 * Replays each row in time order (caps and tiers need the member's history) and compares.
 * Nothing is written: the member's state here is the replay's own.
 */
export function reconcile(book: ProgrammeBook, rows: readonly LegacyRow[], unreadable: readonly { line: number; reason: string }[] = []): Reconciliation {
  const sorted = [...rows].sort((a, b) => (a.occurredAt < b.occurredAt ? -1 : a.occurredAt > b.occurredAt ? 1 : a.transactionId < b.transactionId ? -1 : 1));
  const members = new Map<string, { earned: number; balance: number; caps: Map<string, number> }>();
  const seen = new Set<string>();
  const differences: TransactionVerdict[] = [];
  let agreed = 0;
  let duplicates = 0;
  for (const row of sorted) {
    if (seen.has(row.transactionId)) {
      duplicates++;
      continue;
    }
    seen.add(row.transactionId);
    const m = members.get(row.customerId) ?? { earned: 0, balance: 0, caps: new Map() };
    members.set(row.customerId, m);
    const at = new Date(row.occurredAt);
    const event = { source: row.partnerId ? 'baton.partners' : 'baton.pos', 'detail-type': row.partnerId ? 'PartnerSaleCompleted' : 'SaleCompleted', detail: { total: row.total, currency: row.currency, items: row.lines, ...(row.partnerId ? { partnerId: row.partnerId } : {}) } };
    const sale = { total: row.total, currency: row.currency, items: row.lines, partnerId: row.partnerId };
    const member = { programmeId: book.programme.programmeId, tier: tierFor(book.programme, m.earned), balance: m.balance, earned: m.earned };
    const ctx = { event, sale, member, at, capUsed: m.caps };
    const result = accrue(book, ctx);
    for (const l of result.lines) {
      const rule = !l.promotionId ? book.programme.earning.find((r) => r.ruleId === l.ruleId) : undefined;
      const key = rule && capKey(rule, at);
      if (key) m.caps.set(key, (m.caps.get(key) ?? 0) + l.points);
    }
    m.earned += result.points;
    m.balance += result.points;
    const rules = result.lines.map((l) => (l.promotionId ? `${l.ruleId}+${l.promotionId}` : l.ruleId));
    if (result.points === row.points) {
      agreed++;
      continue;
    }
    differences.push({ transactionId: row.transactionId, status: 'differed', legacy: row.points, baton: result.points, rules, cause: explain(book, ctx, result, row.points) });
  }
  const missing = unreadable.length + duplicates;
  const total = rows.length + unreadable.length;
  const grouped = new Map<string, { transactions: number; points: number }>();
  for (const d of differences) {
    const g = grouped.get(d.cause!) ?? { transactions: 0, points: 0 };
    grouped.set(d.cause!, { transactions: g.transactions + 1, points: g.points + Math.abs(d.baton - d.legacy) });
  }
  return {
    total,
    agreed,
    differed: differences.length,
    missing,
    discrepancyRate: total ? (differences.length + missing) / total : 0,
    causes: [...grouped].map(([cause, g]) => ({ cause, ...g })).sort((a, b) => b.transactions - a.transactions || (a.cause < b.cause ? -1 : 1)),
    differences,
    unreadable,
  };
}

/** The first known cause that gives the legacy figure exactly. */
function explain(book: ProgrammeBook, ctx: Parameters<typeof accrue>[1], result: ReturnType<typeof accrue>, legacy: number): string {
  for (const l of result.lines) {
    if (l.promotionId && result.points - l.points === legacy) return `promotion ${l.promotionId} not applied by the legacy system`;
  }
  for (const p of book.promotions) {
    if (p.kind !== 'earning' || result.lines.some((l) => l.promotionId === p.promotionId)) continue;
    // A promotion Baton did not apply (outside its window, another partner) that the legacy system did.
    const withIt = accrue({ ...book, promotions: [{ ...p, validFrom: '0000-01-01T00:00:00Z', validUntil: '9999-12-31T23:59:59Z' }] }, ctx);
    if (withIt.points !== result.points && result.points + (withIt.points - accrue({ ...book, promotions: [] }, ctx).points) === legacy) return `promotion ${p.promotionId} applied by the legacy system outside its window`;
  }
  for (const rounding of ROUNDING) {
    if (rounding !== book.programme.rounding && accrue(book, { ...ctx, rounding }).points === legacy) return `rounding: the legacy system rounds ${rounding === 'round' ? 'half up' : rounding === 'ceil' ? 'up' : 'down'}`;
  }
  const rules = result.lines.map((l) => l.promotionId ?? l.ruleId).join(', ') || 'none';
  return `unexplained (Baton's rules: ${rules})`;
}
