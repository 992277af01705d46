// The ingest path for one event: validate, resolve identity, apply to state, decide, commit
// atomically. Runs the same on Lambda, in the local stack, in tests and in benchmarks.
import { randomUUID } from 'node:crypto';
import { parseEvent } from '../../events/validate.ts';
import { SOURCES, type BatonEvent } from '../../events/catalog.ts';
import { idKey, idsOf, payloadHash } from '../core/customer/identity.ts';
import {
  newCustomer,
  applyEvent,
  mergeCustomers,
  customerView,
  anonymousCounters,
  eventTime,
  type CustomerEvent,
  type CustomerState,
} from '../core/customer/index.ts';
import { decide } from '../core/decide.ts';
import { EMPTY_CAMPAIGN_BOOK } from '../core/campaigns/campaign.ts';
import { type CampaignSource } from './ports.ts';
import { contactHistory } from '../core/campaigns/history.ts';
import { recordDecision, SpentLimits } from '../core/campaigns/decision-state.ts';
import type { CustomerRepository, Metrics, QuarantineStore, RuleSource, StoredProfile, CommitResult } from './ports.ts';

export interface IngestDeps {
  readonly customers: CustomerRepository<CustomerState>;
  readonly quarantine: QuarantineStore;
  readonly rules: RuleSource;
  /** Campaigns and contact policies (cached like rules); without it every campaign has the defaults. */
  readonly campaigns?: CampaignSource;
  readonly metrics: Metrics;
  readonly clock?: () => Date;
  readonly newCustomerId?: () => string;
  /** Waits between retries after a conflict; injectable so tests run without sleeping. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly maxAttempts?: number;
  /**
   * Runs after an event was applied, and again when a duplicate arrives, so it must be idempotent:
   * a failure here fails the record, which is retried and then seen as a duplicate.
   * Feedback uses it to update decision status (lib/app/feedback.ts).
   */
  readonly afterApply?: (event: BatonEvent) => Promise<void>;
}

export type IngestOutcome =
  | { readonly status: 'applied'; readonly customerId: string; readonly decisionId?: string; readonly messages: number }
  | { readonly status: 'duplicate' }
  | { readonly status: 'quarantined'; readonly code: string; readonly reason: string }
  | { readonly status: 'erased'; readonly customerId?: string }
  | { readonly status: 'unknown-customer' };

/** A fault (not bad input): the event stays on the queue and is retried, then dead-lettered. */
export class IngestError extends Error {
  override readonly name = 'IngestError';
}

/** SES feedback carries the customerId Baton tagged the send with, not an external id. */
function taggedCustomerId(event: BatonEvent): string | undefined {
  if (event.source !== SOURCES.ses) return undefined;
  return (event.detail as { mail: { tags?: Record<string, string[]> } }).mail.tags?.customerId?.[0];
}

