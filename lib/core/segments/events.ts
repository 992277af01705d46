// The SegmentEntered / SegmentLeft events a membership change publishes (source `baton.segments`,
// events/catalog.ts). Their `eventId` is derived from the cause, the customer, the segment and the
// kind of change, so a copy published again (after a crash between commit and publish) is the same
// event, which ingest, rules and journeys then see as a duplicate.
import { hash } from 'node:crypto';
import { SOURCES } from '../../../events/catalog.ts';
import type { MembershipChange } from './membership.ts';

export const SEGMENT_ENTERED = 'SegmentEntered';
export const SEGMENT_LEFT = 'SegmentLeft';

export interface SegmentEvent {
  readonly source: typeof SOURCES.segments;
  readonly detailType: typeof SEGMENT_ENTERED | typeof SEGMENT_LEFT;
  readonly time: string;
  readonly detail: {
    readonly eventId: string;
    readonly segmentId: string;
    readonly customerId: string;
    readonly cause: string;
    readonly occurredAt: string;
  };
}

export function segmentEventId(cause: string, customerId: string, segmentId: string, detailType: string): string {
  return `seg-${hash('sha256', `${cause}\u0000${customerId}\u0000${segmentId}\u0000${detailType}`, 'hex').slice(0, 32)}`;
}

/** The events for one committed change; `cause` is the event (or refresh) that made it, `at` its time. */
export function segmentEvents(customerId: string, cause: string, change: Pick<MembershipChange, 'entered' | 'left'>, at: string): SegmentEvent[] {
  const make = (segmentId: string, detailType: SegmentEvent['detailType']): SegmentEvent => ({
    source: SOURCES.segments,
    detailType,
    time: at,
    detail: { eventId: segmentEventId(cause, customerId, segmentId, detailType), segmentId, customerId, cause, occurredAt: at },
  });
  return [...change.entered.map((id) => make(id, SEGMENT_ENTERED)), ...change.left.map((id) => make(id, SEGMENT_LEFT))];
}
