// The daily re-evaluation of segments (docs/segments.md): fields that change with time alone
// (`daysSinceLastPurchase`, `daysToNextLicenseExpiry`, a licence's `daysLeft`) move a customer in
// or out of a segment without any event. This pages through the profiles, evaluates each on the
// clock's `now`, and commits each change the way ingest does: the profile (version-checked), the
// membership items and counts in one transaction, then SegmentEntered/SegmentLeft on the bus.
import { payloadHash } from '../core/customer/identity.ts';
import type { CustomerState } from '../core/customer/index.ts';
import { changed, membershipAfter } from '../core/segments/membership.ts';
import { publishMembership } from './segments.ts';
import type { CustomerPages, CustomerRepository, Metrics, SegmentEventPublisher, SegmentSource } from './ports.ts';

export interface SegmentsRefreshDeps {
  readonly customers: Pick<CustomerRepository<CustomerState>, 'commit'>;
  readonly pages: CustomerPages<CustomerState>;
  readonly segments: SegmentSource;
  readonly segmentEvents?: SegmentEventPublisher;
  readonly metrics: Metrics;
  /** Injected so a test can run the refresh on any day. */
  readonly clock: () => Date;
  readonly pageSize?: number;
}

export interface RefreshReport {
  readonly day: string;
  readonly customers: number;
  readonly changed: number;
  readonly entered: number;
  readonly left: number;
  /** Customers whose profile changed under the refresh: their own commit evaluated them already. */
  readonly skipped: number;
}

/**
 * One pass over the profiles (or one `part` of `parts`, for parallel workers). Safe to run again:
 * a change is keyed by the day, the customer and the version read, so a second run of the same
 * day after a crash finds the marker and publishes the same events again instead of committing.
 */
export async function refreshSegments(deps: SegmentsRefreshDeps, opts: { part?: number; parts?: number } = {}): Promise<RefreshReport> {
  const now = deps.clock();
  const day = now.toISOString().slice(0, 10);
  const book = await deps.segments.current();
  const totals = { customers: 0, changed: 0, entered: 0, left: 0, skipped: 0 };
  let cursor: string | undefined;
  do {
    const page = await deps.pages.page({ ...(cursor ? { cursor } : {}), limit: deps.pageSize ?? 200, ...opts });
    for (const profile of page.profiles) {
      totals.customers++;
      const before = profile.segments ?? [];
      const change = membershipAfter(book, before, profile.state, now);
      if (!changed(change)) continue;
      const eventId = `segments-refresh:${day}:${profile.customerId}:${profile.version}`;
      const membership = { ...change, cause: `refresh:${day}`, at: now.toISOString() };
      const result = await deps.customers.commit({
        eventId,
        payloadHash: payloadHash(`${profile.customerId}\u0000${profile.version}\u0000${change.members.join(',')}`),
        customerId: profile.customerId,
        expectedVersion: profile.version,
        state: profile.state,
        identities: profile.identities,
        ...(profile.formerIds?.length ? { formerIds: profile.formerIds } : {}),
        newLinks: [],
        mergedAway: [],
        membership,
      });
      if (result.status === 'conflict') {
        totals.skipped++;
        continue;
      }
      await publishMembership(deps.segmentEvents, deps.metrics, profile.customerId, result, membership);
      if (result.status === 'committed') {
        totals.changed++;
        totals.entered += change.entered.length;
        totals.left += change.left.length;
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return { day, ...totals };
}
