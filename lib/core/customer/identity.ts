// A customer's external ids (CRM id, email, loyalty card, device, licence) as the identity index
// keys them, and the hashes that stand in for them where the id itself must not be kept. Pure.
import { createHash } from 'node:crypto';
import { ID_KINDS, SOURCES, type BatonEvent, type IdKind } from '../../../events/catalog.ts';

export interface IdRef {
  readonly kind: IdKind;
  readonly value: string;
}

/** The index key of an id: `kind#value`, emails in lower case (they are matched however written). */
export const idKey = (ref: IdRef): string => `${ref.kind}#${ref.kind === 'email' ? ref.value.toLowerCase() : ref.value}`;

/**
 * The ids an event names its customer by (`detail.ids`): each is linked to the customer's profile,
 * profiles linked by one id are merged, and an id of an erased customer drops the event.
 */
export function idsOf(event: BatonEvent): IdRef[] {
  const detail = event.detail as { ids?: Partial<Record<IdKind, string>> };
  if (!detail.ids) return [];
  return ID_KINDS.filter((k) => detail.ids![k] !== undefined).map((kind) => ({ kind, value: detail.ids![kind]! }));
}

/**
 * The ids an event makes its customer findable by, without merging or dropping anything on them:
 * the e-mail address in a CRM profile (`CustomerUpserted`'s `profile.email`). Such an id is linked
 * when no profile holds it yet; one another profile holds, or an erased customer held, stays as it is
 * (two CRM customers may share an address). An address also in `detail.ids` is left to idsOf.
 */
export function lookupIdsOf(event: BatonEvent): IdRef[] {
  if (event.source !== SOURCES.crm || event['detail-type'] !== 'CustomerUpserted') return [];
  const email = event.detail.profile.email;
  if (email === undefined) return [];
  const ref: IdRef = { kind: 'email', value: email };
  return idsOf(event).some((id) => idKey(id) === idKey(ref)) ? [] : [ref];
}

/** Hash of an event's payload: the same event id with another payload is a fault, not a duplicate. */
export function payloadHash(body: string): string {
  return createHash('sha256').update(body).digest('base64url');
}

/** Hash of an id key, kept in an erasure tombstone instead of the id. */
export const tombstoneHash = (key: string): string => createHash('sha256').update(key).digest('hex');

/** `\u0040` and the like decoded in a text that may not be JSON (or nested beyond any parser). */
export function withJsonEscapesDecoded(text: string): string {
  return text.replace(/\\u([0-9a-fA-F]{4})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
