// `baton segments validate|put|list|show|diff|rollback|import|refresh` (docs/segments.md).
// Definitions are versioned items of the rules table (lib/adapters/dynamo/segments.ts), checked
// and written through the shared item workflow (./items.ts); list and show add the member counts
// (sharded counters, summed); import adds external ids to a static segment; refresh runs the
// daily re-evaluation now (or as of --at).
import { readFileSync, existsSync } from 'node:fs';
import { ID_KINDS, type IdKind } from '../../events/catalog.ts';
import { checkSegment, type Segment } from '../../lib/core/segments/segment.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoSegmentMembers, DynamoSegmentRepository } from '../../lib/adapters/dynamo/segments.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { refreshSegments } from '../../lib/app/segments-refresh.ts';
import { segmentsRefreshDeps } from '../../lib/wiring/segments.ts';
import { busClient, report, UsageError, type CliFlags } from '../io.ts';
import { runItems, type ItemsContext, type ItemSpec } from './items.ts';

export const SEGMENTS: ItemSpec<Segment> = {
  noun: 'segment',
  plural: 'segments',
  toggles: false,
  check(item) {
    const c = checkSegment(item);
    return c.ok ? { ok: true, id: c.segment.segmentId, value: c.segment } : { ok: false, id: c.segmentId, reason: c.reason };
  },
  repository: (ctx) => new DynamoSegmentRepository(ctx.db, ctx.names.rules, ctx.clock),
  describe(segment, stored) {
    const s = (segment ?? stored.content) as Partial<Segment>;
    return `${s.kind ?? 'dynamic'}${s.enabled === false ? ' (disabled)' : ''}  ${s.if ? JSON.stringify(s.if) : ''}`.trimEnd();
  },
};

const members = (ctx: ItemsContext) => new DynamoSegmentMembers(ctx.db, ctx.names);

async function list(flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const items = await new DynamoSegmentRepository(ctx.db, ctx.names.rules).list();
  const counts = await members(ctx).counts(items.map((i) => i.id));
  const rows = items.map((stored) => {
    const check = checkSegment(stored.content);
    return {
      ...stored.content,
      segmentId: stored.id,
      version: stored.version ?? null,
      members: counts.get(stored.id) ?? 0,
      ...(check.ok ? {} : { invalid: check.reason }),
    } as Record<string, unknown> & { segmentId: string; members: number; version: number | null; invalid?: string };
  });
  report(flags, ctx, rows, () => [
    ...rows.map((r) => {
      const check = checkSegment(r);
      const text = SEGMENTS.describe(check.ok ? check.segment : undefined, { id: String(r.segmentId), version: undefined, content: r });
      return `${String(r.segmentId).padEnd(28)} ${String(r.members).padStart(9)} members  ${r.version === null ? 'unversioned' : `v${r.version}`}  ${text}${r.invalid ? `  INVALID: ${r.invalid}` : ''}`;
    }),
    `${rows.length} ${rows.length === 1 ? 'segment' : 'segments'}`,
  ]);
  return 0;
}

async function show(id: string, limit: number, flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const stored = await new DynamoSegmentRepository(ctx.db, ctx.names.rules).current(id);
  if (!stored) {
    if (flags.json) ctx.out(JSON.stringify({ status: 'not-found', id }));
    (ctx.err ?? ctx.out)(`segment ${id} not found`);
    return 1;
  }
  const m = members(ctx);
  const count = (await m.counts([id])).get(id) ?? 0;
  const first = (await m.members(id)).slice(0, limit);
  report(flags, ctx, { segment: stored.content, version: stored.version ?? null, members: count, sample: first }, (r) => [
    `${id}  v${r.version ?? '?'}  ${SEGMENTS.describe(undefined, stored)}`,
    ...(stored.content.description ? [`  ${String(stored.content.description)}`] : []),
    `${r.members} members${first.length ? `; the first ${first.length} by customerId:` : ''}`,
    ...first.map((x) => `  ${x.customerId}  since ${x.since}`),
  ]);
  return 0;
}

/** One CSV field list per line: commas split, surrounding double quotes go (ids hold no commas). */
function csvRows(text: string): string[][] {
  return text
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '')
    .map((l) => l.split(',').map((f) => f.trim().replace(/^"(.*)"$/, '$1').replace(/""/g, '"')));
}

