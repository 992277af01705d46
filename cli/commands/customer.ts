// `baton customer show <any external id> [--limit N] [--json]`: one page for a call-centre agent:
// the profile with its derived fields, consent per channel with where and when it was given or
// withdrawn, the contact counters, and the newest decisions with what became of each message.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CHANNELS } from '../../events/catalog.ts';
import { customerView, type CustomerState } from '../../lib/core/customer/index.ts';
import { PROFILE_FIELDS } from '../../lib/core/customer/state.ts';
import { VIEW_FIELDS } from '../../lib/core/customer/view.ts';
import { decodeState } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoDecisionHistory } from '../../lib/adapters/dynamo/decisions.ts';
import { DynamoJourneyInstances } from '../../lib/adapters/dynamo/journeys.ts';
import type { JourneyInstance } from '../../lib/core/journeys/instance.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { findCustomer, notFound, report, type CliFlags, type Printer } from '../io.ts';
import { explained, messageLine, type ExplainedDecision } from './explain.ts';

export interface CustomerContext extends Printer {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
  readonly clock?: () => Date;
}

/** Consent on one channel as stored: given or withdrawn, where (`via`) and when (the event's time). */
export interface ConsentShown {
  granted: boolean;
  /** web-form, unsubscribe-link, bounce, complaint, unsubscribe, call-centre…; null when never stated. */
  via: string | null;
  at: string | null;
}

const COUNTERS = ['sent', 'delivered', 'displayed', 'opens', 'clicks', 'bounces', 'complaints', 'unsubscribes'] as const;

export async function showCustomer(ref: string, flags: CliFlags, ctx: CustomerContext, limit = 5): Promise<number> {
  const lookup = await findCustomer(ctx.db, ctx.names, ref);
  if (lookup.status !== 'found') {
    if (flags.json) ctx.out(JSON.stringify({ status: lookup.status === 'erased' ? 'erased' : 'not-found' }));
    (ctx.err ?? ctx.out)(notFound(ref, lookup));
    return 1;
  }
  const { item, customerIds } = lookup;
  const state = decodeState<CustomerState>(item.state);
  const view = customerView(state, (ctx.clock ?? (() => new Date()))());
  const consent = Object.fromEntries(
    CHANNELS.map((channel) => {
      const c = state.consent[channel];
      return [channel, c ? { granted: c.v, via: c.via, at: c.at } : { granted: false, via: null, at: null }];
    }),
  ) as Record<string, ConsentShown>;
  const history = await new DynamoDecisionHistory(ctx.db, ctx.names.decisions).ofCustomer(customerIds, limit);
  const shown = {
    customerId: item.customerId as string,
    version: item.version as number,
    identities: (item.identities as string[] | undefined) ?? [],
    updatedAt: item.updatedAt as string,
    view,
    consent,
    decisionsTotal: history.total,
    decisions: history.decisions.map(explained),
    // Each journey the customer entered: where they are, and what they wait for (the last path entry says).
    journeys: (await new DynamoJourneyInstances(ctx.db, ctx.names.customers).load(item.customerId as string)).map((j) => ({
      journeyId: j.journeyId,
      version: j.version,
      status: j.status,
      step: j.stepId ?? j.lastStepId ?? null,
      waitingFor: j.status === 'active' ? waitingFor(j) : null,
      ...(j.endedAt ? { endedAt: j.endedAt, endReason: j.endReason } : {}),
    })),
  };
  const loyalty = await statementsOf(ctx, item.customerId as string);
  report(flags, ctx, loyalty.length ? { ...shown, loyalty } : shown, pageOf);
  return 0;
}

/** The member's statement in each programme (docs/loyalty.md): "you have 1,240 points, 300 expire on 31 March". */
async function statementsOf(ctx: CustomerContext, customerId: string): Promise<LoyaltyShown[]> {
  const [{ DynamoLoyaltyItems }, { DynamoLoyaltyLedger }, { createLoyalty }, { statementLine }] = await Promise.all([
    import('../../lib/adapters/dynamo/loyalty-items.ts'),
    import('../../lib/adapters/dynamo/loyalty.ts'),
    import('../../lib/app/loyalty.ts'),
    import('../../lib/core/loyalty/ledger.ts'),
  ]);
  const ledger = new DynamoLoyaltyLedger(ctx.db, ctx.names.ledger);
  const loyalty = createLoyalty({ ledger, programmes: new DynamoLoyaltyItems(ctx.db, ctx.names.ledger, { refreshMs: 0 }), ...(ctx.clock ? { clock: ctx.clock } : {}) });
  const out: LoyaltyShown[] = [];
  for (const programmeId of await ledger.programmesOf(customerId)) {
    const s = await loyalty.statement(programmeId, customerId).catch(() => undefined); // a programme removed since: nothing to show
    if (s) out.push({ programmeId, balance: s.balance, currencyName: s.currencyName, tier: s.tier ?? null, nextExpiry: s.nextExpiry ?? null, statement: statementLine(s) });
  }
  return out;
}

