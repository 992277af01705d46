// What rule, campaign, policy and template items share: the id format and common fields, how a
// failed check reads, which item it was, the check itself, and the validity window rule.
import { z } from 'zod';
import { validate as validatePattern, InvalidPatternError } from '../event-pattern/index.ts';

/** Ids of rules, campaigns, policies and templates: lower-case letters, digits and dashes, at most 64. */
export const ITEM_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const itemIdSchema = z.string().regex(ITEM_ID, 'lower-case letters, digits and dashes, at most 64');

/** An EventBridge pattern (a rule's `when`/`if`, a segment's definition, a journey's entry, wait or goal), checked at write. */
export const patternSchema = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  try {
    validatePattern(value);
  } catch (err) {
    if (!(err instanceof InvalidPatternError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});

/** Fields rule, campaign and policy items have in common. */
export const itemDescription = z.string().max(500).optional();
export const itemVersion = z.number().int().min(1).optional();
/** Higher wins. */
export const itemPriority = z.number().int().min(0).max(1000);
/** An optional validity window, `validFrom` included, `validUntil` not; refined by `validityWindow`. */
export const validityFields = {
  validFrom: z.iso.datetime({ offset: true }).optional(),
  validUntil: z.iso.datetime({ offset: true }).optional(),
};

/** Every issue as `path: message`, the form marketers see from the CLI and ops in the logs. */
export function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; ');
}

/** The item's id for a report, even when the item is not valid. */
export function itemId(item: unknown, key: string): string {
  const raw = (item as Record<string, unknown> | null)?.[key];
  return typeof raw === 'string' ? raw : `(no ${key})`;
}

/**
 * The result of checking one item of kind K: `{ ok: true, rule }`, or `{ ok: false, ruleId, reason }`
 * with the reason naming each field and what was expected (likewise for campaign and policy).
 */
export type ItemCheck<K extends string, T> =
  | ({ ok: true } & { [P in K]: T })
  | ({ ok: false } & { [P in `${K}Id`]: string } & { reason: string });

/** The check of one kind of item against its schema: valid items come back parsed, with defaults. */
export function itemCheck<K extends string, S extends z.ZodType>(kind: K, schema: S): (item: unknown) => ItemCheck<K, z.infer<S>> {
  const idKey = `${kind}Id` as const;
  return (item) => {
    const result = schema.safeParse(item);
    if (result.success) return { ok: true, [kind]: result.data } as ItemCheck<K, z.infer<S>>;
    return { ok: false, [idKey]: itemId(item, idKey), reason: issues(result.error) } as ItemCheck<K, z.infer<S>>;
  };
}

/** A `.refine` for items with an optional validity window: it must not end before it starts. */
export const validityWindow: [
  (v: { validFrom?: string | undefined; validUntil?: string | undefined }) => boolean,
  { message: string; path: PropertyKey[] },
] = [
  (v) => !v.validFrom || !v.validUntil || Date.parse(v.validFrom) < Date.parse(v.validUntil),
  { message: 'validFrom must be before validUntil', path: ['validUntil'] },
];
