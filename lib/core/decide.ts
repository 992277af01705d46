// The decision step. Matching rules become candidates; then, in this order (docs/rules.md,
// "Arbitration"): validity of rule and campaign, the customer pattern (`if`), the global control
// group (marketing messages only, docs/segments.md), consent, the rule's own
// per-customer limit, cooldown, caps, channel already taken by a higher priority, quiet hours,
// budget and capacity (claims refused at commit), holdout. Campaign priority, then rule priority,
// then ruleId order the candidates, so at most one message per channel per event is chosen and the
// choice never depends on load order. Pure: the caller loads rules, campaigns, state and contact
// history, commits the result, and decides again if a reservation is refused.
import { hash } from 'node:crypto';
import type { Channel } from '../../events/catalog.ts';
import type { CoreView } from './customer/view.ts';
import type { CompiledRule, RuleSet } from './rules/engine.ts';
import { messageOf, type Rule } from './rules/rule.ts';
import { type Reservation, mergeReservations, reservationsFor } from './campaigns/reservations.ts';
import { campaignActive, EMPTY_CAMPAIGN_BOOK, type Campaign, type CampaignBook } from './campaigns/campaign.ts';
import { inGlobalControl } from './campaigns/control.ts';
import { outOfStock, type BusinessContext } from './context/index.ts';
import { chooseOffer, type Offer, type OfferChoice, type OfferLearning } from './offers/offers.ts';
import { ContactStats, exempt, isTimeZone, quietUntil, type ContactPolicy, type ContactRecord } from './campaigns/index.ts';

