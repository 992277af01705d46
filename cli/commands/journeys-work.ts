// The work of `baton journeys …` (registered in ./journeys.ts, loaded when a journeys command runs).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Channel } from '../../events/catalog.ts';
import { checkJourney, type JourneyCheck } from '../../lib/core/journeys/check.ts';
import type { Journey } from '../../lib/core/journeys/journey.ts';
import { StaticJourneyBook } from '../../lib/core/journeys/evaluate.ts';
import { timerName, type JourneyInstance } from '../../lib/core/journeys/instance.ts';
import { wallTime } from '../../lib/core/journeys/time.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { DynamoJourneyInstances, DynamoJourneyRepository } from '../../lib/adapters/dynamo/journeys.ts';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { decodeState } from '../../lib/adapters/dynamo/customers.ts';
import { MemoryCustomerRepository } from '../../lib/adapters/memory/customers.ts';
import { MemoryQuarantine } from '../../lib/adapters/memory/quarantine.ts';
import { MemoryMetrics } from '../../lib/adapters/memory/metrics.ts';
import { MemoryJourneySource, MemoryJourneyTimers } from '../../lib/adapters/memory/journeys.ts';
import { createIngest } from '../../lib/app/ingest.ts';
import { createJourneyStep } from '../../lib/app/journeys.ts';
import { setJourneyStatus } from '../../lib/app/journey-status.ts';
import { CachedRuleSource, scanCurrentRules } from '../../lib/adapters/dynamo/rules.ts';
import { CachedCampaignSource, scanCampaignItems } from '../../lib/adapters/dynamo/campaigns.ts';
import { findCustomer, notFound, readEvents, readItemFile, report, UsageError, type CliFlags, type Printer } from '../io.ts';

export interface JourneysContext extends Printer {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
  readonly clock?: () => Date;
}

function checkFiles(files: string[], templateExists?: (id: string, channel: Channel) => boolean): { file: string; check: JourneyCheck }[] {
  return files.flatMap((file) => readItemFile(file, 'journeys', 'journey').map((item) => ({ file, check: checkJourney(item, templateExists ? { templateExists } : {}) })));
}

async function templateIndex(ctx: JourneysContext, files: string[]): Promise<(id: string, channel: Channel) => boolean> {
  const wanted = new Set<string>();
  for (const { check } of checkFiles(files)) {
    if (!check.ok) continue;
    for (const s of check.journey.steps) {
      if (s.type === 'send') wanted.add(s.template);
      if (s.type === 'wait') for (const m of s.meanwhile ?? []) wanted.add(m.send.template);
    }
  }
  const store = new DynamoTemplateStore(ctx.db, ctx.names.templates);
  const have = new Set<string>();
  for (const id of wanted) for (const t of await store.variants(id)) have.add(`${t.channel}/${id}`);
  return (id, channel) => have.has(`${channel}/${id}`);
}

export async function validate(files: string[], flags: CliFlags, ctx: Printer & Partial<JourneysContext>): Promise<number> {
  const exists = ctx.db ? await templateIndex(ctx as JourneysContext, files) : undefined;
  const results = checkFiles(files, exists).map(({ file, check }) => (check.ok ? { file, journeyId: check.journey.journeyId, ok: true } : { file, journeyId: check.journeyId, ok: false, reason: check.reason }));
  report(flags, ctx, { journeys: results }, (r) => r.journeys.map((j) => (j.ok ? `ok       ${j.journeyId} (${j.file})` : `invalid  ${j.journeyId} (${j.file}): ${j.reason}`)));
  return results.every((r) => r.ok) ? 0 : 1;
}

export async function put(files: string[], flags: CliFlags, ctx: JourneysContext): Promise<number> {
  const checks = checkFiles(files, await templateIndex(ctx, files));
  const bad = checks.filter((c) => !c.check.ok);
  if (bad.length) {
    report(flags, ctx, { written: [], invalid: bad.map((b) => ({ file: b.file, journeyId: (b.check as { journeyId: string }).journeyId, reason: (b.check as { reason: string }).reason })) }, (r) => [
      ...r.invalid.map((i) => `invalid  ${i.journeyId} (${i.file}): ${i.reason}`),
      'nothing written',
    ]);
    return 1;
  }
  const repo = new DynamoJourneyRepository(ctx.db, ctx.names.campaigns, ctx.clock);
  const who = typeof flags.by === 'string' ? flags.by : (process.env.USER ?? 'unknown');
  const written = [];
  for (const c of checks) if (c.check.ok) written.push(await repo.put(c.check.journey, who));
  report(flags, ctx, { written, invalid: [] }, (r) => r.written.map((w) => `put      ${w.journeyId} version ${w.version}`));
  return 0;
}

