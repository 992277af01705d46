// What rule, campaign and policy items share: how a failed check reads, which item it was, and
// the validity window rule.
import type { z } from 'zod';

/** Every issue as `path: message`, the form marketers see from the CLI and ops in the logs. */
export function issues(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(item)'}: ${i.message}`).join('; ');
}

/** The item's id for a report, even when the item is not valid. */
export function itemId(item: unknown, key: string): string {
  const raw = (item as Record<string, unknown> | null)?.[key];
  return typeof raw === 'string' ? raw : `(no ${key})`;
}

/** A `.refine` for items with an optional validity window: it must not end before it starts. */
export const validityWindow: [
  (v: { validFrom?: string | undefined; validUntil?: string | undefined }) => boolean,
  { message: string; path: PropertyKey[] },
] = [
  (v) => !v.validFrom || !v.validUntil || Date.parse(v.validFrom) < Date.parse(v.validUntil),
  { message: 'validFrom must be before validUntil', path: ['validUntil'] },
];