/** Why a candidate was chosen or suppressed; string codes that `baton explain` and reports read. */
export const OUTCOMES = [
  'chosen',
  'deferred',
  'not-valid-now',
  'campaign-inactive',
  'customer-not-matched',
  'out-of-stock',
  'no-consent',
  'rule-limit',
  'cooldown',
  'cap',
  'lower-priority',
  'quiet-hours',
  'budget',
  'capacity',
  'team-busy',
  'holdout',
  'global-control',
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export interface Candidate {
  readonly ruleId: string;
  readonly campaignId: string;
  readonly priority: number;
  readonly campaignPriority: number;
  readonly channel: Channel | 'bus';
  readonly outcome: Outcome;
  /** Why, in words a marketer reads in `baton explain`. Never holds customer data. */
  readonly reason: string;
  /** For `deferred`: when the message may be sent (end of the customer's quiet hours). */
  readonly notBefore?: string;
  /** For a rule with a set of offers that sends: each offer's estimate and why one won (docs/offers.md). */
  readonly offers?: OfferChoice;
}

export interface OutboxMessage {
  readonly decisionId: string;
  readonly customerId: string;
  readonly ruleId: string;
  readonly campaignId: string;
  readonly channel: Channel | 'bus';
  readonly template?: string;
  readonly offer?: string;
  /** A learning rule's context (e.g. `channel=email|tier=gold`): feedback credits the offer there. */
  readonly offerContext?: string;
  /** Calls: the team whose call list gets the entry. */
  readonly team?: string;
  /** Calls: how long dispatch holds the call again when the team still has no agent free at delivery. */
  readonly retryMinutes?: number;
  readonly action?: string;
  /** Bus actions: the destination (docs/destinations.md) that gets the action. */
  readonly destination?: string;
  readonly payload?: Record<string, unknown>;
  readonly transactional: boolean;
  /**
   * Quiet hours: dispatch must not send the message before this time (ISO 8601, UTC). Absent means
   * send at once. The caps, budget and capacity were claimed at decision time.
   */
  readonly notBefore?: string;
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

/**
 * What the decision reads of the customer: the view (lib/core/customer/view.ts), whose customerId,
 * consent and timeZone it reads by name; a rule's `if` may read any other field. A CustomerView is one.
 */
export type DecisionSubject = Pick<CoreView, 'customerId'> &
  Partial<Pick<CoreView, 'timeZone'>> & { readonly consent?: Partial<CoreView['consent']> } & { readonly [field: string]: unknown };

export interface DecideInput {
  readonly event: { id: string; source: string; 'detail-type': string };
  readonly customer: DecisionSubject;
  readonly rules: RuleSet;
  readonly now: Date;
  /** Campaigns and contact policies; without them every campaign has the defaults (consent only). */
  readonly campaigns?: CampaignBook;
  /** The customer's recent contacts (lib/core/campaigns/history.ts), for caps, cooldown and rule limits. */
  readonly contacts?: readonly ContactRecord[];
  /** Limits (by `Reservation.key`) whose claims were refused at commit: decide again as if exhausted. */
  readonly exhausted?: ReadonlySet<string>;
  /** The business right now (docs/context.md): rules read it as `context` in their `if`. */
  readonly context?: BusinessContext;
  /** Learning state and random source for rules that `learn`; without it a set of offers is a priority list. */
  readonly learning?: OfferLearning;
}

export function decisionIdFor(customerId: string, eventId: string): string {
  // One-shot crypto.hash: the same digest as createHash, at half the cost on the hot path.
  return `dec-${hash('sha256', `${customerId}\u0000${eventId}`, 'hex').slice(0, 24)}`;
}

/** Deterministic control group: the same customer is always in or out of a campaign's holdout. */
export function inHoldout(customerId: string, campaignId: string, share: number): boolean {
  if (share <= 0) return false;
  const bucket = hash('sha256', `${campaignId}\u0000${customerId}`, 'buffer').readUInt32BE(0) / 0x1_0000_0000;
  return bucket < share;
}

interface Ranked {
  readonly compiled: CompiledRule;
  readonly campaign: Campaign;
}

const NO_EXHAUSTED: ReadonlySet<string> = new Set();
const NO_CLAIMS: readonly Reservation[] = [];

interface History {
  readonly records: readonly ContactRecord[] | undefined;
  readonly nowMs: number;
  /** Computed on first use: most events never reach a contact rule. */
  stats: ContactStats | undefined;
}

const statsOf = (h: History): ContactStats => (h.stats ??= new ContactStats(h.records ?? [], h.nowMs));

export function decide(input: DecideInput): Decision | undefined {
  const { event, customer, rules, now } = input;
  const matched = rules.matching(event);
  if (matched.length === 0) return undefined;
  const book = input.campaigns ?? EMPTY_CAMPAIGN_BOOK;
  const exhausted = input.exhausted ?? NO_EXHAUSTED;
  const nowMs = now.getTime();
  const nowIso = now.toISOString();
  const decisionId = decisionIdFor(customer.customerId, event.id);

  const ranked: Ranked[] = new Array(matched.length);
  for (let i = 0; i < matched.length; i++) ranked[i] = { compiled: matched[i]!, campaign: book.campaign(matched[i]!.rule.campaignId) };
  if (ranked.length > 1) ranked.sort(byRank);

  // No closures in this loop: it runs for every matching rule of every event.
  const history: History = { records: input.contacts, nowMs, stats: undefined };
  const candidates: Candidate[] = [];
  const messages: OutboxMessage[] = [];
  let claims: Reservation[] | undefined;
  const setState: Record<string, string | number | boolean> = {};
  const taken: string[] = [];
  // One group across every campaign: the default policy says who is in it.
  const control = book.policy('default').globalControl;
  const controlled = control !== undefined && inGlobalControl(customer.customerId, control);
  const context = input.context;
  const subject = context ? { ...customer, context } : customer;

  for (const { compiled, campaign } of ranked) {
    const rule = compiled.rule;
    const then = rule.then;
    const channel = then.channel;
    const policy = book.policy(campaign.policyId);
    const transactional = then.channel !== 'bus' && then.transactional;

    if (nowMs < compiled.fromMs || nowMs >= compiled.untilMs) {
      candidates.push(candidate(rule, campaign, 'not-valid-now', `rule is valid from ${rule.validFrom ?? 'always'} until ${rule.validUntil ?? 'forever'}`));
      continue;
    }
    if (!campaignActive(campaign, nowMs)) {
      const reason = campaign.enabled
        ? `campaign ${campaign.campaignId} runs from ${campaign.validFrom ?? 'always'} until ${campaign.validUntil ?? 'forever'}`
        : `campaign ${campaign.campaignId} is disabled`;
      candidates.push(candidate(rule, campaign, 'campaign-inactive', reason));
      continue;
    }
    if (!compiled.if(subject)) {
      candidates.push(candidate(rule, campaign, 'customer-not-matched', 'the customer does not match the rule\'s "if" pattern'));
      continue;
    }
    // An offer of a SKU is held back while no location has it, without a rule having to say so.
    if (then.channel !== 'bus' && then.channel !== 'call' && then.sku !== undefined && context && outOfStock(context, then.sku)) {
      candidates.push(candidate(rule, campaign, 'out-of-stock', `the offer sells ${then.sku}, which no location has in stock`));
      continue;
    }
    // Likewise each offer of a set; the rule goes on with the others.
    const sends = messageOf(then);
    const eligible = sends?.offers ? eligibleOffers(sends.offers, context) : undefined;
    if (eligible && eligible.length === 0) {
      candidates.push(candidate(rule, campaign, 'out-of-stock', 'every offer of the set sells a SKU no location has in stock'));
      continue;
    }
    // Before any claim or channel is taken: a transactional message on the channel still goes.
    if (controlled && channel !== 'bus' && !transactional) {
      candidates.push(candidate(rule, campaign, 'global-control', `customer is in the ${Math.round(control!.share * 100)} % global control group: no marketing messages`));
      continue;
    }
    if (channel !== 'bus') {
      const blocked = contactBlock(rule, channel, policy, transactional, customer, history);
      if (blocked) {
        candidates.push(candidate(rule, campaign, blocked.outcome, blocked.reason));
        continue;
      }
    }
    if (taken.includes(channel)) {
      candidates.push(candidate(rule, campaign, 'lower-priority', `a candidate ranked higher already took ${channel} for this event`));
      continue;
    }
    let notBefore: string | undefined;
    let sendAtMs = nowMs;
    let heldBy: string | undefined;
    // A call waits for the team: booked later when it reports no agent free, or not at all. A team
    // that never reported is not held back (as a SKU Baton never heard of).
    if (then.channel === 'call') {
      const team = context && Object.hasOwn(context.callCentre, then.team) ? context.callCentre[then.team] : undefined;
      if (team !== undefined && team.agentsFree <= 0) {
        if (then.whenTeamBusy === 'suppress') {
          candidates.push(candidate(rule, campaign, 'team-busy', `team ${then.team} reports no agent free; the rule drops the call`));
          continue;
        }
        sendAtMs = nowMs + then.retryMinutes * 60_000;
        notBefore = new Date(sendAtMs).toISOString();
        heldBy = `team ${then.team} reports no agent free`;
      }
    }
    const q = policy.quietHours;
    if (channel !== 'bus' && q && q.channels.includes(channel) && !exempt(policy, transactional, 'quiet-hours')) {
      const zone = typeof customer.timeZone === 'string' && isTimeZone(customer.timeZone) ? customer.timeZone : q.defaultTimeZone;
      const until = quietUntil(q, zone, sendAtMs);
      if (until !== undefined) {
        if (rule.quietHours === 'drop') {
          candidates.push(
            candidate(rule, campaign, 'quiet-hours', `quiet hours ${q.start}-${q.end} on the customer's clock (policy ${policy.policyId}); the rule drops held messages`),
          );
          continue;
        }
        sendAtMs = until;
        notBefore = new Date(until).toISOString();
        heldBy = heldBy ? `${heldBy}, then quiet hours (policy ${policy.policyId})` : `quiet hours (policy ${policy.policyId})`;
      }
    }
    const wanted = campaign.budget || campaign.capacityPerHour ? reservationsFor(campaign, channel, sendAtMs) : NO_CLAIMS;
    const refused = exhausted.size > 0 ? wanted.find((r) => exhausted.has(r.key)) : undefined;
    if (refused) {
      candidates.push(
        refused.on.kind === 'budget'
          ? candidate(rule, campaign, 'budget', `budget of campaign ${campaign.campaignId} is spent`)
          : candidate(rule, campaign, 'capacity', `hourly ${channel} capacity of campaign ${campaign.campaignId} is used up`),
      );
      continue;
    }

    taken.push(channel);
    if (rule.setState) Object.assign(setState, rule.setState);
    if (rule.holdout > 0 && !exempt(policy, transactional, 'holdout') && inHoldout(customer.customerId, rule.campaignId, rule.holdout)) {
      candidates.push(candidate(rule, campaign, 'holdout', `customer is in the ${Math.round(rule.holdout * 100)} % control group of ${rule.campaignId}`));
      continue;
    }
    if (wanted.length) (claims ??= []).push(...wanted);
    // The learner picks among the offers only once every policy, budget and holdout let the rule send.
    const offers = eligible ? chooseOffer(rule.ruleId, channel, eligible, sends?.learn, customer, input.learning) : undefined;
    const offerWhy = offers ? `; offer ${offers.offer}: ${offers.reason}` : '';
    if (notBefore) {
      const c = candidate(rule, campaign, 'deferred', `chosen for ${channel}; held by ${heldBy} until ${notBefore}${offerWhy}`);
      candidates.push({ ...c, notBefore, ...(offers ? { offers } : {}) });
    } else {
      const c = candidate(rule, campaign, 'chosen', `ranked highest for ${channel} among the candidates whose conditions all hold${offerWhy}`);
      candidates.push(offers ? { ...c, offers } : c);
    }
    messages.push(message(decisionId, customer.customerId, rule, notBefore, offers));
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
    ...(claims ? { reservations: claims.length > 1 ? mergeReservations(claims) : claims } : {}),
  };
}

/** Campaign priority, then rule priority (both higher first), then ruleId. */
function byRank(a: Ranked, b: Ranked): number {
  const ra = a.compiled.rule;
  const rb = b.compiled.rule;
  return b.campaign.priority - a.campaign.priority || rb.priority - ra.priority || (ra.ruleId < rb.ruleId ? -1 : ra.ruleId > rb.ruleId ? 1 : 0);
}

function candidate(rule: Rule, campaign: Campaign, outcome: Outcome, reason: string): Candidate {
  return {
    ruleId: rule.ruleId,
    campaignId: rule.campaignId,
    priority: rule.priority,
    campaignPriority: campaign.priority,
    channel: rule.then.channel,
    outcome,
    reason,
  };
}

/** Consent, the rule's own limit, cooldown and caps: what the customer's contact history allows. */
function contactBlock(
  rule: Rule,
  channel: Channel,
  policy: ContactPolicy,
  transactional: boolean,
  customer: DecisionSubject,
  history: History,
): { outcome: Outcome; reason: string } | undefined {
  if (!exempt(policy, transactional, 'consent') && customer.consent?.[channel] !== true) {
    return { outcome: 'no-consent', reason: `no consent for ${channel}` };
  }
  if (rule.limit && statsOf(history).byRule(rule.ruleId, rule.limit.periodDays) >= rule.limit.count) {
    return { outcome: 'rule-limit', reason: `rule sends at most ${rule.limit.count} per customer in ${rule.limit.periodDays} days` };
  }
  if (policy.cooldownHours > 0 && !exempt(policy, transactional, 'cooldown') && statsOf(history).hoursSinceLast() < policy.cooldownHours) {
    return { outcome: 'cooldown', reason: `last contact less than ${policy.cooldownHours} h ago (policy ${policy.policyId})` };
  }
  const cap = policy.caps[channel];
  if (cap && !exempt(policy, transactional, 'caps')) {
    if (cap.perDay !== undefined && statsOf(history).day(channel) >= cap.perDay) {
      return { outcome: 'cap', reason: `${channel} cap of ${cap.perDay} per 24 h reached (policy ${policy.policyId})` };
    }
    if (cap.perWeek !== undefined && statsOf(history).week(channel) >= cap.perWeek) {
      return { outcome: 'cap', reason: `${channel} cap of ${cap.perWeek} per 7 days reached (policy ${policy.policyId})` };
    }
  }
  return undefined;
}

/** The offers of a set whose SKU some location has (all of them without a business context). */
function eligibleOffers(offers: readonly Offer[], context: BusinessContext | undefined): readonly Offer[] {
  return context ? offers.filter((o) => o.sku === undefined || !outOfStock(context, o.sku)) : offers;
}

function message(decisionId: string, customerId: string, rule: Rule, notBefore: string | undefined, offers: OfferChoice | undefined): OutboxMessage {
  const then = rule.then;
  // Plain literals rather than spreads: this runs for every message chosen.
  const m: { -readonly [K in keyof OutboxMessage]: OutboxMessage[K] } =
    then.channel === 'bus'
      ? { decisionId, customerId, ruleId: rule.ruleId, campaignId: rule.campaignId, channel: 'bus', action: then.action, transactional: false }
      : { decisionId, customerId, ruleId: rule.ruleId, campaignId: rule.campaignId, channel: then.channel, template: then.template, transactional: then.transactional };
  if (then.channel === 'bus') {
    if (then.payload) m.payload = then.payload;
    if (then.destination) m.destination = then.destination;
  } else {
    if (offers) {
      m.offer = offers.offer;
      if (offers.method === 'thompson') m.offerContext = offers.context;
    } else if (then.offer) m.offer = then.offer;
    if (then.channel === 'call') {
      m.team = then.team;
      m.retryMinutes = then.retryMinutes;
    }
  }
  if (notBefore) m.notBefore = notBefore;
  return m;
}
