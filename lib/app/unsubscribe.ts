// One-click unsubscribe (RFC 8058) from the links in e-mails: the signed token names the customer and
// channel; unsubscribing withdraws consent by publishing a `ConsentChanged` (via `unsubscribe-link`)
// through the bus, so it reaches the profile like any other consent record. The pages are HTTP's
// (lib/wiring/http.ts).
import { ID_KINDS, SOURCES, type Channel, type IdKind } from '../../events/catalog.ts';
import { verifyUnsubscribe, type UnsubscribeClaim } from '../core/channels/unsubscribe.ts';
import type { CustomerState } from '../core/customer/index.ts';
import type { CustomerRepository, Metrics } from './ports.ts';

export interface UnsubscribeDeps {
  readonly customers: Pick<CustomerRepository<CustomerState>, 'load'>;
  readonly metrics: Metrics;
  readonly clock?: () => Date;
  /** The link secret and how to publish the ConsentChanged; without it every link is invalid. */
  readonly unsubscribe?: { secret: string; publish(event: { source: string; 'detail-type': string; detail: unknown }): Promise<void> };
}

export type UnsubscribeOutcome =
  | { readonly status: 'unsubscribed'; readonly channel: Channel }
  /** Nothing to withdraw: the customer is erased, or no id is left to address the consent to. */
  | { readonly status: 'nothing-held'; readonly held: 'no-data' | 'no-address' };

export interface Unsubscribe {
  /** The claim of a valid link; undefined for a forged, cut or unknown one. */
  check(token: string): UnsubscribeClaim | undefined;
  unsubscribe(claim: UnsubscribeClaim): Promise<UnsubscribeOutcome>;
}

export function createUnsubscribe(deps: UnsubscribeDeps): Unsubscribe {
  const clock = deps.clock ?? (() => new Date());
  return {
    check(token) {
      return deps.unsubscribe ? verifyUnsubscribe(token, deps.unsubscribe.secret) : undefined;
    },
    async unsubscribe(claim) {
      const publisher = deps.unsubscribe;
      const profile = await deps.customers.load(claim.customerId);
      if (!publisher || !profile || profile.state.erased) return { status: 'nothing-held', held: 'no-data' };
      const ids = idForEvent(profile.identities);
      if (!ids) return { status: 'nothing-held', held: 'no-address' };
      await publisher.publish({
        source: SOURCES.crm,
        'detail-type': 'ConsentChanged',
        detail: { ids, occurredAt: clock().toISOString(), channel: claim.channel, granted: false, via: 'unsubscribe-link', decisionId: claim.decisionId },
      });
      deps.metrics.count('Unsubscribes');
      return { status: 'unsubscribed', channel: claim.channel };
    },
  };
}

/** One external id of the profile for the ConsentChanged event, in the catalog's order (the CRM's id first). */
function idForEvent(identities: readonly string[]): Partial<Record<IdKind, string>> | undefined {
  for (const kind of ID_KINDS) {
    const found = identities.find((i) => i.startsWith(`${kind}#`));
    if (found) return { [kind]: found.slice(kind.length + 1) };
  }
  return undefined;
}
