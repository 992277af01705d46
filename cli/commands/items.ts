// The marketer's workflow over versioned items (rules, campaigns, contact policies), one shape for
// all three: validate, put, list, diff, enable/disable, rollback. Files are JSON or YAML: one item,
// a list, or `{ <rules|campaigns|policies>: [...] }`. Everything is checked before anything is
// written; the writes themselves (versions, conditions) are the repository's (lib/adapters/dynamo).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { TableNames } from '../../lib/contract/tables.ts';
import type { StoredItem, VersionedItems, Written } from '../../lib/adapters/dynamo/versioned.ts';
import { readItemFile, report, UsageError, type CliFlags, type Printer } from '../io.ts';

export interface ItemsContext extends Printer {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
  readonly clock?: () => Date;
}

export type Checked<T> = { ok: true; id: string; value: T } | { ok: false; id: string; reason: string };

/** What the table must hold for an item to work at run time (a rule's template, a campaign's policy). */
export interface Reference {
  readonly id: string;
  /** Each names the field and what was expected; an error stops the put. */
  readonly errors: string[];
  /** Worth knowing, but the item works: printed, not refused. */
  readonly warnings: string[];
}

export interface ItemSpec<T> {
  readonly noun: 'rule' | 'campaign' | 'policy' | 'segment' | 'destination';
  readonly plural: 'rules' | 'campaigns' | 'policies' | 'segments' | 'destinations';
  check(item: unknown): Checked<T>;
  repository(ctx: ItemsContext): VersionedItems;
  /** Checks against the other tables; skipped by `validate --offline`. */
  references?(items: T[], ctx: ItemsContext): Promise<Reference[]>;
  /** One text line for `list`, after the id and version. */
  describe(value: T | undefined, stored: StoredItem): string;
  /** Lines after the `list` table (what applies when an item is missing, say). */
  listFooter?(items: StoredItem[]): string[];
  /** Whether `enable` and `disable` apply. */
  readonly toggles: boolean;
}

export interface Verdict {
  readonly file: string;
  readonly id: string;
  readonly ok: boolean;
  readonly problems: string[];
  readonly warnings: string[];
}

const plural = (n: number, noun: string, many = `${noun}s`) => `${n} ${n === 1 ? noun : many}`;
const versionText = (v: number | undefined) => (v === undefined ? 'the item written to the table directly (no version)' : `version ${v}`);
const adoptedText = (w: Written) => (w.adopted ? ` (the item written to the table directly is kept as version ${w.adopted})` : '');

/** Validates every item of the files (and, unless offline, what they refer to). */
export async function validateFiles<T>(
  spec: ItemSpec<T>,
  files: string[],
  ctx: ItemsContext,
  opts: { offline?: boolean } = {},
): Promise<{ verdicts: Verdict[]; valid: T[] | undefined }> {
  const verdicts: Verdict[] = [];
  const good: { file: string; id: string; value: T }[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    for (const item of readItemFile(file, spec.plural, spec.noun)) {
      const check = spec.check(item);
      if (!check.ok) verdicts.push({ file, id: check.id, ok: false, problems: [check.reason], warnings: [] });
      else if (seen.has(check.id)) verdicts.push({ file, id: check.id, ok: false, problems: ['defined twice'], warnings: [] });
      else {
        seen.add(check.id);
        good.push({ file, id: check.id, value: check.value });
      }
    }
  }
  const refs = opts.offline || !spec.references ? [] : await spec.references(good.map((g) => g.value), ctx);
  const byId = new Map(refs.map((r) => [r.id, r]));
  for (const g of good) {
    const ref = byId.get(g.id);
    verdicts.push({ file: g.file, id: g.id, ok: !ref?.errors.length, problems: ref?.errors ?? [], warnings: ref?.warnings ?? [] });
  }
  const bad = verdicts.some((v) => !v.ok);
  return { verdicts, valid: bad ? undefined : good.map((g) => g.value) };
}

function verdictLines(verdicts: Verdict[]): string[] {
  return verdicts.flatMap((v) => [
    ...(v.ok ? [`✓ ${v.id}`] : v.problems.map((p) => `✗ ${v.file}: ${v.id}: ${p}`)),
    ...v.warnings.map((w) => `⚠ ${v.file}: ${v.id}: ${w}`),
  ]);
}

const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));