interface LoyaltyShown {
  programmeId: string;
  balance: number;
  currencyName: string;
  tier: string | null;
  nextExpiry: { points: number; on: string } | null;
  statement: string;
}

/** What an active instance waits for: its wait's time, and the awaited event when there is one (a meanwhile send since does not change it). */
function waitingFor(j: JourneyInstance): string | null {
  const armed = j.path.findLast((p) => p.stepId === j.stepId && p.what.startsWith('waiting'));
  if (!j.dueAt) return armed?.what ?? j.path.at(-1)?.what ?? null;
  return `waiting until ${j.dueAt}${armed?.what.endsWith('or the awaited event') ? ' or the awaited event' : ''}`;
}

function pageOf(c: {
  customerId: string;
  version: number;
  identities: string[];
  updatedAt: string;
  view: Record<string, unknown>;
  consent: Record<string, ConsentShown>;
  decisionsTotal: number;
  decisions: ExplainedDecision[];
  journeys: { journeyId: string; version: number; status: string; step: string | null; waitingFor: string | null; endedAt?: string; endReason?: string | undefined }[];
  loyalty?: LoyaltyShown[];
}): string[] {
  const lines = [`customer ${c.customerId} (version ${c.version}, updated ${c.updatedAt})`, `  ids: ${c.identities.join(', ')}`];
  // Who first (the profile), then the derived fields; custom fields once, under `custom`.
  const keys = [...PROFILE_FIELDS, 'tags', ...Object.keys(c.view)].filter((k, i, all) => all.indexOf(k) === i && VIEW_FIELDS.has(k));
  for (const key of keys) {
    const value = c.view[key];
    if (['customerId', 'consent', ...COUNTERS].includes(key) || (key === 'erased' && value === false)) continue;
    if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
    lines.push(`  ${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
  }
  lines.push(`  contacts: ${COUNTERS.map((k) => `${k} ${String(c.view[k] ?? 0)}`).join(' · ')}`);
  lines.push('consent:');
  for (const [channel, s] of Object.entries(c.consent)) {
    const state = s.via === null ? 'no   never given' : `${s.granted ? 'yes  given' : 'no   withdrawn'} ${s.at} via ${s.via}`;
    lines.push(`  ${channel.padEnd(7)} ${state}`);
  }
  if (c.loyalty?.length) {
    lines.push('loyalty:');
    for (const l of c.loyalty) lines.push(`  ${l.programmeId}: ${l.statement}${l.tier ? ` (tier ${l.tier})` : ''}`);
  }
  if (c.journeys.length) {
    lines.push('journeys:');
    for (const j of c.journeys) {
      lines.push(`  ${j.journeyId} v${j.version}: ${j.status === 'active' ? `in ${j.step}, ${j.waitingFor}` : `${j.status} at ${j.endedAt} (${j.endReason}) after ${j.step}`}`);
    }
  }
  if (c.decisionsTotal === 0) {
    lines.push('decisions: none (no rule has matched an event of this customer yet)');
    return lines;
  }
  lines.push(`recent decisions (${c.decisions.length} of ${c.decisionsTotal}, newest first; baton explain <decisionId> gives every reason):`);
  for (const d of c.decisions) {
    lines.push(`  ${d.at}  ${d.eventType}  ${d.decisionId}`);
    for (const m of d.messages) lines.push(`    ${messageLine(m)}`);
    const passed = d.candidates.filter((x) => x.outcome !== 'chosen' && x.outcome !== 'deferred');
    for (const x of passed) lines.push(`    not sent: ${x.ruleId} (${x.channel}): ${x.outcome}: ${x.reason}`);
    if (!d.messages.length && !passed.length) lines.push('    (no candidates)');
  }
  return lines;
}
