// The marketer's console API (docs/console.md): rules with four-eyes changes and their audit,
// customers with their decisions explained, quarantine, the overview figures and (on the laptop)
// the messages every channel sent. One typed request in, one status and body out; HTTP and the
// Cognito claims are functions/console-api.ts's. Authorisation is checked here, for every call:
// groups rank viewer < marketer < approver < admin, and a caller of another tenant finds nothing
// (404, as for an id that does not exist, so ids leak nothing).
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ID_KINDS, type IdKind } from '../../events/catalog.ts';
import { parseEvent } from '../../events/validate.ts';
import { checkRule, type Rule } from '../core/rules/rule.ts';
import { RuleSet } from '../core/rules/engine.ts';
import { customerView, type CustomerState } from '../core/customer/index.ts';
import { dryRunDecision } from './decide-and-commit.ts';
import { ruleReferences, type TemplateVariants } from './rule-references.ts';
import type { CampaignSource, CustomerRepository } from './ports.ts';

export const GROUPS = ['viewer', 'marketer', 'approver', 'admin'] as const;
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

// Ports (implemented by lib/adapters/dynamo/console-*.ts and the rules repository).

export interface StoredRule {
  readonly id: string;
  readonly version: number | undefined;
  readonly content: Record<string, unknown>;
  readonly updatedAt?: string;
  readonly updatedBy?: string;
  readonly rolledBackFrom?: number;
}

/** The rules table's versioned rules (lib/adapters/dynamo/rules.ts, the CLI's own repository). */
export interface RuleStore {
  list(): Promise<StoredRule[]>;
  current(id: string): Promise<StoredRule | undefined>;
  versions(id: string, limit?: number): Promise<StoredRule[]>;
  put(content: Record<string, unknown>, by: string): Promise<{ id: string; version: number }>;
  update(id: string, change: Record<string, unknown>, by: string): Promise<{ id: string; version: number } | undefined>;
  rollback(id: string, by: string): Promise<{ status: string; version?: number; restored?: number }>;
}

export const CHANGE_KINDS = ['put', 'disable', 'enable', 'rollback'] as const;
export type ChangeKind = (typeof CHANGE_KINDS)[number];

/** A change a marketer submitted: live only once an approver who is not its author accepts it. */
export interface RuleChange {
  readonly changeId: string;
  readonly ruleId: string;
  readonly kind: ChangeKind;
  /** The rule as it would be written (`put` only). */
  readonly rule?: Record<string, unknown>;
  /** The live version when submitted (null: a new rule); approval refuses a rule changed since. */
  readonly baseVersion: number | null;
  readonly author: string;
  readonly submittedAt: string;
  readonly status: 'pending' | 'approved' | 'rejected';
  readonly decidedBy?: string;
  readonly decidedAt?: string;
  readonly note?: string;
  /** The rule version the approval wrote. */
  readonly version?: number;
}

export interface AuditEntry {
  readonly at: string;
  readonly who: string;
  readonly what: 'submitted' | 'approved' | 'rejected' | 'applied';
  readonly ruleId: string;
  readonly changeId: string;
  readonly kind: ChangeKind;
  readonly version?: number;
  readonly note?: string;
}

/** Pending changes and the audit log (lib/adapters/dynamo/console-changes.ts). */
export interface ChangeStore {
  add(change: RuleChange): Promise<void>;
  get(changeId: string): Promise<RuleChange | undefined>;
  list(): Promise<RuleChange[]>;
  /** Sets the decision when the change is still pending; false when someone decided it first. */
  decide(changeId: string, decision: Pick<RuleChange, 'status' | 'decidedBy' | 'decidedAt' | 'note'>): Promise<boolean>;
  /** Records the rule version an approved change wrote. */
  applied(changeId: string, version: number): Promise<void>;
  audit(entry: AuditEntry): Promise<void>;
  auditLog(limit: number): Promise<AuditEntry[]>;
}

/** A customer's profile as stored, and the decisions made for them. */
export interface CustomerRecord {
  readonly customerId: string;
  readonly version: number;
  readonly identities: readonly string[];
  readonly updatedAt: string;
  readonly state: CustomerState;
  /** This profile's id and those merged into it: their decisions are the customer's. */
  readonly customerIds: readonly string[];
}

export interface DecisionWithMessages {
  readonly decision: Record<string, unknown>;
  readonly messages: readonly Record<string, unknown>[];
}

export interface CustomerDirectory {
  /** Customers an external id (of any kind) or a customerId names, with the kind that matched. */
  search(ref: string): Promise<{ customerId: string; kind: IdKind | 'customerId' }[]>;
  load(customerId: string): Promise<CustomerRecord | undefined>;
  decisions(customerIds: readonly string[], limit: number): Promise<{ total: number; decisions: DecisionWithMessages[] }>;
}

export interface QuarantineEntry {
  readonly quarantineId: string;
  readonly receivedAt: string;
  readonly code: string;
  readonly reason: string;
  readonly body: string;
}

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
  readonly customers: CustomerDirectory;
  /** The profiles and identity index, read by the dry run (no writes). */
  readonly profiles: CustomerRepository<CustomerState>;
  readonly campaigns?: CampaignSource;
  readonly quarantine: { list(days: number): Promise<QuarantineEntry[]> };
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
      ...s.contacts.map((x) => ({ at: x.sentAt ?? '', what: `contacted on ${x.channel}`, detail: x.campaignId ? `campaign ${x.campaignId}` : '' })),
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
