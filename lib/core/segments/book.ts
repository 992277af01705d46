// The segments in force, compiled once: which dynamic segments a customer view matches.
import { compilePattern } from '../event-pattern/index.ts';
import type { Segment } from './segment.ts';

/**
 * At most this many segments are in force. Every segment a customer enters or leaves costs two
 * items (membership, counter shard) in the commit transaction, which DynamoDB caps at 100 items;
 * with the profile, the marker, a decision and its claims this keeps every commit inside the cap.
 */
export const MAX_SEGMENTS = 30;

interface Compiled {
  readonly segment: Segment;
  readonly test: (view: unknown) => boolean;
}

// A refresh that finds a segment unchanged (the same object) reuses its compiled pattern.
const compiledCache = new WeakMap<Segment, Compiled>();

export class SegmentBook {
  private readonly byId = new Map<string, Compiled>();

  /** Segments past MAX_SEGMENTS (in id order) are left out; `overflow` names them. */
  readonly overflow: readonly string[];

  constructor(segments: readonly Segment[]) {
    const sorted = [...segments].sort((a, b) => (a.segmentId < b.segmentId ? -1 : a.segmentId > b.segmentId ? 1 : 0));
    for (const segment of sorted.slice(0, MAX_SEGMENTS)) {
      let c = compiledCache.get(segment);
      if (!c) {
        c = { segment, test: segment.if ? compilePattern(segment.if) : () => false };
        compiledCache.set(segment, c);
      }
      this.byId.set(segment.segmentId, c);
    }
    this.overflow = sorted.slice(MAX_SEGMENTS).map((s) => s.segmentId);
  }

  get size(): number {
    return this.byId.size;
  }

  segment(segmentId: string): Segment | undefined {
    return this.byId.get(segmentId)?.segment;
  }

  list(): Segment[] {
    return [...this.byId.values()].map((c) => c.segment);
  }

  /** Whether the view belongs to the dynamic segment (false for static and unknown ones). */
  matches(segmentId: string, view: unknown): boolean {
    const c = this.byId.get(segmentId);
    return c !== undefined && c.segment.kind === 'dynamic' && c.test(view);
  }

  /** The enabled dynamic segments, whose membership follows the view. */
  *evaluated(): Iterable<Segment> {
    for (const c of this.byId.values()) if (c.segment.kind === 'dynamic' && c.segment.enabled) yield c.segment;
  }
}

export const EMPTY_SEGMENT_BOOK = new SegmentBook([]);
