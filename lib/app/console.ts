// The marketer's console API (docs/console.md): rules with four-eyes changes and their audit,
// journeys (step graph, customers per step, pause/resume), segments and runs, the reports with their
// CSV, customers with their decisions explained and their erasure (admins), quarantine and its
// replay (admins), the overview figures and (on the laptop) the messages every channel sent. One typed request in, one status and body out; HTTP and the
// Cognito claims are functions/console-api.ts's. Authorisation is checked here, for every call:
// groups rank viewer < marketer < approver < admin, and a caller of another tenant finds nothing
// (404, as for an id that does not exist, so ids leak nothing).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ID_KINDS } from '../../events/catalog.ts';
import { parseEvent } from '../../events/validate.ts';
import { checkRule, type Rule } from '../core/rules/rule.ts';
import { RuleSet } from '../core/rules/engine.ts';
import { customerView, type CustomerState } from '../core/customer/index.ts';
import { dryRunDecision } from './decide-and-commit.ts';
import { ruleReferences, type TemplateVariants } from './rule-references.ts';
import { CONSOLE_GROUPS } from '../contract/console.ts';
import { checkJourney } from '../core/journeys/check.ts';
import { checkSegment } from '../core/segments/segment.ts';
import type { Run } from '../core/runs/run.ts';
import { successors } from '../core/journeys/journey.ts';
import { reportCsv } from '../core/reports/csv.ts';
import type { DimensionKind } from '../core/reports/aggregates.ts';
import { createReports } from './reports.ts';
import { setJourneyStatus } from './journey-status.ts';
import { replayQuarantined } from './quarantine-replay.ts';
import type { IngestOutcome } from './ingest.ts';
import type {
  AggregatesPort,
  CampaignSource,
  ChangeKind,
  ChangeStore,
  ConsoleEventPublisher,
  CustomerDirectory,
  CustomerRepository,
  JourneyPositions,
  JourneyStore,
  QuarantineShelf,
  QuarantineStore,
  RuleChange,
  RuleStore,
  RunRepository,
  SegmentDirectory,
} from './ports.ts';

export const GROUPS = CONSOLE_GROUPS;
export type Group = (typeof GROUPS)[number];

/** Who calls, as the identity provider says (Cognito groups and the tenant claim). */
export interface Caller {
  readonly user: string;
  readonly groups: readonly string[];
  readonly tenant: string;
}

/** The highest of the caller's groups Baton knows; undefined when none. */
export function roleOf(caller: Caller): Group | undefined {
  const known = caller.groups.filter((g): g is Group => (GROUPS as readonly string[]).includes(g));
  return known.sort((a, b) => GROUPS.indexOf(b) - GROUPS.indexOf(a))[0];
}

const atLeast = (caller: Caller, group: Group): boolean => {
  const role = roleOf(caller);
  return role !== undefined && GROUPS.indexOf(role) >= GROUPS.indexOf(group);
};

export interface ConsoleDeps {
  /** The deployment's tenant: a caller with another tenant claim finds nothing. */
  readonly tenant: string;
  /** Four eyes: a change goes live only when an approver other than its author accepts it. @default true */
  readonly fourEyes?: boolean;
  readonly rules: RuleStore;
  readonly changes: ChangeStore;
  readonly templates: TemplateVariants;
  /** How messages name the templates table. */
  readonly templatesWhere: string;
  readonly customers: CustomerDirectory<CustomerState>;
  /** The profiles and identity index, read by the dry run (no writes). */
  readonly profiles: CustomerRepository<CustomerState>;
  readonly campaigns?: CampaignSource;
  readonly quarantine: QuarantineShelf & Pick<QuarantineStore, 'withdraw'>;
  /** Ingest as the pipeline runs it, its quarantine writes going to `quarantine`: what a replay runs through (none: no replay here). */
  readonly ingestWith?: (quarantine: QuarantineStore) => (body: string) => Promise<IngestOutcome>;
  /** The journeys (the CLI's repository) and where their customers are. */
  readonly journeys: JourneyStore;
  readonly journeyPositions: JourneyPositions;
  readonly segments: SegmentDirectory;
  readonly runs: Pick<RunRepository, 'list' | 'get' | 'counts'>;
  /** The report aggregates `baton report` reads. */
  readonly aggregates: AggregatesPort;
  /** Where an erasure request goes: the bus, as a CRM sends it. */
  readonly events: ConsoleEventPublisher;
  /** Figures for the overview: the live summary locally, the aggregates in the cloud. */
  readonly overview?: () => Promise<Record<string, unknown>>;
  /** What every channel sent (the local stack only). */
  readonly messages?: (customerId: string | undefined) => Promise<Record<string, unknown>[]>;
  /** Sample events by name (events/samples), for tests of a rule. */
  readonly samples: { list(): string[]; load(name: string): Record<string, unknown> };
  readonly clock?: () => Date;
  readonly newId?: () => string;
}