/** The external ids of an import file: rows `kind,value` (a header `kind,value` is skipped), or one `--column` of a file with a header. */
export function importIds(text: string, opts: { column?: string; kind?: string }): { ids: { kind: IdKind; value: string }[]; problems: string[] } {
  const rows = csvRows(text);
  const problems: string[] = [];
  const ids: { kind: IdKind; value: string }[] = [];
  const isKind = (k: string): k is IdKind => (ID_KINDS as readonly string[]).includes(k);
  if (opts.column) {
    const header = rows[0] ?? [];
    const at = header.indexOf(opts.column);
    if (at < 0) throw new UsageError(`--column ${opts.column}: no such column in the header (it has ${header.join(', ') || 'none'})`);
    const kind = opts.kind ?? opts.column;
    if (!isKind(kind)) throw new UsageError(`--kind must be one of ${ID_KINDS.join(', ')} (the column ${opts.column} is not an id kind)`);
    rows.slice(1).forEach((r, i) => {
      const value = r[at];
      if (value) ids.push({ kind, value });
      else problems.push(`line ${i + 2}: column ${opts.column} is empty`);
    });
    return { ids, problems };
  }
  rows.forEach((r, i) => {
    if (i === 0 && r[0] === 'kind' && r[1] === 'value') return;
    const [kind = '', value = ''] = r;
    if (!isKind(kind)) problems.push(`line ${i + 1}: the kind must be one of ${ID_KINDS.join(', ')}`);
    else if (!value) problems.push(`line ${i + 1}: the value is empty`);
    else ids.push({ kind, value });
  });
  return { ids, problems };
}

async function importCsv(id: string, file: string, flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const stored = await new DynamoSegmentRepository(ctx.db, ctx.names.rules).current(id);
  const check = stored && checkSegment(stored.content);
  if (!check || !check.ok || check.segment.kind !== 'static') {
    const why = !stored ? 'not found' : !check?.ok ? `is invalid (${check && !check.ok ? check.reason : ''})` : 'is dynamic: its members follow its "if" pattern; import needs a static segment';
    if (flags.json) ctx.out(JSON.stringify({ status: 'refused', id, reason: `segment ${id} ${why}` }));
    (ctx.err ?? ctx.out)(`segment ${id} ${why}`);
    return 1;
  }
  if (!existsSync(file)) throw new UsageError(`${file}: no such file (expected a CSV of external ids)`);
  const { ids, problems } = importIds(readFileSync(file, 'utf8'), {
    ...(typeof flags.column === 'string' ? { column: flags.column } : {}),
    ...(typeof flags.kind === 'string' ? { kind: flags.kind } : {}),
  });
  const customers = new DynamoCustomerRepository(ctx.db, ctx.names);
  const m = members(ctx);
  const notFound: string[] = [];
  const tally = { joined: 0, alreadyMembers: 0 };
  const now = (ctx.clock ?? (() => new Date()))();
  for (const ref of ids) {
    const resolution = await customers.resolve([ref]);
    const customerId = resolution.links.get(`${ref.kind}#${ref.value}`);
    // Ids of erased customers are reported as not found: nothing is kept of them.
    const outcome = customerId ? await m.joinStatic(customerId, id, now) : 'no-profile';
    if (outcome === 'joined') tally.joined++;
    else if (outcome === 'member') tally.alreadyMembers++;
    else notFound.push(`${ref.kind},${ref.value}`);
  }
  report(flags, ctx, { segmentId: id, ids: ids.length, ...tally, notFound, problems }, (r) => [
    `${id}: ${r.ids} ids read, ${r.joined} added, ${r.alreadyMembers} already members, ${r.notFound.length} not found`,
    ...r.notFound.map((x) => `  not found: ${x}`),
    ...r.problems.map((p) => `  skipped: ${p}`),
  ]);
  return notFound.length || problems.length ? 1 : 0;
}

async function refresh(flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const at = typeof flags.at === 'string' ? new Date(flags.at) : undefined;
  if (at && Number.isNaN(at.getTime())) throw new UsageError('--at must be an ISO 8601 time such as 2026-04-10T06:00:00Z');
  const metrics = new MemoryMetrics();
  const bus = busClient(flags);
  try {
    const deps = segmentsRefreshDeps({
      db: ctx.db,
      bus,
      tables: ctx.names,
      ...(typeof flags.bus === 'string' ? { busName: flags.bus } : {}),
      metrics,
      ...(at ? { clock: () => at } : {}),
      onRejected: (r) => (ctx.err ?? ctx.out)(`segment ${r.segmentId} skipped: ${r.reason}`),
    });
    const result = await refreshSegments(deps);
    report(flags, ctx, result, (r) => [`refreshed ${r.customers} customers as of ${r.day}: ${r.changed} changed (${r.entered} entered, ${r.left} left), ${r.skipped} changed meanwhile (their own commit evaluated them)`]);
    return 0;
  } finally {
    bus.destroy();
  }
}

export async function runSegments(args: string[], flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list':
      return list(flags, ctx);
    case 'show':
      if (!rest[0]) throw new UsageError('usage: baton segments show <segmentId>');
      return show(rest[0], Number(flags.limit ?? 20), flags, ctx);
    case 'import':
      if (!rest[0] || !rest[1]) throw new UsageError('usage: baton segments import <segmentId> <file.csv> [--column NAME --kind KIND]');
      return importCsv(rest[0], rest[1], flags, ctx);
    case 'refresh':
      return refresh(flags, ctx);
    default:
      return runItems(SEGMENTS, args, flags, ctx);
  }
}
