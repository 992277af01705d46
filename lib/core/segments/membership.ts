// Which segments a customer belongs to after a change, and which they entered and left: pure, so
// ingest (per event), the daily refresh (per customer, as time passes) and tests all compute it
// the same way. The members before are what the profile holds (not a second evaluation of the old
// view), so a segment whose definition changed is corrected at the customer's next change.
import { customerView, type CustomerState } from '../customer/index.ts';
import type { SegmentBook } from './book.ts';

export interface MembershipChange {
  /** Every segment the customer belongs to after the change, sorted. */
  readonly members: readonly string[];
  readonly entered: readonly string[];
  readonly left: readonly string[];
}

export const NO_CHANGE = (members: readonly string[]): MembershipChange => ({ members, entered: [], left: [] });

/**
 * Dynamic enabled segments follow the view. Static and disabled segments keep their members.
 * A segment no longer in force (deleted) is left.
 */
export function membershipChange(book: SegmentBook, before: readonly string[], view: unknown): MembershipChange {
  const was = new Set(before);
  const now = new Set<string>();
  for (const id of was) {
    const segment = book.segment(id);
    if (segment && (segment.kind === 'static' || !segment.enabled)) now.add(id);
  }
  for (const segment of book.evaluated()) if (book.matches(segment.segmentId, view)) now.add(segment.segmentId);
  const members = [...now].sort();
  return {
    members,
    entered: members.filter((id) => !was.has(id)),
    left: [...was].filter((id) => !now.has(id)).sort(),
  };
}

export const changed = (c: MembershipChange): boolean => c.entered.length > 0 || c.left.length > 0;

/**
 * The change for a customer's state at `now`: without a segment book (a caller that keeps no
 * segments, such as the decision API) the members stay as they are.
 */
export function membershipAfter(book: SegmentBook | undefined, before: readonly string[], state: CustomerState, now: Date): MembershipChange {
  if (!book) return NO_CHANGE(before);
  return membershipChange(book, before, customerView(state, now));
}