export interface ConsoleRequest {
  readonly method: string;
  /** The path under the API's base, e.g. `/rules/renewal-email`. */
  readonly path: string;
  readonly query?: Readonly<Record<string, string | undefined>>;
  readonly body?: unknown;
  /** Undefined when the request carried no identity: 401. */
  readonly caller: Caller | undefined;
}

export interface ConsoleResponse {
  readonly status: number;
  readonly body: unknown;
}

const ok = (body: unknown): ConsoleResponse => ({ status: 200, body });
const problem = (status: number, code: string, reason: string): ConsoleResponse => ({ status, body: { code, reason } });
const NOT_FOUND = (what: string) => problem(404, 'not-found', `${what} not found`);

/** Why a body is refused: the fields and what was expected, never the values. */
function invalid(error: z.ZodError): ConsoleResponse {
  return problem(400, 'invalid-request', error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '));
}

const ruleBody = z.object({ rule: z.record(z.string(), z.unknown()) }).strict();
const testBody = z
  .object({
    rule: z.record(z.string(), z.unknown()),
    sample: z.string().min(1).max(128).optional(),
    event: z.record(z.string(), z.unknown()).optional(),
    customer: z.string().min(1).max(254).optional(),
  })
  .strict()
  .refine((b) => (b.sample === undefined) !== (b.event === undefined), { message: 'give exactly one of sample or event', path: ['sample'] });
const noteBody = z.object({ note: z.string().max(500).optional() }).strict();
const searchQuery = z.object({ q: z.string().min(1, 'expected an external id or a customerId').max(254) });
const eraseBody = z.object({ confirm: z.string().min(1, "expected the customer's id, as the confirmation names it").max(128) }).strict();
const DAY = /^\d{4}-\d{2}-\d{2}$/;
const reportQuery = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_.:@+-]{1,128}$/, 'letters, digits and _ . : @ + -, at most 128').optional(),
    from: z.string().regex(DAY, 'expected a day as yyyy-mm-dd').optional(),
    to: z.string().regex(DAY, 'expected a day as yyyy-mm-dd').optional(),
    by: z.enum(['day', 'week'], 'expected day or week').optional(),
    format: z.enum(['json', 'csv'], 'expected json or csv').optional(),
  })
  .strict();
/** The reports of `baton report`, by the name the page and the CLI use, and the aggregates' kind. */
const REPORTS = { campaign: 'campaign', channel: 'channel', offer: 'offer', segment: 'segment', journey: 'step' } as const satisfies Record<string, DimensionKind>;
type ReportName = keyof typeof REPORTS;
const idParam = z.string().regex(/^[A-Za-z0-9_.:@+-]{1,128}$/, 'letters, digits and _ . : @ + -, at most 128');

/** Field-level differences between two JSON values, by path. */
function diffFields(before: unknown, after: unknown, path = ''): { path: string; before: unknown; after: unknown }[] {
  if (isDeepStrictEqual(before, after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffFields(before[k], after[k], path ? `${path}.${k}` : k));
  }
  return [{ path, before, after }];
}

/** The rule as the CLI writes it: parsed (defaults filled in), without what the history adds. */
const parsedContent = (content: Record<string, unknown>): Record<string, unknown> => {
  const c = checkRule(content);
  return c.ok ? (JSON.parse(JSON.stringify(c.rule)) as Record<string, unknown>) : content;
};

/**
 * One send is kept twice in the state's contacts: as the decision recorded it (keyed by the
 * decisionId) and as the provider's feedback did (decisionId/channel, with the provider's send time).
 * The timeline shows it once, with the provider's time when there is one.
 */
function distinctContacts(contacts: CustomerState['contacts']): CustomerState['contacts'] {
  const byKey = new Map<string, CustomerState['contacts'][number]>();
  for (const c of contacts) {
    const key = `${c.id.replace(/\/[a-z]+$/, '')}/${c.channel}`;
    const seen = byKey.get(key);
    if (!seen || (!seen.id.includes('/') && c.id.includes('/'))) byKey.set(key, { ...seen, ...c, sentAt: c.sentAt ?? seen?.sentAt });
  }
  return [...byKey.values()];
}

/** The journey's steps as a graph: each step, what it does, and the steps it may lead to. */
function journeyGraph(content: Record<string, unknown>) {
  const check = checkJourney(content);
  if (!check.ok) return { valid: false as const, reason: check.reason, steps: [] };
  const j = check.journey;
  const steps = j.steps.map((step, i) => {
    const what =
      step.type === 'send' ? `send ${step.channel} ${step.template}` : step.type === 'wait' ? `wait${step.event ? ' for an event' : ''}` : step.type === 'action' ? `action ${step.action}` : step.type;
    return { id: step.id, type: step.type, what, next: successors(j, i) };
  });
  return { valid: true as const, steps, entry: j.entry, goal: j.goal ?? null, status: j.status ?? 'active' };
}

