// `baton rules validate|put|list|diff|disable|rollback|test`: the marketer's rule workflow over
// rule files (JSON or YAML; one rule or a list). Everything written is validated first, and every
// version is kept (RULE#<id> / V#<n>), so `rollback` can restore the previous one.
import { readFileSync, existsSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { GetCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { checkRule, type Rule } from '../../lib/core/rules/rule.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { decide } from '../../lib/core/decide.ts';
import { parseEvent } from '../../events/validate.ts';
import { idsOf, idKey } from '../../lib/core/customer/identity.ts';
import { applyEvent, customerView, newCustomer, type CustomerState } from '../../lib/core/customer/index.ts';
import { contactHistory } from '../../lib/core/campaigns/history.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { CachedCampaignSource, scanCampaignItems } from '../../lib/adapters/dynamo/campaigns.ts';
import { queryRuleVersions, ruleKey, ruleVersionKey, scanCurrentRules } from '../../lib/adapters/dynamo/rules.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { readEvents, tables, UsageError, type CliFlags } from '../io.ts';

export interface RulesContext {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
  readonly out: (line: string) => void;
  readonly clock?: () => Date;
}

const USAGE = `usage: baton rules validate <file>...
       baton rules put <file>... [--by NAME]
       baton rules list [--json]
       baton rules diff <file>...
       baton rules disable <ruleId> [--by NAME]
       baton rules rollback <ruleId> [--by NAME]
       baton rules test <rule file> --events <file> [--json]`;

/** Rules from a JSON or YAML file: one rule, a list, or `{ rules: [...] }`. */
export function readRuleFile(path: string): unknown[] {
  if (!existsSync(path)) throw new UsageError(`${path}: no such file (expected a JSON or YAML rule file)`);
  const text = readFileSync(path, 'utf8');
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(path) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${path}: not valid ${/\.ya?ml$/i.test(path) ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (Array.isArray(value)) return value;
  if (value && typeof value === 'object' && Array.isArray((value as { rules?: unknown }).rules)) return (value as { rules: unknown[] }).rules;
  return [value];
}

/** Validates every rule of the files; prints each verdict. Undefined when any is invalid. */
function validated(files: string[], ctx: RulesContext): Rule[] | undefined {
  const rules: Rule[] = [];
  let bad = 0;
  const seen = new Set<string>();
  for (const file of files) {
    for (const item of readRuleFile(file)) {
      const check = checkRule(item);
      if (!check.ok) {
        bad++;
        ctx.out(`✗ ${file}: ${check.ruleId}: ${check.reason}`);
        continue;
      }
      if (seen.has(check.rule.ruleId)) {
        bad++;
        ctx.out(`✗ ${file}: ${check.rule.ruleId}: defined twice`);
        continue;
      }
      seen.add(check.rule.ruleId);
      rules.push(check.rule);
      ctx.out(`✓ ${check.rule.ruleId}`);
    }
  }
  return bad ? undefined : rules;
}

async function currentItem(ctx: RulesContext, ruleId: string): Promise<Record<string, unknown> | undefined> {
  const out = await ctx.db.send(new GetCommand({ TableName: ctx.names.rules, Key: ruleKey(ruleId), ConsistentRead: true }));
  return out.Item;
}

const withoutMeta = (item: Record<string, unknown>): Record<string, unknown> => {
  const { pk: _pk, sk: _sk, version: _v, updatedAt: _u, updatedBy: _b, rolledBackFrom: _r, ...rule } = item;
  return rule;
};

/** Writes CURRENT and a new version item in one transaction, conditional on the version read. */
async function writeVersion(ctx: RulesContext, rule: Record<string, unknown>, previous: Record<string, unknown> | undefined, by: string, extra: Record<string, unknown> = {}): Promise<number> {
  const ruleId = String(rule.ruleId);
  const prevVersion = typeof previous?.version === 'number' ? previous.version : 0;
  const version = prevVersion + 1;
  const item = { ...withoutMeta(rule), version, updatedAt: (ctx.clock ?? (() => new Date()))().toISOString(), updatedBy: by, ...extra };
  await ctx.db.send(
    new TransactWriteCommand({
      TransactItems: [
        {
          Put: {
            TableName: ctx.names.rules,
            Item: { ...ruleKey(ruleId), ...item },
            // Someone else's put in between would be lost: refuse instead.
            ConditionExpression: previous ? 'version = :prev' : 'attribute_not_exists(pk)',
            ...(previous ? { ExpressionAttributeValues: { ':prev': prevVersion } } : {}),
          },
        },
        { Put: { TableName: ctx.names.rules, Item: { ...ruleVersionKey(ruleId, version), ...item } } },
      ],
    }),
  );
  return version;
}

/** Field-level differences between two JSON values, as `path: before → after` lines. */
export function diffLines(before: unknown, after: unknown, path = ''): string[] {
  if (JSON.stringify(before) === JSON.stringify(after)) return [];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffLines(before[k], after[k], path ? `${path}.${k}` : k));
  }
  const show = (v: unknown) => (v === undefined ? '(absent)' : JSON.stringify(v));
  return [`  ${path || '(rule)'}: ${show(before)} → ${show(after)}`];
}

export async function runRules(args: string[], flags: CliFlags, ctx: RulesContext): Promise<number> {
  const [sub, ...rest] = args;
  const by = typeof flags.by === 'string' ? flags.by : (process.env.USER ?? 'cli');
  switch (sub) {
    case 'validate': {
      if (!rest.length) throw new UsageError(USAGE);
      const rules = validated(rest, ctx);
      ctx.out(rules ? `${rules.length} rule(s) valid` : 'invalid rules: nothing would be written');
      return rules ? 0 : 1;
    }
    case 'put': {
      if (!rest.length) throw new UsageError(USAGE);
      const rules = validated(rest, ctx);
      if (!rules) {
        ctx.out('invalid rules: nothing written');
        return 1;
      }
      for (const rule of rules) {
        const previous = await currentItem(ctx, rule.ruleId);
        const version = await writeVersion(ctx, rule as unknown as Record<string, unknown>, previous, by);
        ctx.out(`put ${rule.ruleId} version ${version}`);
      }
      return 0;
    }
    case 'list': {
      const items = (await scanCurrentRules(ctx.db, ctx.names.rules)()) as Record<string, unknown>[];
      items.sort((a, b) => String(a.ruleId).localeCompare(String(b.ruleId)));
      if (flags.json) {
        ctx.out(JSON.stringify(items, null, 2));
        return 0;
      }
      for (const item of items) {
        const check = checkRule(withoutMeta(item));
        const then = item.then as { channel?: string } | undefined;
        ctx.out(
          `${String(item.ruleId).padEnd(32)} v${String(item.version ?? '?').padEnd(4)} ${item.enabled ? 'enabled ' : 'disabled'} prio ${String(item.priority).padStart(4)}  ${String(item.campaignId).padEnd(20)} ${then?.channel ?? '?'}${check.ok ? '' : `  INVALID: ${check.reason}`}`,
        );
      }
      ctx.out(`${items.length} rule(s)`);
      return 0;
    }
    case 'diff': {
      if (!rest.length) throw new UsageError(USAGE);
      const rules = validated(rest, ctx);
      if (!rules) return 1;
      let changed = 0;
      for (const rule of rules) {
        const current = await currentItem(ctx, rule.ruleId);
        // Both sides parsed, so defaults filled in on one side only do not show as changes.
        const before = current ? checkRule(withoutMeta(current)) : undefined;
        const lines = current ? diffLines(before?.ok ? before.rule : withoutMeta(current), rule) : [];
        if (!current) ctx.out(`${rule.ruleId}: new rule`);
        else if (lines.length === 0) ctx.out(`${rule.ruleId}: unchanged (version ${current.version})`);
        else ctx.out(`${rule.ruleId}: changes against version ${current.version}:\n${lines.join('\n')}`);
        if (!current || lines.length) changed++;
      }
      ctx.out(`${changed} rule(s) would change`);
      return 0;
    }
    case 'disable': {
      const [ruleId] = rest;
      if (!ruleId) throw new UsageError(USAGE);
      const current = await currentItem(ctx, ruleId);
      if (!current) throw new UsageError(`rule ${ruleId} not found`);
      const version = await writeVersion(ctx, { ...withoutMeta(current), enabled: false }, current, by);
      ctx.out(`disabled ${ruleId} (version ${version})`);
      return 0;
    }
    case 'rollback': {
      const [ruleId] = rest;
      if (!ruleId) throw new UsageError(USAGE);
      const current = await currentItem(ctx, ruleId);
      if (!current) throw new UsageError(`rule ${ruleId} not found`);
      const versions = await queryRuleVersions(ctx.db, ctx.names.rules)(ruleId);
      // The newest valid version older than the one in force.
      const target = versions.find((v) => typeof v.version === 'number' && v.version < Number(current.version) && checkRule(withoutMeta(v)).ok);
      if (!target) {
        ctx.out(`${ruleId}: no earlier valid version to roll back to (current is version ${current.version})`);
        return 1;
      }
      const version = await writeVersion(ctx, withoutMeta(target), current, by, { rolledBackFrom: current.version });
      ctx.out(`rolled back ${ruleId} to the content of version ${target.version} (now version ${version})`);
      return 0;
    }
    case 'test':
      return dryRun(rest, flags, ctx);
    default:
      throw new UsageError(USAGE);
  }
}

/** Evaluates the file's rules over the events and the customers in the table; sends and writes nothing. */
async function dryRun(rest: string[], flags: CliFlags, ctx: RulesContext): Promise<number> {
  const [file] = rest;
  if (!file || typeof flags.events !== 'string') throw new UsageError(USAGE);
  const rules = validated([file], ctx);
  if (!rules) return 1;
  const ruleSet = new RuleSet(rules);
  const campaigns = await new CachedCampaignSource(scanCampaignItems(ctx.db, ctx.names.campaigns), {
    onRejected: (r) => ctx.out(`(skipped invalid ${r.kind} ${r.id}: ${r.reason})`),
  }).current();
  const customers = new DynamoCustomerRepository<CustomerState>(ctx.db, ctx.names);
  const now = (ctx.clock ?? (() => new Date()))();
  const results: Record<string, unknown>[] = [];
  let triggered = 0;
  for (const [i, raw] of readEvents(flags.events).entries()) {
    // Events written as for `baton send` have no id or time yet: give them what the bus would.
    const e = raw as Record<string, unknown>;
    const parsed = parseEvent(
      e && typeof e === 'object' && !Array.isArray(e) ? { version: '0', id: `dry-run-${i + 1}`, time: new Date().toISOString(), ...e } : raw,
    );
    if (!parsed.ok) {
      results.push({ index: i + 1, invalid: parsed.code, reason: parsed.reason });
      continue;
    }
    const event = parsed.event;
    const resolution = await customers.resolve(idsOf(event));
    const customerId = [...new Set(resolution.links.values())].sort()[0];
    const profile = customerId ? await customers.load(customerId) : undefined;
    // An unknown customer is evaluated as the new profile ingest would create.
    const state = applyEvent(profile?.state ?? newCustomer(customerId ?? '(new customer)'), event);
    const decision = decide({
      event,
      customer: customerView(state, now) as never,
      rules: ruleSet,
      campaigns,
      contacts: contactHistory(state.contacts),
      now,
    });
    const candidates = decision?.candidates ?? [];
    if (decision?.messages.length) triggered++;
    results.push({
      index: i + 1,
      eventId: event.id,
      eventType: `${event.source}/${event['detail-type']}`,
      customerId: customerId ?? null,
      known: profile !== undefined,
      ids: idsOf(event).map((ref) => idKey(ref).split('#')[0]),
      candidates: candidates.map((c) => ({ ruleId: c.ruleId, channel: c.channel, outcome: c.outcome, reason: c.reason, ...(c.notBefore ? { notBefore: c.notBefore } : {}) })),
    });
  }
  if (flags.json) {
    ctx.out(JSON.stringify({ events: results.length, triggered, results }, null, 2));
    return 0;
  }
  for (const r of results) {
    if (r.invalid) {
      ctx.out(`#${r.index} invalid event (${r.invalid}): ${r.reason}`);
      continue;
    }
    const cands = r.candidates as { ruleId: string; channel: string; outcome: string; reason: string; notBefore?: string }[];
    const who = r.customerId ? `customer ${r.customerId}${r.known ? '' : ' (not in the table)'}` : 'a new customer';
    if (!cands.length) {
      ctx.out(`#${r.index} ${r.eventType} ${r.eventId} for ${who}: no rule matches`);
      continue;
    }
    ctx.out(`#${r.index} ${r.eventType} ${r.eventId} for ${who}:`);
    for (const c of cands) ctx.out(`    ${c.outcome.padEnd(20)} ${c.ruleId} (${c.channel}): ${c.reason}`);
  }
  ctx.out(`dry run: ${triggered} of ${results.length} event(s) would queue a message; nothing was sent or written`);
  return 0;
}

export const command = {
  name: 'rules',
  usage: 'rules validate|put|list|diff|disable|rollback|test   manage rules (JSON or YAML files); test = dry run over events',
  options: { events: { type: 'string' as const }, by: { type: 'string' as const } },
  async run(args: string[], flags: CliFlags): Promise<number> {
    const { db, names } = tables(flags);
    try {
      return await runRules(args, flags, { db, names, out: (line) => console.log(line) });
    } finally {
      db.destroy();
    }
  },
};
