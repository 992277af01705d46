// The learning state of offers in memory (tests, the offers benchmark): the same ports as
// lib/adapters/dynamo/offers.ts, without shards. It also remembers decisions' messages, standing in
// for the outbox the DynamoDB wiring reads.
import type { Decision } from '../../core/decide.ts';
import { OfferCountsTable, type OfferStats } from '../../core/offers/offers.ts';
import type { LearningMessage, OfferCountWrite, OfferLearningStore, OfferMessages, OfferStatsSource } from '../../app/ports.ts';

export class MemoryOfferLearning implements OfferLearningStore, OfferStatsSource, OfferMessages {
  private readonly live = new OfferCountsTable();
  private readonly seen = new Set<string>();
  private readonly messages = new Map<string, readonly LearningMessage[]>();

  async add(once: string, write: OfferCountWrite): Promise<boolean> {
    if (this.seen.has(once)) return false;
    this.seen.add(once);
    this.live.add(write.ruleId, write.context, write.offer, write);
    return true;
  }

  /** A copy of the counts now: what a cached reader would hold until its next refresh. */
  snapshot(): OfferCountsTable {
    const copy = new OfferCountsTable();
    for (const [key, counts] of this.live.entries()) {
      const [ruleId, context, offer] = key.split('\u0000') as [string, string, string];
      copy.add(ruleId, context, offer, counts);
    }
    return copy;
  }

  async current(): Promise<OfferStats> {
    return this.snapshot();
  }

  remember(decision: Decision): void {
    this.messages.set(decision.decisionId, decision.messages);
  }

  async messagesOf(decisionId: string): Promise<readonly LearningMessage[]> {
    return this.messages.get(decisionId) ?? [];
  }
}