/** Runs fn after every earlier call with the same key has finished (a keyed mutex). */
function keyedMutex(): <T>(key: string, fn: () => Promise<T>) => Promise<T> {
  const tails = new Map<string, Promise<void>>();
  return async (key, fn) => {
    const previous = tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const tail = previous.then(() => new Promise<void>((r) => (release = r)));
    tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      release();
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

export function createIngest(deps: IngestDeps): (body: string) => Promise<IngestOutcome> {
  const exclusive = keyedMutex();
  const clock = deps.clock ?? (() => new Date());
  const newCustomerId = deps.newCustomerId ?? (() => `cus-${randomUUID()}`);
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxAttempts = deps.maxAttempts ?? 12;
  // Shared limits seen spent, kept briefly so later events skip a claim the commit would refuse.
  const spent = new SpentLimits(clock);

  async function quarantine(body: string, code: string, reason: string): Promise<IngestOutcome> {
    await deps.quarantine.put({
      quarantineId: randomUUID(),
      receivedAt: clock().toISOString(),
      code: code as never,
      reason,
      body,
    });
    deps.metrics.count('EventsQuarantined');
    return { status: 'quarantined', code, reason };
  }

  async function settle(result: CommitResult, body: string, ok: () => IngestOutcome): Promise<IngestOutcome | 'retry'> {
    if (result.status === 'committed') return ok();
    if (result.status === 'duplicate') {
      if (result.samePayload) {
        deps.metrics.count('EventsDuplicate');
        return { status: 'duplicate' };
      }
      return quarantine(body, 'event-id-reused', 'an event with this id was already applied with a different payload');
    }
    deps.metrics.count('CommitConflicts');
    return 'retry';
  }

  return async function ingest(body: string): Promise<IngestOutcome> {
    const parsed = parseEvent(body);
    if (!parsed.ok) return quarantine(body, parsed.code, parsed.reason);
    const event = parsed.event;
    const hash = payloadHash(JSON.stringify(event));
    const ids = idsOf(event);
    const tagged = taggedCustomerId(event);
    if (ids.length === 0 && !tagged) {
      return quarantine(body, 'invalid-detail', `${event.source} ${event['detail-type']}: no customer reference (ids or a customerId tag)`);
    }

    // Events of one customer in this process go one after another: parallel writers on one profile
    // only collide and retry. Across processes the version check keeps it correct.
    const lockKey = ids[0] ? idKey(ids[0]) : `customer#${tagged}`;
    return exclusive(lockKey, async () => {
      const exhausted = new Set<string>();
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        if (attempt > 1) await sleep(Math.random() * Math.min(1000, 10 * 2 ** attempt));
        const now = clock();
        const resolution = await deps.customers.resolve(ids);
        if (resolution.erased) {
          const seen = await deps.customers.markSeen(event.id, hash, 'erased');
          deps.metrics.count('EventsForErasedCustomers');
          if (seen.status === 'conflict') continue;
          return { status: 'erased' };
        }
        const customerIds = [...new Set([...resolution.links.values(), ...(tagged ? [tagged] : [])])].sort();
        const loaded = (await Promise.all(customerIds.map((id) => deps.customers.load(id)))).filter(
          (p): p is StoredProfile<CustomerState> => p !== undefined,
        );
        if (loaded.length < customerIds.length && resolution.links.size > 0) continue; // a merge moved a profile meanwhile
        if (tagged && loaded.length === 0) {
          const seen = await deps.customers.markSeen(event.id, hash, 'unknown-customer');
          if (seen.status === 'conflict') continue;
          return { status: 'unknown-customer' };
        }

        const [primary, ...others] = choosePrimary(loaded);
        const customerId = primary?.customerId ?? newCustomerId();
        let state = primary?.state ?? newCustomer(customerId);
        for (const other of others) state = mergeCustomers(state, other.state, { customerId });
        const identities = new Set([...(primary?.identities ?? []), ...others.flatMap((o) => o.identities)]);
        const formerIds = [...new Set([...(primary?.formerIds ?? []), ...others.flatMap((o) => [o.customerId, ...(o.formerIds ?? [])])])].sort();
        const newLinks = ids.map(idKey).filter((k) => resolution.links.get(k) !== customerId);
        for (const k of newLinks) identities.add(k);

        if (event.source === SOURCES.crm && event['detail-type'] === 'CustomerErased') {
          const result = await deps.customers.erase({
            eventId: event.id,
            payloadHash: hash,
            customerId,
            identities: [...identities],
            formerIds,
            requestId: event.detail.requestId,
            counters: { ...anonymousCounters(state) } as Record<string, number>,
          });
          const outcome = await settle(result, body, () => {
            deps.metrics.count('CustomersErased');
            return { status: 'erased', customerId };
          });
          if (outcome !== 'retry') return outcome;
          continue;
        }

        state = applyEvent(state, event);
        const [rules, campaigns] = await Promise.all([deps.rules.current(), deps.campaigns?.current()]);
        // Most events trigger no rule: then neither the view nor the contact history is built.
        const decision = rules.matching(event).length === 0 ? undefined : decide({
          event,
          customer: customerView(state, now) as never,
          rules,
          campaigns: campaigns ?? EMPTY_CAMPAIGN_BOOK,
          // Caps, cooldown and rule limits read the history in the state this commit version-checks.
          contacts: contactHistory(state.contacts),
          now,
          exhausted: spent.with(exhausted),
        });
        // Rule state is stamped with the event's time, like every other field, so arrival order does not matter.
        if (decision) state = recordDecision(state, decision, new Date(eventTime(event as CustomerEvent)), event.id);
        const result = await deps.customers.commit({
          eventId: event.id,
          payloadHash: hash,
          customerId,
          expectedVersion: primary?.version ?? 0,
          state,
          identities: [...identities].sort(),
          ...(formerIds.length ? { formerIds } : {}),
          newLinks,
          mergedAway: others.map((o) => ({ customerId: o.customerId, version: o.version, identities: o.identities })),
          ...(decision ? { decision } : {}),
          ...(decision?.reservations?.length ? { reservations: decision.reservations } : {}),
        });
        if (result.status === 'conflict' && result.on === 'reservation') {
          exhausted.add(result.key);
          spent.add(result.key);
        }
        const outcome = await settle(result, body, () => {
          deps.metrics.count('EventsApplied');
          if (decision) {
            deps.metrics.count('Decisions');
            deps.metrics.count('MessagesQueued', decision.messages.length);
          }
          return {
            status: 'applied',
            customerId,
            ...(decision ? { decisionId: decision.decisionId } : {}),
            messages: decision?.messages.length ?? 0,
          };
        });
        if (outcome === 'retry') continue;
        if (outcome.status === 'applied' || outcome.status === 'duplicate') await deps.afterApply?.(event);
        return outcome;
      }
      throw new IngestError(`event ${event.id} could not be committed after ${maxAttempts} attempts (concurrent updates)`);
    });
  };
}

/** The profile that survives a merge: the one the CRM knows, else the oldest id (deterministic). */
function choosePrimary(profiles: StoredProfile<CustomerState>[]): StoredProfile<CustomerState>[] {
  return [...profiles].sort((a, b) => {
    const crmA = a.identities.some((i) => i.startsWith('crmId#')) ? 0 : 1;
    const crmB = b.identities.some((i) => i.startsWith('crmId#')) ? 0 : 1;
    return crmA - crmB || (a.customerId < b.customerId ? -1 : 1);
  });
}
