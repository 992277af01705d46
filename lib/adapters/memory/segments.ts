// Segments in memory, over MemoryCustomerRepository's profiles and members: for tests and the
// memory/DynamoDB differential. Same answers as lib/adapters/dynamo/segments.ts.
import type { CustomerPages, SegmentCounts, SegmentEventPublisher, SegmentSource, StoredProfile } from '../../app/ports.ts';
import { SegmentBook } from '../../core/segments/book.ts';
import type { SegmentEvent } from '../../core/segments/events.ts';
import type { Segment } from '../../core/segments/segment.ts';
import type { MemoryCustomerRepository } from './customers.ts';

export class MemorySegmentSource implements SegmentSource {
  book: SegmentBook;
  constructor(segments: readonly Segment[] = []) {
    this.book = new SegmentBook(segments);
  }
  set(segments: readonly Segment[]): void {
    this.book = new SegmentBook(segments);
  }
  async current(): Promise<SegmentBook> {
    return this.book;
  }
}

export class MemorySegmentEvents implements SegmentEventPublisher {
  readonly published: SegmentEvent[] = [];
  async publish(events: readonly SegmentEvent[]): Promise<void> {
    this.published.push(...events);
  }
}

export class MemorySegmentMembers<S> implements SegmentCounts, CustomerPages<S> {
  constructor(private readonly repo: MemoryCustomerRepository<S>) {}

  async counts(segmentIds: readonly string[]): Promise<Map<string, number>> {
    return new Map(segmentIds.map((id) => [id, this.repo.members.get(id)?.size ?? 0]));
  }

  async members(segmentId: string): Promise<{ customerId: string; since: string }[]> {
    return [...(this.repo.members.get(segmentId) ?? new Map<string, string>())]
      .map(([customerId, since]) => ({ customerId, since }))
      .sort((a, b) => (a.customerId < b.customerId ? -1 : 1));
  }

  /** Profiles in customerId order; the cursor is the last id of the page. */
  async page(opts: { cursor?: string; limit?: number; part?: number; parts?: number }): Promise<{ profiles: StoredProfile<S>[]; cursor?: string }> {
    const ids = [...this.repo.profiles.keys()].sort().filter((id) => opts.cursor === undefined || id > opts.cursor);
    // A part is fixed by the id, so it holds the same customers on every page.
    const partOf = (id: string) => [...id].reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7) % opts.parts!;
    const mine = opts.parts && opts.parts > 1 ? ids.filter((id) => partOf(id) === (opts.part ?? 0)) : ids;
    const limit = opts.limit ?? 200;
    const taken = mine.slice(0, limit);
    const profiles = taken.map((id) => this.repo.profiles.get(id)!);
    return { profiles, ...(mine.length > limit ? { cursor: taken.at(-1)! } : {}) };
  }
}
