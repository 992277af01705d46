// The analytical export's per-customer pseudonym keys, in the aggregates table (./aggregates.ts
// lists its items):
//   PSEUDONYM#<hmac(exportSecret, customerId)> / KEY   { key }                     a random key, made on first use
//   PSEUDONYM#<hmac(exportSecret, customerId)> / KEY   { forgottenAt, expiresAt }  the customer was erased
// The item's key is a keyed hash: the table alone does not say whose key it is. Erasure replaces
// the key with the "forgotten" mark: the exported rows' pseudonyms can no longer be recomputed,
// and a late change of the customer (a stream record still in flight) is not exported at all. The
// mark expires once no stream can still deliver such a record.
import { createHmac, randomBytes } from 'node:crypto';
import { GetCommand, PutCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Pseudonyms } from '../../app/ports.ts';

/** Longer than a stream keeps records (24 h) plus the consumers' retries (6 h). */
export const FORGOTTEN_TTL_DAYS = 7;
/** Keys this instance keeps in memory (a stream batch names the same customers often); bounded. */
const CACHED_KEYS = 10_000;
/** Pseudonyms are the first 128 bits of the HMAC: enough that two customers never share one. */
const HEX_CHARS = 32;

export class DynamoPseudonyms implements Pseudonyms {
  private readonly cache = new Map<string, string | undefined>();

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly secret: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  private itemKey(customerId: string) {
    return { pk: `PSEUDONYM#${createHmac('sha256', this.secret).update(customerId).digest('hex')}`, sk: 'KEY' };
  }

  async of(customerId: string): Promise<((label: string) => string) | undefined> {
    const key = await this.keyOf(customerId);
    if (key === undefined) return undefined;
    // Both the secret and the customer's key: the table alone does not link, nor the secret alone once the key is gone.
    return (label) => createHmac('sha256', this.secret).update(key).update('\u0000').update(label).digest('hex').slice(0, HEX_CHARS);
  }

  private async keyOf(customerId: string): Promise<string | undefined> {
    if (this.cache.has(customerId)) return this.cache.get(customerId);
    const Key = this.itemKey(customerId);
    const read = await this.db.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }));
    let key: string | undefined;
    if (read.Item) key = typeof read.Item.key === 'string' ? read.Item.key : undefined;
    else {
      const fresh = randomBytes(32).toString('hex');
      try {
        await this.db.send(new PutCommand({ TableName: this.table, Item: { ...Key, key: fresh }, ConditionExpression: 'attribute_not_exists(pk)' }));
        key = fresh;
      } catch (err) {
        if ((err as { name?: string }).name !== 'ConditionalCheckFailedException') throw err;
        // Another consumer made it (or forgot the customer) at the same moment: theirs wins.
        const again = await this.db.send(new GetCommand({ TableName: this.table, Key, ConsistentRead: true }));
        key = typeof again.Item?.key === 'string' ? again.Item.key : undefined;
      }
    }
    if (this.cache.size >= CACHED_KEYS) this.cache.clear();
    this.cache.set(customerId, key);
    return key;
  }

  async forget(customerId: string): Promise<void> {
    const now = this.clock();
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...this.itemKey(customerId), forgottenAt: now.toISOString(), expiresAt: Math.floor(now.getTime() / 1000) + FORGOTTEN_TTL_DAYS * 86_400 },
      }),
    );
    this.cache.set(customerId, undefined);
  }
}
