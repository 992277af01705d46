// The decision step: matching rules become candidates; validity, the customer pattern, consent and
// holdout filter them; priority (then ruleId) picks at most one message per channel. Pure: the
// caller loads rules and state and commits the result.
import { createHash } from 'node:crypto';
import type { Channel } from '../events/catalog.ts';
import type { RuleSet } from './rules/engine.ts';
import type { Rule } from './rules/rule.ts';
import type { Reservation } from './ports.ts';

export type Outcome =
  | 'chosen'
  | 'not-valid-now'
  | 'customer-not-matched'
  | 'no-consent'
  | 'holdout'
  | 'lower-priority';

export interface Candidate {
  readonly ruleId: string;
  readonly campaignId: string;
  readonly priority: number;
  readonly channel: Channel | 'bus';
  readonly outcome: Outcome;
  /** Why, in words a marketer reads in `baton explain`. */
  readonly reason: string;
}

export interface OutboxMessage {
  readonly decisionId: string;
  readonly customerId: string;
  readonly ruleId: string;
  readonly campaignId: string;
  readonly channel: Channel | 'bus';
  readonly template?: string;
  readonly offer?: string;
  readonly action?: string;
  readonly payload?: Record<string, unknown>;
  readonly transactional: boolean;
}

export interface Decision {
  readonly decisionId: string;
  readonly customerId: string;
  readonly eventId: string;
  readonly eventType: string;
  readonly at: string;
  readonly candidates: Candidate[];
  readonly messages: OutboxMessage[];
  /** Marketer-defined attributes the chosen rules set (`setState`). */
  readonly setState: Record<string, string | number | boolean>;
  /** Shared limits the chosen messages claim (budgets, capacities), committed with the decision. */
  readonly reservations?: readonly Reservation[];
}

/** What the decision reads of the customer: the view with derived fields (lib/customer/view.ts). */
export interface DecisionSubject {
  readonly customerId: string;
  readonly consent?: Partial<Record<Channel, boolean>>;
  readonly [field: string]: unknown;
}

export interface DecideInput {
  readonly event: { id: string; source: string; 'detail-type': string };
  readonly customer: DecisionSubject;
  readonly rules: RuleSet;
  readonly now: Date;
  /** Reservations (by `reservationKey`) refused at commit: decide again as if exhausted. */
  readonly exhausted?: ReadonlySet<string>;
}

export function decisionIdFor(customerId: string, eventId: string): string {
  return `dec-${createHash('sha256').update(`${customerId}\u0000${eventId}`).digest('hex').slice(0, 24)}`;
}

/** Deterministic control group: the same customer is always in or out of a campaign's holdout. */
export function inHoldout(customerId: string, campaignId: string, share: number): boolean {
  if (share <= 0) return false;
  const bucket = createHash('sha256').update(`${campaignId}\u0000${customerId}`).digest().readUInt32BE(0) / 0x1_0000_0000;
  return bucket < share;
}

export function decide({ event, customer, rules, now }: DecideInput): Decision | undefined {
  const matched = rules.matching(event);
  if (matched.length === 0) return undefined;
  const decisionId = decisionIdFor(customer.customerId, event.id);
  const nowIso = now.toISOString();
  const candidates: Candidate[] = [];
  const messages: OutboxMessage[] = [];
  const setState: Record<string, string | number | boolean> = {};
  const takenChannels = new Set<string>();

  for (const { rule, if: customerMatches } of matched) {
    const channel = rule.then.channel;
    const suppressed = suppression(rule, customer, customerMatches, nowIso);
    if (suppressed) {
      candidates.push(candidate(rule, suppressed.outcome, suppressed.reason));
      continue;
    }
    if (takenChannels.has(channel)) {
      candidates.push(candidate(rule, 'lower-priority', `a rule with higher priority already chose ${channel} for this event`));
      continue;
    }
    takenChannels.add(channel);
    Object.assign(setState, rule.setState);
    if (inHoldout(customer.customerId, rule.campaignId, rule.holdout)) {
      candidates.push(candidate(rule, 'holdout', `customer is in the ${Math.round(rule.holdout * 100)} % control group of ${rule.campaignId}`));
      continue;
    }
    candidates.push(candidate(rule, 'chosen', `highest priority rule for ${channel} whose conditions all hold`));
    messages.push(
      rule.then.channel === 'bus'
        ? {
            decisionId,
            customerId: customer.customerId,
            ruleId: rule.ruleId,
            campaignId: rule.campaignId,
            channel: 'bus',
            action: rule.then.action,
            ...(rule.then.payload ? { payload: rule.then.payload } : {}),
            transactional: false,
          }
        : {
            decisionId,
            customerId: customer.customerId,
            ruleId: rule.ruleId,
            campaignId: rule.campaignId,
            channel: rule.then.channel,
            template: rule.then.template,
            ...(rule.then.offer ? { offer: rule.then.offer } : {}),
            transactional: rule.then.transactional,
          },
    );
  }
  return {
    decisionId,
    customerId: customer.customerId,
    eventId: event.id,
    eventType: `${event.source}/${event['detail-type']}`,
    at: nowIso,
    candidates,
    messages,
    setState,
  };
}

function candidate(rule: Rule, outcome: Outcome, reason: string): Candidate {
  return { ruleId: rule.ruleId, campaignId: rule.campaignId, priority: rule.priority, channel: rule.then.channel, outcome, reason };
}

function suppression(
  rule: Rule,
  customer: DecisionSubject,
  customerMatches: (view: unknown) => boolean,
  nowIso: string,
): { outcome: Outcome; reason: string } | undefined {
  if ((rule.validFrom && nowIso < new Date(rule.validFrom).toISOString()) || (rule.validUntil && nowIso >= new Date(rule.validUntil).toISOString())) {
    return { outcome: 'not-valid-now', reason: `rule is valid from ${rule.validFrom ?? 'always'} until ${rule.validUntil ?? 'forever'}` };
  }
  if (!customerMatches(customer)) return { outcome: 'customer-not-matched', reason: 'the customer does not match the rule\'s "if" pattern' };
  const channel = rule.then.channel;
  if (channel !== 'bus' && !rule.then.transactional && customer.consent?.[channel] !== true) {
    return { outcome: 'no-consent', reason: `no marketing consent for ${channel}` };
  }
  return undefined;
}