async function counts(ctx: JourneysContext, journeyId: string, versions: number[]): Promise<Record<string, number>> {
  const store = new DynamoJourneyInstances(ctx.db, ctx.names.customers);
  const bySteps: Record<string, number> = {};
  for (const v of versions) for (const i of await store.active(journeyId, v)) bySteps[`v${v} ${i.stepId ?? '?'}`] = (bySteps[`v${v} ${i.stepId ?? '?'}`] ?? 0) + 1;
  return bySteps;
}

export async function list(flags: CliFlags, ctx: JourneysContext): Promise<number> {
  const live = await new DynamoJourneyRepository(ctx.db, ctx.names.campaigns).list();
  const rows = live.map((j) => {
    const check = checkJourney(j.content);
    return { journeyId: j.journeyId, campaignId: j.campaignId, version: j.version ?? null, status: String(j.content.status ?? 'active'), valid: check.ok, ...(check.ok ? {} : { reason: check.reason }) };
  });
  report(flags, ctx, { journeys: rows }, (r) =>
    r.journeys.length === 0
      ? ['no journeys (baton journeys put <file> writes one)']
      : r.journeys.map((j) => `${j.journeyId.padEnd(24)} v${String(j.version ?? '?').padEnd(4)} ${j.status.padEnd(7)} campaign ${j.campaignId}${j.valid ? '' : `  INVALID: ${j.reason}`}`),
  );
  return 0;
}

export async function show(journeyId: string, flags: CliFlags, ctx: JourneysContext): Promise<number> {
  const repo = new DynamoJourneyRepository(ctx.db, ctx.names.campaigns);
  const live = await repo.current(journeyId);
  if (!live) {
    if (flags.json) ctx.out(JSON.stringify({ status: 'not-found' }));
    (ctx.err ?? ctx.out)(`no journey ${journeyId}`);
    return 1;
  }
  const versions = (await repo.versions(journeyId)).map((v) => ({ version: v.version, updatedAt: v.updatedAt, updatedBy: v.updatedBy, status: v.content.status ?? 'active' }));
  const inside = await counts(ctx, journeyId, versions.map((v) => v.version).filter((v): v is number => v !== undefined));
  const shown = { journeyId, campaignId: live.campaignId, version: live.version, journey: live.content, versions, customersByStep: inside };
  report(flags, ctx, shown, (s) => {
    const steps = (s.journey.steps as { id: string; type: string }[]) ?? [];
    return [
      `journey ${s.journeyId} v${s.version} (campaign ${s.campaignId}, ${String(s.journey.status ?? 'active')})`,
      ...steps.map((st, i) => `  ${String(i + 1).padStart(2)}. ${st.id} (${st.type})`),
      'customers waiting, by version and step:',
      ...(Object.keys(s.customersByStep).length ? Object.entries(s.customersByStep).map(([k, n]) => `  ${k}: ${n}`) : ['  none']),
      `versions: ${s.versions.map((v) => `v${v.version} ${v.updatedAt ?? ''} by ${v.updatedBy ?? '?'}`).join('; ')}`,
    ];
  });
  return 0;
}

export async function setStatus(journeyId: string, status: 'active' | 'paused', flags: CliFlags, ctx: JourneysContext): Promise<number> {
  const repo = new DynamoJourneyRepository(ctx.db, ctx.names.campaigns, ctx.clock);
  const written = await setJourneyStatus(repo, journeyId, status, typeof flags.by === 'string' ? flags.by : (process.env.USER ?? 'unknown'));
  if (written.status !== 'written') {
    (ctx.err ?? ctx.out)(written.status === 'invalid' ? `journey ${journeyId} is not valid: ${written.reason}` : `no journey ${journeyId}`);
    return 1;
  }
  report(flags, ctx, { journeyId: written.journeyId, version: written.version, status }, (w) => [`${w.status === 'paused' ? 'paused ' : 'resumed'} ${w.journeyId} (version ${w.version})`]);
  return 0;
}

