// Items marketers keep with their history: rules (rules table), campaigns and contact policies
// (campaigns table). One live item per id and one item per version ever written:
//   <PREFIX><id> / CURRENT      the live item (what running functions load)
//   <PREFIX><id> / V#000001…    every version, with version, updatedAt, updatedBy (+ rolledBackFrom)
// Every write is one transaction, conditional on the live item read, so two writers never lose
// each other's change. An item written straight into the table (`aws dynamodb put-item`, the
// console) has no `version`: the next write here first keeps that content as a version of its own
// (with `adoptedAt`), so both routes work on the same items and nothing is lost to a rollback.
import { isDeepStrictEqual } from 'node:util';
import { GetCommand, QueryCommand, ScanCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatonError } from '../../contract/errors.ts';
import type { StoredRule } from '../../app/ports.ts';
import { cancellationCodes } from './client.ts';

/** Attributes the history adds to an item; everything else is the item's content. */
export const VERSION_ATTRIBUTES = ['version', 'updatedAt', 'updatedBy', 'rolledBackFrom', 'adoptedAt'] as const;

/** What `updatedBy` says on a version kept from an item written outside Baton's tools without one. */
export const WRITTEN_OUTSIDE = '(written to the table directly)';

export interface VersionedKind {
  /** How messages name one item: rule, campaign, policy. */
  readonly noun: string;
  /** Partition key prefix, e.g. `RULE#`. */
  readonly prefix: string;
  /** The content field holding the id, e.g. `ruleId`. */
  readonly idField: string;
  /** Validates content; the reason names the field and what was expected. */
  readonly check: (content: unknown) => { ok: true } | { ok: false; reason: string };
}

/** A versioned item as read (the port's shape), and when an unversioned one was adopted. */
export interface StoredItem extends StoredRule {
  readonly adoptedAt?: string;
}

export interface Written {
  readonly id: string;
  readonly version: number;
  /** The version that now holds the content found without a version, when there was one. */
  readonly adopted?: number;
  /** True when the content equalled the live item's and nothing was written (`ifChanged`). */
  readonly unchanged?: boolean;
}

export type Rollback =
  | ({ readonly status: 'rolled-back'; readonly from: number; readonly restored: number } & Written)
  | { readonly status: 'not-found'; readonly id: string }
  | { readonly status: 'no-earlier-version'; readonly id: string; readonly current: number | undefined; readonly versions: number };

/** Someone wrote the item between this write's read and its transaction: nothing was written. */
export class VersionConflictError extends BatonError<'version-conflict'> {}

type Item = Record<string, unknown>;

const CURRENT = 'CURRENT';
const versionSk = (version: number) => `V#${String(version).padStart(6, '0')}`;
const isVersion = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 1;

