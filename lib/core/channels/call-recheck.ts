// A call is booked against the team's load at decision time; when it is delivered later (deferred
// because the team had no agent free, or by quiet hours) the world may have changed. At delivery the
// call is checked again (docs/context.md): a team that still reports no agent free holds it again
// by the rule's retry time, up to a day after the decision, then it is dropped as `team-busy`; a
// time inside the policy's quiet hours on the customer's clock holds it to the window's end.
// Consent is dispatch's own check, as for every channel.
import type { BusinessContext } from '../context/index.ts';
import { exempt, isTimeZone, quietUntil, type ContactPolicy } from '../campaigns/index.ts';

/** How long after its decision a call may still wait for its team. */
export const CALL_MAX_WAIT_MS = 24 * 3_600_000;
/** The rules' default retry time (lib/core/rules/rule.ts), for a message stored without its own. */
export const CALL_RETRY_MINUTES = 30;

export type CallRecheck =
  | { readonly verdict: 'go' }
  | { readonly verdict: 'hold'; readonly until: number; readonly reason: string }
  | { readonly verdict: 'drop'; readonly reason: string };

export function recheckCall(input: {
  readonly team: string;
  readonly context: BusinessContext | undefined;
  readonly policy: ContactPolicy | undefined;
  readonly timeZone: string | undefined;
  readonly transactional: boolean;
  readonly nowMs: number;
  readonly decidedAtMs: number;
  readonly retryMinutes?: number | undefined;
}): CallRecheck {
  let at = input.nowMs;
  const reasons: string[] = [];
  const team = input.context && Object.hasOwn(input.context.callCentre, input.team) ? input.context.callCentre[input.team] : undefined;
  // A team that never reported is not held back (as at decision time).
  if (team !== undefined && team.agentsFree <= 0) {
    if (input.nowMs - input.decidedAtMs >= CALL_MAX_WAIT_MS) return { verdict: 'drop', reason: `team ${input.team} still reports no agent free a day after the decision` };
    at = input.nowMs + (input.retryMinutes ?? CALL_RETRY_MINUTES) * 60_000;
    reasons.push(`team ${input.team} reports no agent free`);
  }
  const q = input.policy?.quietHours;
  if (q && q.channels.includes('call') && !exempt(input.policy!, input.transactional, 'quiet-hours')) {
    const zone = input.timeZone && isTimeZone(input.timeZone) ? input.timeZone : q.defaultTimeZone;
    const until = quietUntil(q, zone, at);
    if (until !== undefined) {
      at = until;
      reasons.push(`quiet hours (policy ${input.policy!.policyId})`);
    }
  }
  return at > input.nowMs ? { verdict: 'hold', until: at, reason: reasons.join(', then ') } : { verdict: 'go' };
}
