// A customer's external ids (CRM id, email, loyalty card, device, licence) as the identity index
// keys them, and the hashes that stand in for them where the id itself must not be kept. Pure.
import { createHash } from 'node:crypto';
import { ID_KINDS, type BatonEvent, type IdKind } from '../../../events/catalog.ts';

export interface IdRef {
  readonly kind: IdKind;
  readonly value: string;
}

/** The index key of an id: `kind#value`, emails in lower case (they are matched however written). */
export const idKey = (ref: IdRef): string => `${ref.kind}#${ref.kind === 'email' ? ref.value.toLowerCase() : ref.value}`;

export function idsOf(event: BatonEvent): IdRef[] {
  const detail = event.detail as { ids?: Partial<Record<IdKind, string>> };
  if (!detail.ids) return [];
  return ID_KINDS.filter((k) => detail.ids![k] !== undefined).map((kind) => ({ kind, value: detail.ids![kind]! }));
}

/** Hash of an event's payload: the same event id with another payload is a fault, not a duplicate. */
export function payloadHash(body: string): string {
  return createHash('sha256').update(body).digest('base64url');
}

/** Hash of an id key, kept in an erasure tombstone instead of the id. */
export const tombstoneHash = (key: string): string => createHash('sha256').update(key).digest('hex');