export class VersionedItems {
  constructor(
    protected readonly db: DynamoDBDocumentClient,
    protected readonly table: string,
    readonly kind: VersionedKind,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** The live item, or undefined. */
  async current(id: string): Promise<StoredItem | undefined> {
    const raw = await this.readCurrent(id);
    return raw && this.toStored(raw);
  }

  /** Every live item of this kind, sorted by id. */
  async list(): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new ScanCommand({
          TableName: this.table,
          FilterExpression: 'sk = :current AND begins_with(pk, :prefix)',
          ExpressionAttributeValues: { ':current': CURRENT, ':prefix': this.kind.prefix },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      for (const raw of page.Items ?? []) items.push(this.toStored(raw));
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** The stored versions of one item, newest first (`limit` of them when given). */
  async versions(id: string, limit?: number): Promise<StoredItem[]> {
    const items: StoredItem[] = [];
    let start: Item | undefined;
    do {
      const page = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :v)',
          ExpressionAttributeValues: { ':pk': this.pk(id), ':v': 'V#' },
          ScanIndexForward: false,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ...(limit ? { Limit: limit } : {}),
        }),
      );
      for (const raw of page.Items ?? []) items.push(this.toStored(raw));
      start = limit && items.length >= limit ? undefined : page.LastEvaluatedKey;
    } while (start);
    return items;
  }

  /**
   * Writes `content` (already validated) as the next version and makes it live. With `ifChanged`,
   * content equal to the live item's writes nothing; with `ifAbsent`, an existing item is left alone.
   */
  async put(content: Item, by: string, opts: { ifChanged?: boolean; ifAbsent?: boolean } = {}): Promise<Written> {
    const id = this.idOf(content);
    const current = await this.readCurrent(id);
    if (current && opts.ifAbsent) return { id, version: this.toStored(current).version ?? 0, unchanged: true };
    if (current && opts.ifChanged && isDeepStrictEqual(this.toStored(current).content, strip(content))) {
      return { id, version: this.toStored(current).version ?? 0, unchanged: true };
    }
    return this.write(id, content, current, by);
  }

  /** A new version from the live one with `change` applied (e.g. `{enabled: false}`); undefined when there is none. */
  async update(id: string, change: Item, by: string): Promise<Written | undefined> {
    const current = await this.readCurrent(id);
    if (!current) return undefined;
    return this.write(id, { ...this.toStored(current).content, ...change }, current, by);
  }

  /**
   * Makes the newest earlier version that is valid and differs from the live content live again,
   * as a new version (`rolledBackFrom` says which it replaced).
   */
  async rollback(id: string, by: string): Promise<Rollback> {
    const current = await this.readCurrent(id);
    if (!current) return { status: 'not-found', id };
    const live = this.toStored(current);
    const versions = await this.versions(id);
    // Content found without a version is kept as the next one before anything replaces it.
    const from = live.version ?? (versions[0]?.version ?? 0) + 1;
    const target = versions.find(
      (v) => v.version !== undefined && v.version < from && this.kind.check(v.content).ok && !isDeepStrictEqual(v.content, live.content),
    );
    if (!target) return { status: 'no-earlier-version', id, current: live.version, versions: versions.length };
    const written = await this.write(id, target.content, current, by, { rolledBackFrom: from });
    return { status: 'rolled-back', from, restored: target.version!, ...written };
  }

  private async write(id: string, content: Item, current: Item | undefined, by: string, extra: Item = {}): Promise<Written> {
    const now = this.clock().toISOString();
    const live = current && this.toStored(current);
    // The newest stored version counts too: a live item copied back by hand may carry an old number.
    const newest = (await this.versions(id, 1))[0]?.version ?? 0;
    const adopted = live && live.version === undefined ? newest + 1 : undefined;
    const version = Math.max(newest, live?.version ?? 0, adopted ?? 0) + 1;
    const item = { ...strip(content), [this.kind.idField]: id, version, updatedAt: now, updatedBy: by, ...extra };
    const readVersion = current && 'version' in current ? current.version : undefined;
    const items: NonNullable<ConstructorParameters<typeof TransactWriteCommand>[0]['TransactItems']> = [];
    if (adopted !== undefined && live) {
      items.push({
        Put: {
          TableName: this.table,
          Item: {
            ...this.key(id, versionSk(adopted)),
            ...live.content,
            version: adopted,
            updatedAt: live.updatedAt ?? now,
            updatedBy: live.updatedBy ?? WRITTEN_OUTSIDE,
            adoptedAt: now,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      });
    }
    items.push(
      {
        Put: {
          TableName: this.table,
          Item: { ...this.key(id, CURRENT), ...item },
          // The live item must still be the one read: another put in between would be lost.
          ...(!current
            ? { ConditionExpression: 'attribute_not_exists(pk)' }
            : readVersion === undefined
              ? { ConditionExpression: 'attribute_exists(pk) AND attribute_not_exists(version)' }
              : { ConditionExpression: 'version = :read', ExpressionAttributeValues: { ':read': readVersion } }),
        },
      },
      { Put: { TableName: this.table, Item: { ...this.key(id, versionSk(version)), ...item }, ConditionExpression: 'attribute_not_exists(pk)' } },
    );
    try {
      await this.db.send(new TransactWriteCommand({ TransactItems: items }));
    } catch (err) {
      if (cancellationCodes(err)?.includes('ConditionalCheckFailed')) {
        throw new VersionConflictError(
          'version-conflict',
          `${this.kind.noun} ${id} was changed by someone else while this write was prepared; nothing was written: read it again (list, diff) and repeat`,
          { cause: err },
        );
      }
      throw err;
    }
    return { id, version, ...(adopted !== undefined ? { adopted } : {}) };
  }

  private pk(id: string): string {
    return `${this.kind.prefix}${id}`;
  }

  private key(id: string, sk: string): { pk: string; sk: string } {
    return { pk: this.pk(id), sk };
  }

  private idOf(content: Item): string {
    const id = content[this.kind.idField];
    if (typeof id !== 'string' || id === '') throw new TypeError(`${this.kind.noun}: ${this.kind.idField} must be a non-empty string`);
    return id;
  }

  private readCurrent(id: string): Promise<Item | undefined> {
    return this.db.send(new GetCommand({ TableName: this.table, Key: this.key(id, CURRENT), ConsistentRead: true })).then((out) => out.Item);
  }

  private toStored(raw: Item): StoredItem {
    const pk = String(raw.pk);
    const id = pk.startsWith(this.kind.prefix) ? pk.slice(this.kind.prefix.length) : String(raw[this.kind.idField]);
    const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
    return {
      id,
      version: isVersion(raw.version) ? raw.version : undefined,
      content: strip(raw),
      ...(str(raw.updatedAt) ? { updatedAt: str(raw.updatedAt)! } : {}),
      ...(str(raw.updatedBy) ? { updatedBy: str(raw.updatedBy)! } : {}),
      ...(isVersion(raw.rolledBackFrom) ? { rolledBackFrom: raw.rolledBackFrom } : {}),
      ...(str(raw.adoptedAt) ? { adoptedAt: str(raw.adoptedAt)! } : {}),
    };
  }
}

/** An item without its keys and version attributes: what the marketer wrote. */
function strip(item: Item): Item {
  const content: Item = {};
  for (const [k, v] of Object.entries(item)) {
    if (k === 'pk' || k === 'sk' || (VERSION_ATTRIBUTES as readonly string[]).includes(k)) continue;
    content[k] = v;
  }
  return content;
}
