// `baton rules validate|put|list|diff|enable|disable|rollback|test`: the marketer's rule workflow
// over rule files (JSON or YAML; one rule, a list, or `{rules: [...]}`). Everything written is
// validated first, including what it names in other tables (its template for its channel, the
// offer the template shows); the writes and their history are DynamoRuleRepository's.
import { checkRule, messageOf, type Rule } from '../../lib/core/rules/rule.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { parseEvent } from '../../events/validate.ts';
import type { CustomerState } from '../../lib/core/customer/index.ts';
import { dryRunDecision } from '../../lib/app/decide-and-commit.ts';
import { ruleReferences } from '../../lib/app/rule-references.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';
import { CachedCampaignSource, scanCampaignItems } from '../../lib/adapters/dynamo/campaigns.ts';
import { DynamoRuleRepository } from '../../lib/adapters/dynamo/rules.ts';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { DynamoOfferLearning } from '../../lib/adapters/dynamo/offers.ts';
import { offerLines, type OfferChoice } from '../../lib/core/offers/offers.ts';
import { readEvents, readItemFile, UsageError, type CliFlags } from '../io.ts';
import { runItems, type ItemsContext, type ItemSpec, type Reference } from './items.ts';

export type RulesContext = ItemsContext;

const USAGE = 'usage: baton rules test <rule file> --events <file> [--json]';

/** A message rule needs its template on its channel, in the fallback locale, and an offer when the template shows one (lib/app/rule-references.ts). */
const references = (rules: Rule[], ctx: ItemsContext): Promise<Reference[]> =>
  ruleReferences(rules, new DynamoTemplateStore(ctx.db, ctx.names.templates), ctx.names.templates);

export const RULES: ItemSpec<Rule> = {
  noun: 'rule',
  plural: 'rules',
  toggles: true,
  check(item) {
    const c = checkRule(item);
    return c.ok ? { ok: true, id: c.rule.ruleId, value: c.rule } : { ok: false, id: c.ruleId, reason: c.reason };
  },
  repository: (ctx) => new DynamoRuleRepository(ctx.db, ctx.names.rules, ctx.clock),
  references,
  describe(rule, stored) {
    const c = (rule ?? stored.content) as Partial<Rule> & { then?: { channel?: string } };
    return `${c.enabled ? 'enabled ' : 'disabled'} prio ${String(c.priority).padStart(4)}  ${String(c.campaignId).padEnd(20)} ${c.then?.channel ?? '?'}`;
  },
};

/** Rules of one file, schema only (the dry run); prints each verdict. Undefined when any is invalid. */
function validated(files: string[], print: (line: string) => void): Rule[] | undefined {
  const rules: Rule[] = [];
  let bad = 0;
  const seen = new Set<string>();
  for (const file of files) {
    for (const item of readItemFile(file, 'rules', 'rule')) {
      const check = checkRule(item);
      if (!check.ok) {
        bad++;
        print(`✗ ${file}: ${check.ruleId}: ${check.reason}`);
        continue;
      }
      if (seen.has(check.rule.ruleId)) {
        bad++;
        print(`✗ ${file}: ${check.rule.ruleId}: defined twice`);
        continue;
      }
      seen.add(check.rule.ruleId);
      rules.push(check.rule);
      print(`✓ ${check.rule.ruleId}`);
    }
  }
  return bad ? undefined : rules;
}

export async function runRules(args: string[], flags: CliFlags, ctx: RulesContext): Promise<number> {
  if (args[0] === 'test') return dryRun(args.slice(1), flags, ctx);
  return runItems(RULES, args, flags, ctx);
}

/** Evaluates the file's rules over the events and the customers in the table; sends and writes nothing. */
async function dryRun(rest: string[], flags: CliFlags, ctx: RulesContext): Promise<number> {
  const [file] = rest;
  if (!file || typeof flags.events !== 'string') throw new UsageError(USAGE);
  const rules = validated([file], flags.json ? (ctx.err ?? ctx.out) : ctx.out);
  if (!rules) return 1;
  const ruleSet = new RuleSet(rules);
  const campaigns = await new CachedCampaignSource(scanCampaignItems(ctx.db, ctx.names.campaigns), {
    onRejected: (r) => ctx.out(`(skipped invalid ${r.kind} ${r.id}: ${r.reason})`),
  }).current();
  const customers = new DynamoCustomerRepository<CustomerState>(ctx.db, ctx.names);
  // What the file's learning rules have learned so far under their ids (docs/offers.md): the dry run chooses as ingest would.
  const learning = rules.filter((r) => messageOf(r.then)?.learn).map((r) => r.ruleId);
  const offers = learning.length ? await new DynamoOfferLearning(ctx.db, ctx.names.counters).read(learning) : undefined;
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
    // lib/app's dry run: the read (resolve, load, merge) and the decision ingest makes, no commit.
    const run = await dryRunDecision({ customers }, { event, rules: ruleSet, campaigns, now, offers });
    const candidates = run.decision?.candidates ?? [];
    if (run.decision?.messages.length) triggered++;
    results.push({
      index: i + 1,
      eventId: event.id,
      eventType: `${event.source}/${event['detail-type']}`,
      customerId: run.customerId ?? null,
      known: run.known,
      ...(run.erased ? { erased: true } : {}),
      ids: run.idKinds,
      candidates: candidates.map((c) => ({ ruleId: c.ruleId, channel: c.channel, outcome: c.outcome, reason: c.reason, ...(c.notBefore ? { notBefore: c.notBefore } : {}), ...(c.offers ? { offers: c.offers } : {}) })),
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
    const cands = r.candidates as { ruleId: string; channel: string; outcome: string; reason: string; notBefore?: string; offers?: OfferChoice }[];
    if (r.erased) {
      ctx.out(`#${r.index} ${r.eventType} ${r.eventId}: an id of an erased customer; ingest drops the event, nothing is decided`);
      continue;
    }
    const who = r.customerId ? `customer ${r.customerId}` : 'a new customer';
    if (!cands.length) {
      ctx.out(`#${r.index} ${r.eventType} ${r.eventId} for ${who}: no rule matches`);
      continue;
    }
    ctx.out(`#${r.index} ${r.eventType} ${r.eventId} for ${who}:`);
    for (const c of cands) {
      ctx.out(`    ${c.outcome.padEnd(20)} ${c.ruleId} (${c.channel}): ${c.reason}`);
      for (const l of c.offers ? offerLines(c.offers) : []) ctx.out(`    ${''.padEnd(20)} ${l}`);
    }
  }
  ctx.out(`dry run: ${triggered} of ${results.length} event(s) would queue a message; nothing was sent or written`);
  return 0;
}

