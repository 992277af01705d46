// The console's read of segments: the definitions (DynamoSegmentRepository, the CLI's), the member
// counts (the sharded counters) and when each member joined (the membership items).
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SegmentDirectory, StoredSegment } from '../../app/ports.ts';
import { DynamoSegmentMembers, DynamoSegmentRepository } from './segments.ts';
import type { SegmentTables } from './segment-members.ts';

export class DynamoConsoleSegments implements SegmentDirectory {
  private readonly definitions: DynamoSegmentRepository;
  private readonly members: DynamoSegmentMembers;

  constructor(db: DynamoDBDocumentClient, tables: SegmentTables & { readonly rules: string }) {
    this.definitions = new DynamoSegmentRepository(db, tables.rules);
    this.members = new DynamoSegmentMembers(db, tables);
  }

  list(): Promise<StoredSegment[]> {
    return this.definitions.list();
  }

  current(segmentId: string): Promise<StoredSegment | undefined> {
    return this.definitions.current(segmentId);
  }

  counts(segmentIds: readonly string[]): Promise<Map<string, number>> {
    return this.members.counts(segmentIds);
  }

  async memberSince(segmentId: string): Promise<string[]> {
    return (await this.members.members(segmentId)).map((m) => m.since);
  }
}
