// A segment's membership, page by page per bucket, for outbound runs (kept apart from ./runs.ts,
// which the customers repository imports: ./segments.ts imports that repository).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SegmentMemberPages } from '../../app/ports.ts';
import { DynamoSegmentMembers } from './segments.ts';
import { MEMBER_BUCKETS } from './segment-members.ts';

type Item = Record<string, unknown>;

/** A segment's membership pages for a run; the cursor is DynamoDB's last key as JSON text (it goes into the checkpoint). */
export class DynamoRunMembers implements SegmentMemberPages {
  readonly buckets = MEMBER_BUCKETS;
  private readonly members: DynamoSegmentMembers;

  constructor(db: DynamoDBDocumentClient, tables: { customers: string; counters: string }) {
    this.members = new DynamoSegmentMembers(db, tables);
  }

  async page(segmentId: string, bucket: number, cursor: string | undefined, limit: number): Promise<{ customerIds: string[]; cursor?: string }> {
    const out = await this.members.page(segmentId, bucket, cursor ? (JSON.parse(cursor) as Item) : undefined, limit);
    return { customerIds: out.members.map((m) => m.customerId), ...(out.cursor ? { cursor: JSON.stringify(out.cursor) } : {}) };
  }
}