/** Field-level differences between two JSON values, by path. */
function diffFields(before: unknown, after: unknown, path = ''): { path: string; before: unknown; after: unknown }[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffFields(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return [{ path, before, after }];
}

export async function runItems<T>(spec: ItemSpec<T>, args: string[], flags: CliFlags, ctx: ItemsContext): Promise<number> {
  const [sub, ...rest] = args;
  const by = typeof flags.by === 'string' ? flags.by : (process.env.USER ?? 'cli');
  const repo = () => spec.repository(ctx);
  const needFiles = () => {
    if (!rest.length) throw new UsageError(`usage: baton ${spec.plural} ${sub} <file>...`);
  };
  const needId = () => {
    if (!rest[0]) throw new UsageError(`usage: baton ${spec.plural} ${sub} <${spec.noun}Id>`);
    return rest[0];
  };
  switch (sub) {
    case 'validate': {
      needFiles();
      const { verdicts, valid } = await validateFiles(spec, rest, ctx, { offline: flags.offline === true });
      report(flags, ctx, { valid: valid !== undefined, referencesChecked: flags.offline !== true, items: verdicts }, () => [
        ...verdictLines(verdicts),
        valid ? `${plural(valid.length, spec.noun, spec.plural)} valid${flags.offline ? ' (offline: references to other tables not checked)' : ''}` : `invalid ${spec.plural}: nothing would be written`,
      ]);
      return valid ? 0 : 1;
    }
    case 'put': {
      needFiles();
      const { verdicts, valid } = await validateFiles(spec, rest, ctx);
      if (!valid) {
        report(flags, ctx, { valid: false, items: verdicts, written: [] }, () => [...verdictLines(verdicts), `invalid ${spec.plural}: nothing written`]);
        return 1;
      }
      const written: Written[] = [];
      for (const value of valid) written.push(await repo().put(value as Record<string, unknown>, by));
      report(flags, ctx, { valid: true, items: verdicts, written }, () => [
        ...verdictLines(verdicts),
        ...written.map((w) => `put ${w.id} version ${w.version}${adoptedText(w)}`),
      ]);
      return 0;
    }
    case 'list': {
      const items = await repo().list();
      const rows = items.map((stored) => {
        const check = spec.check(stored.content);
        return { stored, value: check.ok ? check.value : undefined, invalid: check.ok ? undefined : check.reason };
      });
      if (flags.json) {
        // The stored items as they are, with their version (null when written without one) and, when they fail validation, why.
        ctx.out(
          JSON.stringify(
            rows.map((r) => ({ ...r.stored.content, version: r.stored.version ?? null, ...(r.invalid ? { invalid: r.invalid } : {}) })),
            null,
            2,
          ),
        );
        return 0;
      }
      for (const r of rows) {
        const version = r.stored.version === undefined ? 'unversioned' : `v${r.stored.version}`;
        ctx.out(`${r.stored.id.padEnd(32)} ${version.padEnd(11)} ${spec.describe(r.value, r.stored)}${r.invalid ? `  INVALID: ${r.invalid}` : ''}`);
      }
      ctx.out(`${plural(items.length, spec.noun, spec.plural)}`);
      if (items.some((i) => i.version === undefined)) {
        ctx.out('unversioned: written to the table directly (no version attribute); the next put, disable or rollback keeps it as a version first');
      }
      for (const line of spec.listFooter?.(items) ?? []) ctx.out(line);
      return 0;
    }
    case 'diff': {
      needFiles();
      const { verdicts, valid } = await validateFiles(spec, rest, ctx, { offline: true });
      if (!valid) {
        report(flags, ctx, { valid: false, items: verdicts, changes: [] }, () => verdictLines(verdicts));
        return 1;
      }
      const changes = [];
      for (const value of valid) {
        const id = spec.check(value).id;
        const current = await repo().current(id);
        // Both sides parsed, so defaults filled in on one side only do not show as changes.
        const before = current ? spec.check(current.content) : undefined;
        const fields = current ? diffFields(before?.ok ? before.value : current.content, value) : [];
        const status = !current ? 'new' : fields.length ? 'changed' : 'unchanged';
        changes.push({ id, status, against: current ? (current.version ?? null) : null, fields });
      }
      report(flags, ctx, { valid: true, changes, changed: changes.filter((c) => c.status !== 'unchanged').length }, (r) => [
        ...r.changes.map((c) => {
          const against = versionText(c.against ?? undefined);
          if (c.status === 'new') return `${c.id}: new ${spec.noun}`;
          if (c.status === 'unchanged') return `${c.id}: unchanged (${against})`;
          return `${c.id}: changes against ${against}:\n${c.fields.map((d) => `  ${d.path || `(${spec.noun})`}: ${show(d.before)} → ${show(d.after)}`).join('\n')}`;
        }),
        `${plural(r.changed, spec.noun, spec.plural)} would change`,
      ]);
      return 0;
    }
    case 'disable':
    case 'enable': {
      if (!spec.toggles) throw new UsageError(`baton ${spec.plural} has no ${sub}`);
      const id = needId();
      const written = await repo().update(id, { enabled: sub === 'enable' }, by);
      if (!written) return notFound(spec, id, flags, ctx);
      report(flags, ctx, { ...written, enabled: sub === 'enable' }, () => [`${sub}d ${id} (version ${written.version})${adoptedText(written)}`]);
      return 0;
    }
    case 'rollback': {
      const id = needId();
      const result = await repo().rollback(id, by);
      if (result.status === 'not-found') return notFound(spec, id, flags, ctx);
      if (result.status === 'no-earlier-version') {
        const why =
          result.versions === 0
            ? 'it has no stored versions (it was written to the table directly, which keeps none)'
            : `no earlier valid version differs from ${versionText(result.current)}`;
        report(flags, ctx, result, () => [`${id}: nothing to roll back to: ${why}`]);
        return 1;
      }
      report(flags, ctx, result, () => [`rolled back ${id} to the content of version ${result.restored} (now version ${result.version})${adoptedText(result)}`]);
      return 0;
    }
    default:
      throw new UsageError(`usage: baton ${spec.plural} validate|put|list|diff|${spec.toggles ? 'enable|disable|' : ''}rollback`);
  }
}

function notFound<T>(spec: ItemSpec<T>, id: string, flags: CliFlags, ctx: ItemsContext): number {
  const message = `${spec.noun} ${id} not found`;
  if (flags.json) ctx.out(JSON.stringify({ status: 'not-found', id }));
  (ctx.err ?? ctx.out)(message);
  return 1;
}