/** What the page shows of a run. */
const runSummary = (run: Run) => ({ runId: run.runId, campaignId: run.campaignId, segmentId: run.segmentId, at: run.at, state: run.state, createdAt: run.createdAt, ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}) });

/** Days a member count covers: the last 30, from today back. */
function sizeByDay(since: readonly string[], today: Date, days = 30) {
  const sorted = since.map((s) => s.slice(0, 10)).sort();
  const out: { day: string; members: number }[] = [];
  let i = 0;
  for (let d = days - 1; d >= 0; d--) {
    const day = new Date(today.getTime() - d * 86_400_000).toISOString().slice(0, 10);
    while (i < sorted.length && sorted[i]! <= day) i++;
    out.push({ day, members: i });
  }
  return out;
}

type Handler = (req: ConsoleRequest & { caller: Caller }, params: string[]) => Promise<ConsoleResponse>;
interface Route {
  readonly method: string;
  readonly path: RegExp;
  /** The least group that may call it. */
  readonly group: Group;
  readonly handle: Handler;
}

export function createConsole(deps: ConsoleDeps): (req: ConsoleRequest) => Promise<ConsoleResponse> {
  const now = () => (deps.clock ?? (() => new Date()))();
  const newId = deps.newId ?? randomUUID;
  const fourEyes = deps.fourEyes ?? true;
  const reports = createReports({ aggregates: deps.aggregates });

  /** Schema (the same zod and pattern checks as `baton rules validate`), then what the rule names. */
  async function validate(raw: Record<string, unknown>): Promise<{ rule?: Rule; problems: string[]; warnings: string[] }> {
    const c = checkRule(raw);
    if (!c.ok) return { problems: [c.reason], warnings: [] };
    const [ref] = await ruleReferences([c.rule], deps.templates, deps.templatesWhere);
    return ref?.errors.length ? { problems: ref.errors, warnings: ref.warnings } : { rule: c.rule, problems: [], warnings: ref?.warnings ?? [] };
  }

  async function apply(change: RuleChange, by: string): Promise<ConsoleResponse | number> {
    if (change.kind === 'put') return (await deps.rules.put(change.rule!, by)).version;
    if (change.kind === 'rollback') {
      const r = await deps.rules.rollback(change.ruleId, by);
      if (r.status !== 'rolled-back') return problem(409, 'nothing-to-roll-back', `rule ${change.ruleId}: no earlier valid version differs from the live one`);
      return r.version!;
    }
    const w = await deps.rules.update(change.ruleId, { enabled: change.kind === 'enable' }, by);
    return w ? w.version : NOT_FOUND(`rule ${change.ruleId}`);
  }

  async function submit(caller: Caller, ruleId: string, kind: ChangeKind, rule?: Record<string, unknown>): Promise<ConsoleResponse> {
    const current = await deps.rules.current(ruleId);
    if (kind !== 'put' && !current) return NOT_FOUND(`rule ${ruleId}`);
    const at = now().toISOString();
    const change: RuleChange = {
      changeId: newId(),
      ruleId,
      kind,
      ...(rule ? { rule } : {}),
      baseVersion: current?.version ?? null,
      author: caller.user,
      submittedAt: at,
      status: 'pending',
    };
    await deps.changes.add(change);
    await deps.changes.audit({ at, who: caller.user, what: 'submitted', ruleId, changeId: change.changeId, kind });
    if (fourEyes) return { status: 202, body: { change } };
    // Four eyes off: the author's change is accepted as it is submitted, and audited as such.
    return approve(caller, change, 'four eyes are off');
  }

  async function approve(caller: Caller, change: RuleChange, note?: string): Promise<ConsoleResponse> {
    const current = await deps.rules.current(change.ruleId);
    if ((current?.version ?? null) !== change.baseVersion) {
      return problem(409, 'rule-changed', `rule ${change.ruleId} changed since this change was submitted (version ${change.baseVersion ?? 'none'}, now ${current?.version ?? 'none'}): reject it and submit again`);
    }
    const at = now().toISOString();
    if (!(await deps.changes.decide(change.changeId, { status: 'approved', decidedBy: caller.user, decidedAt: at, ...(note ? { note } : {}) }))) {
      return problem(409, 'already-decided', `change ${change.changeId} was decided by someone else meanwhile`);
    }
    await deps.changes.audit({ at, who: caller.user, what: 'approved', ruleId: change.ruleId, changeId: change.changeId, kind: change.kind, ...(note ? { note } : {}) });
    const by = caller.user === change.author ? change.author : `${change.author} (approved by ${caller.user})`;
    const version = await apply(change, by);
    if (typeof version !== 'number') return version;
    await deps.changes.applied(change.changeId, version);
    await deps.changes.audit({ at: now().toISOString(), who: caller.user, what: 'applied', ruleId: change.ruleId, changeId: change.changeId, kind: change.kind, version });
    return ok({ change: { ...change, status: 'approved', decidedBy: caller.user, decidedAt: at, version } });
  }

  async function customerPage(customerId: string): Promise<ConsoleResponse> {
    const record = await deps.customers.load(customerId);
    if (!record) return NOT_FOUND('customer');
    const history = await deps.customers.decisions(record.customerIds, 20);
    const decisions = history.decisions.map(({ decision: d, messages }) => ({
      decisionId: String(d.decisionId),
      eventId: String(d.eventId),
      eventType: String(d.eventType),
      at: String(d.at),
      candidates: (d.candidates ?? []) as { ruleId: string; channel: string; outcome: string; reason: string }[],
      messages: messages.map((m) => ({
        channel: m.channel,
        ruleId: m.ruleId,
        status: m.status,
        ...(m.template ? { template: m.template } : {}),
        ...(m.offer ? { offer: m.offer } : {}),
        ...(m.sentAt ? { sentAt: m.sentAt } : {}),
        ...(m.failure ? { failure: m.failure } : {}),
        ...(m.providerMessageId ? { messageId: m.providerMessageId } : {}),
      })),
    }));
    // The timeline: each event a decision was made on, and the contacts the state keeps.
    const s = record.state;
    const timeline = [
      ...decisions.map((d) => ({ at: d.at, what: `event ${d.eventType}`, detail: `${d.candidates.length} candidate rule(s), ${d.messages.length} message(s)` })),
      ...distinctContacts(s.contacts).map((x) => ({ at: x.sentAt ?? '', what: `contacted on ${x.channel}`, detail: x.campaignId ? `campaign ${x.campaignId}` : '' })),
    ]
      .filter((t) => t.at)
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    const messages = deps.messages ? await deps.messages(record.customerId) : undefined;
    return ok({
      customerId: record.customerId,
      version: record.version,
      identities: record.identities,
      updatedAt: record.updatedAt,
      view: customerView(s, now()),
      timeline,
      decisionsTotal: history.total,
      decisions,
      ...(messages ? { messages } : {}),
    });
  }

  const routes: Route[] = [
    { method: 'GET', path: /^\/me$/, group: 'viewer', handle: async (r) => ok({ user: r.caller.user, role: roleOf(r.caller), tenant: r.caller.tenant, fourEyes }) },
    { method: 'GET', path: /^\/overview$/, group: 'viewer', handle: async () => ok({ figures: deps.overview ? await deps.overview() : null, quarantined7d: (await deps.quarantine.list(7)).length }) },
    {
      method: 'GET',
      path: /^\/rules$/,
      group: 'viewer',
      handle: async () => {
        const [rules, changes] = await Promise.all([deps.rules.list(), deps.changes.list()]);
        const pending = changes.filter((c) => c.status === 'pending');
        return ok({
          rules: rules.map((r) => {
            const c = checkRule(r.content);
            return { ruleId: r.id, version: r.version ?? null, updatedAt: r.updatedAt ?? null, updatedBy: r.updatedBy ?? null, rule: r.content, ...(c.ok ? {} : { invalid: c.reason }), pending: pending.filter((p) => p.ruleId === r.id).length };
          }),
        });
      },
    },
    { method: 'GET', path: /^\/samples$/, group: 'viewer', handle: async () => ok({ samples: deps.samples.list() }) },
    {
      method: 'GET',
      path: /^\/samples\/([^/]+\/[^/]+)$/,
      group: 'viewer',
      handle: async (_r, [name]) => {
        if (!deps.samples.list().includes(name!)) return NOT_FOUND(`sample ${name}`);
        return ok({ event: deps.samples.load(name!) });
      },
    },
    {
      method: 'POST',
      path: /^\/rules\/validate$/,
      group: 'marketer',
      handle: async (r) => {
        const body = ruleBody.safeParse(r.body);
        if (!body.success) return invalid(body.error);
        const v = await validate(body.data.rule);
        return ok({ valid: v.problems.length === 0, problems: v.problems, warnings: v.warnings });
      },
    },
    {
      method: 'POST',
      path: /^\/rules\/diff$/,
      group: 'viewer',
      handle: async (r) => {
        const body = ruleBody.safeParse(r.body);
        if (!body.success) return invalid(body.error);
        const c = checkRule(body.data.rule);
        if (!c.ok) return problem(400, 'invalid-rule', c.reason);
        const current = await deps.rules.current(c.rule.ruleId);
        const after = parsedContent(body.data.rule);
        return ok({ ruleId: c.rule.ruleId, against: current?.version ?? null, status: current ? 'changed' : 'new', fields: current ? diffFields(parsedContent(current.content), after) : [] });
      },
    },
    {
      method: 'POST',
      path: /^\/rules\/test$/,
      group: 'marketer',
      handle: async (r) => {
        const body = testBody.safeParse(r.body);
        if (!body.success) return invalid(body.error);
        const c = checkRule(body.data.rule);
        if (!c.ok) return problem(400, 'invalid-rule', `rule: ${c.reason}`);
        let raw: Record<string, unknown>;
        if (body.data.sample !== undefined) {
          if (!deps.samples.list().includes(body.data.sample)) return problem(400, 'invalid-request', 'sample: expected the name of a sample event, <source>/<DetailType>');
          raw = deps.samples.load(body.data.sample);
        } else raw = body.data.event!;
        const event: Record<string, unknown> = { version: '0', id: `console-test-${newId()}`, time: now().toISOString(), ...raw };
        if (body.data.customer !== undefined) {
          // The event is the customer's: its ids become one id the customer is known by.
          const found = await deps.customers.search(body.data.customer);
          if (found.length !== 1) return found.length ? problem(400, 'ambiguous-customer', 'customer: this id names several customers; use the customerId') : NOT_FOUND('customer');
          const record = await deps.customers.load(found[0]!.customerId);
          const ref = record?.identities.map((k) => k.split('#')).find(([kind]) => (ID_KINDS as readonly string[]).includes(kind!));
          if (!record || !ref) return NOT_FOUND('customer');
          const detail = (event.detail && typeof event.detail === 'object' ? event.detail : {}) as Record<string, unknown>;
          event.detail = { ...detail, ids: { [ref[0]!]: ref.slice(1).join('#') } };
        }
        const parsed = parseEvent(event);
        if (!parsed.ok) return problem(400, 'invalid-event', `event: ${parsed.reason}`);
        const campaigns = deps.campaigns ? await deps.campaigns.current() : undefined;
        const run = await dryRunDecision({ customers: deps.profiles }, { event: parsed.event, rules: new RuleSet([c.rule]), ...(campaigns ? { campaigns } : {}), now: now() });
        const candidates = (run.decision?.candidates ?? []).map((x) => ({ ruleId: x.ruleId, channel: x.channel, outcome: x.outcome, reason: x.reason }));
        return ok({
          eventType: `${parsed.event.source}/${parsed.event['detail-type']}`,
          customerId: run.customerId ?? null,
          known: run.known,
          erased: run.erased,
          matched: candidates.length > 0,
          wouldSend: (run.decision?.messages.length ?? 0) > 0,
          candidates,
        });
      },
    },
    {
      method: 'GET',
      path: /^\/rules\/([^/]+)$/,
      group: 'viewer',
      handle: async (_r, [id]) => {
        const current = await deps.rules.current(id!);
        if (!current) return NOT_FOUND(`rule ${id}`);
        const [versions, changes] = await Promise.all([deps.rules.versions(id!, 20), deps.changes.list()]);
        return ok({
          ruleId: id,
          current,
          versions: versions.map((v, i) => ({ ...v, fields: versions[i + 1] ? diffFields(parsedContent(versions[i + 1]!.content), parsedContent(v.content)) : [] })),
          changes: changes.filter((c) => c.ruleId === id),
        });
      },
    },
    {
      method: 'POST',
      path: /^\/rules$/,
      group: 'marketer',
      handle: async (r) => {
        const body = ruleBody.safeParse(r.body);
        if (!body.success) return invalid(body.error);
        const v = await validate(body.data.rule);
        if (!v.rule) return problem(400, 'invalid-rule', v.problems.join('; '));
        return submit(r.caller, v.rule.ruleId, 'put', body.data.rule);
      },
    },
    ...(['disable', 'enable', 'rollback'] as const).map(
      (kind): Route => ({ method: 'POST', path: new RegExp(`^/rules/([^/]+)/${kind}$`), group: 'marketer', handle: async (r, [id]) => submit(r.caller, id!, kind) }),
    ),
    {
      method: 'GET',
      path: /^\/changes$/,
      group: 'viewer',
      handle: async (r) => {
        const status = r.query?.status;
        const all = await deps.changes.list();
        return ok({ changes: all.filter((c) => !status || c.status === status).sort((a, b) => (a.submittedAt < b.submittedAt ? 1 : -1)) });
      },
    },
    {
      method: 'POST',
      path: /^\/changes\/([^/]+)\/(approve|reject)$/,
      group: 'approver',
      handle: async (r, [id, verb]) => {
        const body = noteBody.safeParse(r.body ?? {});
        if (!body.success) return invalid(body.error);
        const change = await deps.changes.get(id!);
        if (!change) return NOT_FOUND(`change ${id}`);
        if (change.status !== 'pending') return problem(409, 'already-decided', `change ${id} is already ${change.status}`);
        if (verb === 'approve') {
          if (fourEyes && change.author === r.caller.user) return problem(403, 'four-eyes', 'you submitted this change: another approver must accept it');
          return approve(r.caller, change, body.data.note);
        }
        const at = now().toISOString();
        if (!(await deps.changes.decide(change.changeId, { status: 'rejected', decidedBy: r.caller.user, decidedAt: at, ...(body.data.note ? { note: body.data.note } : {}) }))) {
          return problem(409, 'already-decided', `change ${id} was decided by someone else meanwhile`);
        }
        await deps.changes.audit({ at, who: r.caller.user, what: 'rejected', ruleId: change.ruleId, changeId: change.changeId, kind: change.kind, ...(body.data.note ? { note: body.data.note } : {}) });
        return ok({ change: { ...change, status: 'rejected', decidedBy: r.caller.user, decidedAt: at } });
      },
    },
    { method: 'GET', path: /^\/audit$/, group: 'viewer', handle: async () => ok({ entries: await deps.changes.auditLog(200) }) },
    {
      method: 'GET',
      path: /^\/customers$/,
      group: 'viewer',
      handle: async (r) => {
        const q = searchQuery.safeParse(r.query ?? {});
        if (!q.success) return invalid(q.error);
        return ok({ customers: await deps.customers.search(q.data.q) });
      },
    },
    { method: 'GET', path: /^\/customers\/(cus-[^/]+)$/, group: 'viewer', handle: async (_r, [id]) => customerPage(id!) },
    {
      method: 'GET',
      path: /^\/quarantine$/,
      group: 'viewer',
      handle: async (r) => {
        const days = Number(r.query?.days ?? 7);
        if (!Number.isInteger(days) || days < 1 || days > 30) return problem(400, 'invalid-request', 'days: expected a whole number from 1 to 30');
        // What each event was (source, type, id) and why it was refused; its payload stays in the table.
        const entries = (await deps.quarantine.list(days)).map((e) => {
          let what: Record<string, unknown> = {};
          try {
            const p = JSON.parse(e.body) as Record<string, unknown>;
            what = { source: p.source ?? null, detailType: p['detail-type'] ?? null, eventId: p.id ?? null };
          } catch {
            what = { notJson: true };
          }
          return { quarantineId: e.quarantineId, receivedAt: e.receivedAt, code: e.code, reason: e.reason, ...what };
        });
        return ok({ days, entries });
      },
    },
    {
      method: 'GET',
      path: /^\/messages$/,
      group: 'viewer',
      handle: async (r) => (deps.messages ? ok({ messages: await deps.messages(r.query?.customer) }) : NOT_FOUND('messages (the local stack only)')),
    },

    // ---- journeys: the step graph with its customers, pause and resume (the CLI's code) ----
    {
      method: 'GET',
      path: /^\/journeys$/,
      group: 'viewer',
      handle: async () => {
        const live = await deps.journeys.list();
        return ok({
          journeys: live.map((j) => {
            const check = checkJourney(j.content);
            return { journeyId: j.journeyId, campaignId: j.campaignId, version: j.version ?? null, status: String(j.content.status ?? 'active'), updatedAt: j.updatedAt ?? null, updatedBy: j.updatedBy ?? null, ...(check.ok ? {} : { invalid: check.reason }) };
          }),
        });
      },
    },
    {
      method: 'GET',
      path: /^\/journeys\/([^/]+)$/,
      group: 'viewer',
      handle: async (_r, [id]) => {
        const live = await deps.journeys.current(id!);
        if (!live) return NOT_FOUND(`journey ${id}`);
        const [versions, positions] = await Promise.all([deps.journeys.versions(id!), deps.journeyPositions.tally(id!)]);
        const graph = journeyGraph(live.content);
        const waitingHere = (stepId: string) => positions.waiting.filter((w) => w.stepId === stepId).reduce((n, w) => n + w.customers, 0);
        return ok({
          journeyId: live.journeyId,
          campaignId: live.campaignId,
          version: live.version ?? null,
          status: String(live.content.status ?? 'active'),
          ...(graph.valid ? { entry: graph.entry, goal: graph.goal } : { invalid: graph.reason }),
          steps: graph.steps.map((st) => ({ ...st, customers: waitingHere(st.id) })),
          waiting: positions.waiting,
          // Goal reached: converted; left through an exit step or at the end: exited or completed.
          outcomes: { converted: positions.ended.converted ?? 0, exited: positions.ended.exited ?? 0, completed: positions.ended.completed ?? 0, byReason: positions.endReasons },
          versions: versions.map((v) => ({ version: v.version ?? null, updatedAt: v.updatedAt ?? null, updatedBy: v.updatedBy ?? null, status: String(v.content.status ?? 'active') })),
        });
      },
    },
    ...(['pause', 'resume'] as const).map(
      (verb): Route => ({
        method: 'POST',
        path: new RegExp(`^/journeys/([^/]+)/${verb}$`),
        group: 'marketer',
        handle: async (r, [id]) => {
          const written = await setJourneyStatus(deps.journeys, id!, verb === 'pause' ? 'paused' : 'active', r.caller.user);
          if (written.status === 'not-found') return NOT_FOUND(`journey ${id}`);
          if (written.status === 'invalid') return problem(409, 'invalid-journey', `journey ${id} is not valid as stored: ${written.reason}`);
          await deps.changes.audit({ at: now().toISOString(), who: r.caller.user, what: verb === 'pause' ? 'paused' : 'resumed', subject: `journey ${id}`, version: written.version });
          return ok({ journeyId: written.journeyId, version: written.version, status: verb === 'pause' ? 'paused' : 'active' });
        },
      }),
    ),

    // ---- segments and runs ----
    {
      method: 'GET',
      path: /^\/segments$/,
      group: 'viewer',
      handle: async () => {
        const stored = await deps.segments.list();
        const counts = await deps.segments.counts(stored.map((x) => x.id));
        return ok({
          segments: stored.map((x) => {
            const check = checkSegment(x.content);
            return { segmentId: x.id, version: x.version ?? null, kind: String(x.content.kind ?? 'dynamic'), enabled: x.content.enabled !== false, members: counts.get(x.id) ?? 0, ...(check.ok ? {} : { invalid: check.reason }) };
          }),
        });
      },
    },
    {
      method: 'GET',
      path: /^\/segments\/([^/]+)$/,
      group: 'viewer',
      handle: async (_r, [id]) => {
        const stored = await deps.segments.current(id!);
        if (!stored) return NOT_FOUND(`segment ${id}`);
        const [counts, since, runs] = await Promise.all([deps.segments.counts([id!]), deps.segments.memberSince(id!), deps.runs.list()]);
        const members = counts.get(id!) ?? 0;
        const ofSegment = runs.filter((run) => run.segmentId === id);
        return ok({
          segmentId: id,
          version: stored.version ?? null,
          updatedAt: stored.updatedAt ?? null,
          updatedBy: stored.updatedBy ?? null,
          definition: stored.content,
          members,
          // No history of sizes is kept: the members now, by the day they joined (those who left are not counted).
          sizeByDay: sizeByDay(since, now()),
          runs: await Promise.all(ofSegment.map(async (run) => ({ ...runSummary(run), counts: await deps.runs.counts(run.runId), members }))),
        });
      },
    },
    {
      method: 'GET',
      path: /^\/runs$/,
      group: 'viewer',
      handle: async () => {
        const runs = await deps.runs.list();
        const counts = await deps.segments.counts([...new Set(runs.map((r) => r.segmentId))]);
        return ok({ runs: await Promise.all(runs.map(async (run) => ({ ...runSummary(run), counts: await deps.runs.counts(run.runId), members: counts.get(run.segmentId) ?? 0 }))) });
      },
    },
    {
      method: 'GET',
      path: /^\/runs\/([^/]+)$/,
      group: 'viewer',
      handle: async (_r, [id]) => {
        const run = await deps.runs.get(id!);
        if (!run) return NOT_FOUND(`run ${id}`);
        const [counts, members] = await Promise.all([deps.runs.counts(run.runId), deps.segments.counts([run.segmentId])]);
        return ok({ ...runSummary(run), counts, members: members.get(run.segmentId) ?? 0, bucketsDone: run.buckets.filter((b) => b.done).length, buckets: run.buckets.length });
      },
    },

    // ---- reports: each of `baton report`, with the CLI's CSV ----
    {
      method: 'GET',
      path: /^\/reports$/,
      group: 'viewer',
      handle: async () => {
        const [campaigns, steps] = await Promise.all([deps.aggregates.ids('campaign'), deps.aggregates.ids('step')]);
        return ok({ reports: Object.keys(REPORTS), campaigns: campaigns.sort(), journeys: [...new Set(steps.map((s) => s.split('/')[0]!))].sort() });
      },
    },
    {
      method: 'GET',
      path: /^\/reports\/(campaign|channel|offer|segment|journey)$/,
      group: 'viewer',
      handle: async (r, [name]) => {
        const q = reportQuery.safeParse(r.query ?? {});
        if (!q.success) return invalid(q.error);
        const report = name as ReportName;
        const needsId = report === 'campaign' || report === 'journey';
        if (needsId && !q.data.id) return problem(400, 'invalid-request', `id: expected the ${report}'s id`);
        const to = q.data.to ?? now().toISOString().slice(0, 10);
        const from = q.data.from ?? new Date(Date.parse(`${to}T00:00:00Z`) - 29 * 86_400_000).toISOString().slice(0, 10);
        if (from > to) return problem(400, 'invalid-request', 'from: expected a day on or before to');
        const range = { from, to, by: q.data.by ?? 'day' } as const;
        const result =
          report === 'campaign' ? [await reports.one('campaign', q.data.id!, range)] : report === 'journey' ? await reports.all('step', range, `${q.data.id}/`) : await reports.all(REPORTS[report], range);
        if (q.data.format === 'csv') {
          return ok({ filename: `baton-report-${report}${q.data.id ? `-${q.data.id}` : ''}-${from}-${to}.csv`, csv: `${reportCsv(result).join('\n')}\n` });
        }
        return ok({ report, id: q.data.id ?? null, ...range, reports: result });
      },
    },

    // ---- erasure (admins only) and quarantine replay ----
    {
      method: 'POST',
      path: /^\/customers\/(cus-[^/]+)\/erase$/,
      group: 'admin',
      handle: async (r, [id]) => {
        const body = eraseBody.safeParse(r.body ?? {});
        if (!body.success) return invalid(body.error);
        const record = await deps.customers.load(id!);
        if (!record) return NOT_FOUND('customer');
        if (body.data.confirm !== record.customerId) return problem(400, 'invalid-request', "confirm: expected the customer's id, as the confirmation names it");
        // CustomerErased names the customer by one of their external ids, as a CRM sends it.
        const ref = record.identities.map((k) => k.split('#')).find(([kind]) => (ID_KINDS as readonly string[]).includes(kind!));
        if (!ref) return problem(409, 'no-external-id', 'this customer is known by no external id an erasure can name');
        const requestId = `console-${newId()}`;
        const at = now().toISOString();
        const eventId = await deps.events.publish({ source: 'baton.crm', 'detail-type': 'CustomerErased', detail: { ids: { [ref[0]!]: ref.slice(1).join('#') }, occurredAt: at, requestId } });
        await deps.changes.audit({ at, who: r.caller.user, what: 'erasure-requested', subject: `customer ${record.customerId}`, note: `request ${requestId}` });
        return { status: 202, body: { customerId: record.customerId, requestId, eventId } };
      },
    },
    {
      method: 'POST',
      path: /^\/quarantine\/([^/]+)\/replay$/,
      group: 'admin',
      handle: async (r, [id]) => {
        if (!deps.ingestWith) return NOT_FOUND('replay (this deployment replays with baton quarantine replay)');
        const entry = (await deps.quarantine.list(30)).find((e) => e.quarantineId === id);
        if (!entry) return NOT_FOUND(`quarantined event ${id}`);
        const result = await replayQuarantined([entry], { shelf: deps.quarantine, ingestWith: deps.ingestWith });
        const still = result.stillInvalid[0];
        await deps.changes.audit({ at: now().toISOString(), who: r.caller.user, what: 'replayed', subject: `quarantined event ${id}`, note: still ? `still invalid: ${still.code}` : 'processed and removed' });
        return ok(still ? { quarantineId: id, outcome: 'still-invalid', code: still.code, reason: still.reason } : { quarantineId: id, outcome: 'processed' });
      },
    },
  ];

  return async function handle(req) {
    if (!req.caller) return problem(401, 'unauthenticated', 'sign in first: the request carried no identity');
    if (!roleOf(req.caller)) return problem(403, 'forbidden', `you are in none of the console's groups (${GROUPS.join(', ')})`);
    // Another tenant's caller finds nothing here: the same answer as for an id that does not exist.
    if (req.caller.tenant !== deps.tenant) return NOT_FOUND('resource');
    for (const route of routes) {
      const m = route.path.exec(req.path);
      if (!m) continue;
      if (route.method !== req.method) continue;
      const params = m.slice(1).map((p) => decodeURIComponent(p));
      for (const p of params) {
        const check = idParam.safeParse(p.replace(/^.*\//, ''));
        if (!check.success) return problem(400, 'invalid-request', `path: ${check.error.issues[0]!.message}`);
      }
      if (!atLeast(req.caller, route.group)) return problem(403, 'forbidden', `this call needs the ${route.group} group or higher`);
      return route.handle({ ...req, caller: req.caller }, params);
    }
    return NOT_FOUND(`${req.method} ${req.path}`);
  };
}
