// Destination items (lib/core/channels/destinations.ts, docs/destinations.md), in the templates table
// next to the message templates dispatch renders from:
//   DEST#<destinationId> / CURRENT      the live destination
//   DEST#<destinationId> / V#000001…    every version written (./versioned.ts)
// Written through DynamoDestinationRepository, which refuses an invalid item with the field named;
// read by dispatch through DynamoDestinationSource, which skips an item that fails its schema at load
// (written past the check) with a logged, counted reason.
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { checkDestination, type Destination } from '../../core/channels/destinations.ts';
import { BatonError } from '../../contract/errors.ts';
import type { DestinationSource } from '../../app/ports.ts';
import { VersionedItems, VERSION_ATTRIBUTES, type Written } from './versioned.ts';

const PREFIX = 'DEST#';
export const destinationKey = (destinationId: string) => ({ pk: `${PREFIX}${destinationId}`, sk: 'CURRENT' });

/** A destination item that failed its schema: nothing was written. */
export class InvalidDestinationError extends BatonError<'invalid-destination'> {}

export class DynamoDestinationRepository extends VersionedItems {
  constructor(db: DynamoDBDocumentClient, table: string, clock?: () => Date) {
    super(db, table, { noun: 'destination', prefix: PREFIX, idField: 'destinationId', check: (c) => checkDestination(c) }, clock);
  }

  /** Validates, then writes the next version; an invalid item is refused with every field named. */
  override async put(content: Record<string, unknown>, by: string, opts?: { ifChanged?: boolean; ifAbsent?: boolean }): Promise<Written> {
    const check = checkDestination(content);
    if (!check.ok) throw new InvalidDestinationError('invalid-destination', `destination ${check.destinationId}: ${check.reason}`);
    return super.put(content, by, opts);
  }
}

export class DynamoDestinationSource implements DestinationSource {
  private readonly cache = new Map<string, { at: number; value: Destination | undefined }>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly onRejected: (rejection: { destinationId: string; reason: string }) => void,
    /** A changed destination is seen within this long. */
    private readonly maxAgeMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async find(destinationId: string): Promise<Destination | undefined> {
    const hit = this.cache.get(destinationId);
    if (hit && this.now() - hit.at < this.maxAgeMs) return hit.value;
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: destinationKey(destinationId) }));
    let value: Destination | undefined;
    if (out.Item) {
      const { pk: _pk, sk: _sk, ...rest } = out.Item;
      const content = Object.fromEntries(Object.entries(rest).filter(([k]) => !(VERSION_ATTRIBUTES as readonly string[]).includes(k) || k === 'version'));
      const check = checkDestination(content);
      if (check.ok) value = check.destination;
      else this.onRejected({ destinationId, reason: check.reason });
    }
    this.cache.set(destinationId, { at: this.now(), value });
    return value;
  }
}
