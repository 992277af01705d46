// `baton explain <decisionId> [--json]`: why a decision came out as it did: every candidate rule
// with its outcome and reason, and what became of each queued message.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import type { TableNames } from '../../lib/contract/tables.ts';
import { tables, UsageError, type CliFlags } from '../io.ts';

export interface ExplainContext {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
  readonly out: (line: string) => void;
}

interface StoredCandidate {
  ruleId: string;
  campaignId: string;
  channel: string;
  priority: number;
  campaignPriority?: number;
  outcome: string;
  reason: string;
  notBefore?: string;
}

export async function explain(decisionId: string, flags: CliFlags, ctx: ExplainContext): Promise<number> {
  const found = await new DynamoDecisionStore(ctx.db, ctx.names.decisions).decision(decisionId);
  if (!found) {
    ctx.out(`decision ${decisionId} not found (decisions are kept 400 days, and erased with their customer)`);
    return 1;
  }
  const d = found.decision;
  const candidates = (d.candidates ?? []) as StoredCandidate[];
  const messages = found.messages.map((m) => ({
    channel: m.channel,
    ruleId: m.ruleId,
    status: m.status,
    ...(m.template ? { template: m.template } : {}),
    ...(m.offer ? { offer: m.offer } : {}),
    ...(m.action ? { action: m.action } : {}),
    ...((m as { notBefore?: string }).notBefore ? { notBefore: (m as { notBefore?: string }).notBefore } : {}),
    ...(m.failure ? { failure: m.failure } : {}),
  }));
  if (flags.json) {
    ctx.out(
      JSON.stringify({ decisionId, customerId: d.customerId, eventId: d.eventId, eventType: d.eventType, at: d.at, candidates, messages }, null, 2),
    );
    return 0;
  }
  ctx.out(`decision ${decisionId}`);
  ctx.out(`  event     ${d.eventType} ${d.eventId}`);
  ctx.out(`  customer  ${d.customerId}`);
  ctx.out(`  at        ${d.at}`);
  ctx.out(`candidates, in the order they were ranked (campaign priority, rule priority, ruleId):`);
  for (const c of candidates) {
    ctx.out(`  ${c.outcome.padEnd(20)} ${c.ruleId} (${c.channel}, campaign ${c.campaignId}, priority ${c.campaignPriority ?? 0}/${c.priority})`);
    ctx.out(`  ${''.padEnd(20)} ${c.reason}`);
  }
  if (!candidates.length) ctx.out('  (none)');
  ctx.out('messages:');
  for (const m of messages) {
    const what = m.template ? `template ${m.template}${m.offer ? `, offer ${m.offer}` : ''}` : `action ${m.action ?? '?'}`;
    ctx.out(`  ${m.channel.padEnd(7)} ${String(m.status).padEnd(10)} ${what} from ${m.ruleId}${m.notBefore ? `, not before ${m.notBefore}` : ''}${m.failure ? ` (${m.failure})` : ''}`);
  }
  if (!messages.length) ctx.out('  (none queued)');
  return 0;
}

export const command = {
  name: 'explain',
  usage: 'explain <decisionId> [--json]  why a decision chose or suppressed each rule, and what became of its messages',
  async run([decisionId]: string[], flags: CliFlags): Promise<number> {
    if (!decisionId) throw new UsageError('usage: baton explain <decisionId> [--json]');
    const { db, names } = tables(flags);
    try {
      return await explain(decisionId, flags, { db, names, out: (line) => console.log(line) });
    } finally {
      db.destroy();
    }
  },
};
