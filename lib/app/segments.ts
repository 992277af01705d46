// Segment membership on the ingest path (docs/segments.md): the commit computes and writes it
// (lib/app/decide-and-commit.ts); this file publishes what a commit changed and reads the segment
// events back with their own id. Kept apart so ingest needs only a few lines.
import { SOURCES, type BatonEvent } from '../../events/catalog.ts';
import { segmentEvents } from '../core/segments/events.ts';
import type { CommitResult, CommittedMembership, MembershipCommit, Metrics, SegmentEventPublisher } from './ports.ts';

/**
 * A segment event's envelope id is the bus's, new for every copy; its detail's `eventId` is derived
 * from what caused it. Ingest takes that one, so a copy published again is a duplicate.
 */
export function withOwnId(event: BatonEvent): BatonEvent {
  // Loyalty events (docs/loyalty.md) carry an eventId derived from their posting likewise.
  if (event.source === SOURCES.loyalty) return { ...event, id: event.detail.eventId };
  if (event.source !== SOURCES.segments) return event;
  return { ...event, id: event.detail.eventId };
}

/** The customerId a segment event names (it carries no external id). */
export function segmentEventCustomer(event: BatonEvent): string | undefined {
  return event.source === SOURCES.segments ? event.detail.customerId : undefined;
}

/**
 * After a commit: publishes the segments entered and left. After a duplicate: publishes again what
 * the first commit recorded on its marker, in case the process died between commit and publish
 * (at least once; consumers de-duplicate on the derived event id). A failure throws, so the event
 * is retried, arrives as a duplicate and publishes again.
 */
export async function publishMembership(
  publisher: SegmentEventPublisher | undefined,
  metrics: Metrics,
  customerId: string,
  result: CommitResult,
  membership: MembershipCommit | undefined,
): Promise<void> {
  let change: CommittedMembership | undefined;
  if (result.status === 'committed' && membership && (membership.entered.length || membership.left.length)) {
    change = { customerId, entered: membership.entered, left: membership.left, cause: membership.cause, at: membership.at };
    metrics.count('SegmentsEntered', change.entered.length);
    metrics.count('SegmentsLeft', change.left.length);
  } else if (result.status === 'duplicate' && result.samePayload && result.membership) {
    change = result.membership;
  }
  if (!change || !publisher) return;
  await publisher.publish(segmentEvents(change.customerId, change.cause, change, change.at));
}