/** Validates a step mapping from version `from` to `to`: every wait of `from` lands on a wait of `to`. */
export function migrationPlan(from: Journey, to: Journey, map: Record<string, string>): { ok: true; map: Record<string, string> } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const out: Record<string, string> = {};
  for (const [a, b] of Object.entries(map)) {
    if (!from.steps.some((s) => s.id === a)) problems.push(`--map ${a}=${b}: version ${from.version} has no step "${a}"`);
  }
  for (const s of from.steps) {
    if (s.type !== 'wait') continue;
    const target = map[s.id] ?? s.id;
    const t = to.steps.find((x) => x.id === target);
    if (!t) problems.push(`step "${s.id}" (a wait customers may be in): version ${to.version} has no step "${target}"; map it with --map ${s.id}=<step>`);
    else if (t.type !== 'wait') problems.push(`step "${s.id}" maps to "${target}", a ${t.type} step in version ${to.version}; expected a wait`);
    else out[s.id] = target;
  }
  return problems.length ? { ok: false, problems } : { ok: true, map: out };
}

export async function migrate(journeyId: string, flags: CliFlags, ctx: JourneysContext): Promise<number> {
  const repo = new DynamoJourneyRepository(ctx.db, ctx.names.campaigns, ctx.clock);
  const versionOf = async (v: number) => {
    const found = (await repo.versions(journeyId)).find((x) => x.version === v);
    const check = found && checkJourney(found.content);
    if (!check?.ok) throw new UsageError(`journey ${journeyId} has no valid version ${v}`);
    return check.journey;
  };
  const fromV = Number(flags.from);
  const toV = Number(flags.to);
  if (!Number.isInteger(fromV) || !Number.isInteger(toV) || fromV < 1 || toV < 1 || fromV === toV) throw new UsageError('--from and --to must be two different version numbers');
  const map = Object.fromEntries(
    String(flags.map ?? '')
      .split(',')
      .filter(Boolean)
      .map((pair) => {
        const [a, b] = pair.split('=');
        if (!a || !b) throw new UsageError(`--map: "${pair}" is not old=new`);
        return [a.trim(), b.trim()];
      }),
  );
  const [from, to] = [await versionOf(fromV), await versionOf(toV)];
  const plan = migrationPlan(from, to, map);
  if (!plan.ok) {
    report(flags, ctx, { migrated: 0, problems: plan.problems }, (r) => [...r.problems, 'nothing migrated']);
    return 1;
  }
  const store = new DynamoJourneyInstances(ctx.db, ctx.names.customers, ctx.clock);
  let migrated = 0;
  let moved = 0;
  for (const i of await store.active(journeyId, fromV)) {
    const stepId = i.stepId ? plan.map[i.stepId] : undefined;
    const next: JourneyInstance = { ...i, version: toV, seq: i.seq + 1, ...(stepId ? { stepId } : {}), ...(stepId && stepId !== i.stepId ? { visit: i.visit + 1 } : {}) };
    // A renamed wait gets its schedule anew at the same time (the old one would find the position moved).
    const timers = stepId && stepId !== i.stepId && i.timer && i.dueAt ? rearm(i, next) : [];
    const ok = await store.rewrite({ instance: timers.length ? { ...next, timer: timers[1]!.name } : next, expectedSeq: i.seq }, timers);
    if (ok) migrated++;
    if (ok && timers.length) moved++;
  }
  // The new schedules wait in the timer outbox: evaluate's sweep (relayTimers) creates them.
  report(flags, ctx, { migrated, rescheduled: moved }, (r) => [`migrated ${r.migrated} customers of ${journeyId} from version ${fromV} to ${toV} (${r.rescheduled} waits rescheduled through the timer outbox)`]);
  return 0;
}

function rearm(old: JourneyInstance, next: JourneyInstance) {
  const name = timerName(old.instanceId, next.stepId!, old.visit + 1);
  const at = wallTime(Date.parse(old.dueAt!), 'UTC');
  return [
    { op: 'delete' as const, name: old.timer! },
    { op: 'create' as const, name, at, timeZone: 'UTC', detail: { journeyId: next.journeyId, version: next.version, instanceId: next.instanceId, customerId: next.customerId, stepId: next.stepId!, dueAt: old.dueAt! } },
  ];
}

