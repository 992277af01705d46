// What ingest does around decide (kept here so the decision part of ingest stays a few lines):
// recording a decision in the customer state before the commit, and remembering spent limits.
import type { Decision } from '../decide.ts';
import { applyRuleState, recordContact, type CustomerState } from '../customer/index.ts';
import { contactKey } from './history.ts';

/**
 * What a decision changes in the state before the commit: the rules' `setState`, and each queued
 * message as a contact (key `<decisionId>/<channel>/<ruleId>`), so caps and cooldown count it at
 * once, in the same version-checked commit, not when the channel reports it sent.
 */
export function recordDecision(state: CustomerState, decision: Decision, now: Date, eventId: string): CustomerState {
  let next = state;
  if (Object.keys(decision.setState).length > 0) next = applyRuleState(next, decision.setState, now.toISOString(), eventId);
  for (const m of decision.messages) {
    if (m.channel === 'bus') continue;
    next = recordContact(next, { channel: m.channel, decisionId: contactKey(m.decisionId, m.channel, m.ruleId), at: decision.at, campaignId: m.campaignId });
  }
  return next;
}

/** About one refresh of the campaigns cache: a raised budget is seen as soon as the new limit is. */
export const SPENT_MEMORY_MS = 10_000;

/**
 * Reservation keys refused at commit, remembered for a while so later events skip a claim the
 * commit would refuse anyway (counters only grow; capacity keys name their hour).
 */
export class SpentLimits {
  private readonly until = new Map<string, number>();
  constructor(private readonly clock: () => Date) {}

  add(key: string): void {
    this.until.set(key, this.clock().getTime() + SPENT_MEMORY_MS);
  }

  with(refused: ReadonlySet<string>): ReadonlySet<string> {
    if (this.until.size === 0) return refused;
    const now = this.clock().getTime();
    const out = new Set(refused);
    for (const [key, until] of this.until) {
      if (until <= now) this.until.delete(key);
      else out.add(key);
    }
    return out;
  }
}
