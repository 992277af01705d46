// `baton explain <decisionId> [--json]` and `baton explain --customer <any id> [--limit N]`: why a
// decision came out as it did: every candidate rule with its outcome and reason, and what became
// of each message (status, and the sent, delivered, opened, clicked… times the outbox holds).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDecisionHistory, DynamoDecisionStore, type DecisionRecord, type OutboxItem } from '../../lib/adapters/dynamo/decisions.ts';
import { FEEDBACK_FIELDS } from '../../lib/core/channels/feedback.ts';
import { offerLines, type OfferChoice } from '../../lib/core/offers/offers.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { findCustomer, notFound, report, type CliFlags, type Printer } from '../io.ts';

export interface ExplainContext extends Printer {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
}

export interface StoredCandidate {
  ruleId: string;
  campaignId: string;
  channel: string;
  priority: number;
  campaignPriority?: number;
  outcome: string;
  reason: string;
  notBefore?: string;
  /** A rule with a set of offers: each offer's estimate and why one won (docs/offers.md). */
  offers?: OfferChoice;
}

/** A message as explained: what was sent, its status, and each feedback time it has. */
export interface MessageFate {
  channel: string;
  ruleId: string;
  status: string;
  template?: string;
  offer?: string;
  action?: string;
  notBefore?: string;
  failure?: string;
  /** The provider's id (SES message id, device message id): what `baton simulate` also takes. */
  messageId?: string;
  bounceType?: string;
  /** sentAt, deliveredAt, openedAt, clickedAt, bouncedAt, complainedAt, displayedAt…: the first time each happened. */
  [time: string]: string | undefined;
}

export interface ExplainedDecision {
  decisionId: string;
  customerId: string;
  eventId: string;
  eventType: string;
  at: string;
  candidates: StoredCandidate[];
  messages: MessageFate[];
}

export function fateOf(m: OutboxItem): MessageFate {
  const fate: MessageFate = { channel: String(m.channel), ruleId: m.ruleId, status: String(m.status) };
  if (m.template) fate.template = m.template;
  if (m.offer) fate.offer = m.offer;
  if (m.action) fate.action = m.action;
  if (m.notBefore) fate.notBefore = m.notBefore;
  if (m.failure) fate.failure = m.failure;
  if (m.providerMessageId && m.providerMessageId !== 'unknown') fate.messageId = m.providerMessageId;
  for (const field of FEEDBACK_FIELDS) if (typeof m[field] === 'string') fate[field] = m[field];
  if (typeof m.bounceType === 'string') fate.bounceType = m.bounceType;
  return fate;
}

export function explained(record: DecisionRecord): ExplainedDecision {
  const d = record.decision;
  return {
    decisionId: String(d.decisionId),
    customerId: String(d.customerId),
    eventId: String(d.eventId),
    eventType: String(d.eventType),
    at: String(d.at),
    candidates: (d.candidates ?? []) as StoredCandidate[],
    messages: record.messages.map(fateOf),
  };
}

/** `sent 2026-… · delivered 2026-… · opened …`: the feedback times in the order they happen. */
export function fateTimes(m: MessageFate): string {
  const times = FEEDBACK_FIELDS.filter((f) => m[f]).map((f) => `${f.replace(/At$/, '')} ${m[f]}${f === 'bouncedAt' && m.bounceType ? ` (${m.bounceType})` : ''}`);
  return times.join(' · ');
}

export function messageLine(m: MessageFate): string {
  const what = m.template ? `template ${m.template}${m.offer ? `, offer ${m.offer}` : ''}` : `action ${m.action ?? '?'}`;
  const times = fateTimes(m);
  return `${m.channel.padEnd(7)} ${m.status.padEnd(10)} ${what} from ${m.ruleId}${m.notBefore ? `, not before ${m.notBefore}` : ''}${m.failure ? ` (${m.failure})` : ''}${times ? ` · ${times}` : ''}`;
}

function decisionLines(e: ExplainedDecision): string[] {
  return [
    `decision ${e.decisionId}`,
    `  event     ${e.eventType} ${e.eventId}`,
    `  customer  ${e.customerId}`,
    `  at        ${e.at}`,
    'candidates, in the order they were ranked (campaign priority, rule priority, ruleId):',
    ...e.candidates.flatMap((c) => [
      `  ${c.outcome.padEnd(20)} ${c.ruleId} (${c.channel}, campaign ${c.campaignId}, priority ${c.campaignPriority ?? 0}/${c.priority})`,
      `  ${''.padEnd(20)} ${c.reason}`,
      ...(c.offers ? offerLines(c.offers).map((l) => `  ${''.padEnd(20)} ${l}`) : []),
    ]),
    ...(e.candidates.length ? [] : ['  (none)']),
    'messages:',
    ...e.messages.map((m) => `  ${messageLine(m)}`),
    ...(e.messages.length ? [] : ['  (none queued)']),
  ];
}

export async function explain(decisionId: string, flags: CliFlags, ctx: ExplainContext): Promise<number> {
  const found = await new DynamoDecisionStore(ctx.db, ctx.names.decisions).decision(decisionId);
  if (!found) {
    const message = `decision ${decisionId} not found (decisions are kept 400 days, and erased with their customer)`;
    if (flags.json) ctx.out(JSON.stringify({ status: 'not-found', decisionId }));
    (flags.json ? (ctx.err ?? ctx.out) : ctx.out)(message);
    return 1;
  }
  report(flags, ctx, explained(found), decisionLines);
  return 0;
}

/** The customer's newest decisions, each explained in full. */
export async function explainCustomer(ref: string, flags: CliFlags, ctx: ExplainContext, limit = 3): Promise<number> {
  const lookup = await findCustomer(ctx.db, ctx.names, ref);
  if (lookup.status !== 'found') {
    if (flags.json) ctx.out(JSON.stringify({ status: lookup.status === 'erased' ? 'erased' : 'not-found' }));
    (ctx.err ?? ctx.out)(notFound(ref, lookup));
    return 1;
  }
  const { total, decisions } = await new DynamoDecisionHistory(ctx.db, ctx.names.decisions).ofCustomer(lookup.customerIds, limit);
  const customerId = lookup.customerIds[0]!;
  report(flags, ctx, { customerId, total, decisions: decisions.map(explained) }, (r) => [
    `customer ${customerId}: ${r.total === 0 ? 'no decisions (no rule has matched an event of this customer yet, or they expired after 400 days)' : `${r.decisions.length} of ${r.total} decision(s), newest first`}`,
    ...r.decisions.flatMap((d) => ['', ...decisionLines(d)]),
  ]);
  return 0;
}