const DURATION = /^(\d+)([dhm])$/;
function parseDuration(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new UsageError(`--advance: "${text}" is not a duration such as 10d, 36h or 90m`);
  return Number(m[1]) * { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
}

export async function simulate(file: string, flags: CliFlags, ctx: JourneysContext): Promise<number> {
  const [item, ...more] = readItemFile(file, 'journeys', 'journey');
  if (more.length) throw new UsageError(`${file}: simulate takes one journey`);
  const check = checkJourney(item);
  if (!check.ok) {
    report(flags, ctx, { status: 'invalid', reason: check.reason }, (r) => [`invalid ${check.journeyId}: ${r.reason}`]);
    return 1;
  }
  const ref = String(flags.customer);
  const lookup = await findCustomer(ctx.db, ctx.names, ref);
  if (lookup.status !== 'found') {
    (ctx.err ?? ctx.out)(notFound(ref, lookup));
    return 1;
  }
  // A copy of the customer in memory: the real state, nothing written back, nothing sent.
  const state = decodeState<CustomerState>(lookup.item.state);
  const customerId = String(lookup.item.customerId);
  const memory = new MemoryCustomerRepository<CustomerState>();
  const identities = (lookup.item.identities as string[] | undefined) ?? [];
  memory.profiles.set(customerId, { customerId, version: Number(lookup.item.version), state, identities });
  for (const key of identities) memory.identities.set(key, customerId);
  let now = (ctx.clock ?? (() => new Date()))().getTime();
  const clock = () => new Date(now);
  const timers = new MemoryJourneyTimers();
  const metrics = new MemoryMetrics();
  const deps = { journeys: new MemoryJourneySource(new StaticJourneyBook([check.journey])), instances: memory.journeys, outbox: memory.journeys, timers, metrics, clock };
  const ingest = createIngest({
    customers: memory,
    quarantine: new MemoryQuarantine(),
    rules: new CachedRuleSource(scanCurrentRules(ctx.db, ctx.names.rules)),
    campaigns: new CachedCampaignSource(scanCampaignItems(ctx.db, ctx.names.campaigns)),
    metrics,
    clock,
    sleep: async () => {},
    journeys: createJourneyStep(deps),
  });
  const events = flags.events ? readEvents(String(flags.events)) : [];
  const log: { at: string; event: string; outcome: string }[] = [];
  const fire = async (until: number) => {
    for (let due = timers.nextDue(); due !== undefined && due <= until; due = timers.nextDue()) {
      now = Math.max(now, due);
      for (const s of timers.due(now)) {
        const out = await ingest(JSON.stringify(s.event));
        log.push({ at: clock().toISOString(), event: `timer ${s.event.detail.stepId}`, outcome: out.status });
      }
    }
    now = Math.max(now, until);
  };
  for (const e of events) {
    const at = Date.parse(String((e as { detail?: { occurredAt?: string } }).detail?.occurredAt ?? ''));
    if (Number.isFinite(at) && at > now) await fire(at);
    const out = await ingest(JSON.stringify(e));
    log.push({ at: clock().toISOString(), event: `${(e as { source?: string }).source}/${(e as { 'detail-type'?: string })['detail-type']}`, outcome: out.status });
  }
  await fire(now + parseDuration(String(flags.advance ?? '0m')));
  const instance = (await memory.journeys.load(customerId)).find((i) => i.journeyId === check.journey.journeyId);
  const decisions = [...memory.decisions.values()].map((d) => ({
    at: d.at,
    event: d.eventType,
    candidates: d.candidates.filter((c) => c.ruleId.startsWith(`journey:${check.journey.journeyId}:`) || d.messages.some((m) => m.ruleId === c.ruleId)).map((c) => ({ ruleId: c.ruleId, channel: c.channel, outcome: c.outcome, reason: c.reason })),
  }));
  const result = { customerId, journeyId: check.journey.journeyId, until: clock().toISOString(), deliveries: log, path: instance?.path ?? [], status: instance?.status ?? 'not entered', waitingIn: instance?.stepId ?? null, dueAt: instance?.dueAt ?? null, decisions, sent: 'nothing (dry run)' };
  report(flags, ctx, result, (r) => [
    `${r.journeyId} for ${r.customerId}, simulated until ${r.until}: ${r.status}${r.waitingIn ? ` in ${r.waitingIn} until ${r.dueAt}` : ''}`,
    'path:',
    ...(r.path.length ? r.path.map((p) => `  ${p.at}  ${p.stepId.padEnd(24)} ${p.what}`) : ['  (the customer did not enter)']),
    'decisions (nothing was sent):',
    ...r.decisions.flatMap((d) => d.candidates.map((c) => `  ${d.at}  ${c.ruleId} (${c.channel}): ${c.outcome}: ${c.reason}`)),
  ]);
  return 0;
}
