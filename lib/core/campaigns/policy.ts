// The contact policy: the rules of contact that hold across campaigns. Kept as items in the
// campaigns table (`POLICY#<policyId>` / `CURRENT`); each campaign names the policy it follows
// (`default` unless it says otherwise). Without any policy item, only consent applies.
import { z } from 'zod';
import { CHANNELS, type Channel } from '../../../events/catalog.ts';
import { isTimeZone } from './quiet-hours.ts';
import { itemCheck, itemDescription, itemIdSchema as id, itemVersion, type ItemCheck } from '../rules/item.ts';

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a wall-clock time HH:MM, 00:00 to 23:59');
const timeZone = z.string().refine(isTimeZone, 'an IANA time zone such as Europe/Berlin');
const cap = z.number().int().min(0).max(10_000);

/** What a transactional message (rule `then.transactional: true`) is exempt from, stated explicitly. */
export const EXEMPTIONS = ['consent', 'caps', 'quiet-hours', 'cooldown', 'holdout'] as const;
export type Exemption = (typeof EXEMPTIONS)[number];

export const policySchema = z.object({
  policyId: id,
  description: itemDescription,
  /** Most marketing messages per channel within the last 24 hours and the last 7 days (rolling). */
  caps: z.partialRecord(z.enum(CHANNELS), z.object({ perDay: cap.optional(), perWeek: cap.optional() })).default({}),
  /** No marketing message in this window of the customer's wall clock; held until its end. */
  quietHours: z
    .object({
      start: hhmm,
      end: hhmm,
      channels: z.array(z.enum(CHANNELS)).min(1).default([...CHANNELS]),
      /** Used when the customer's profile has no (valid) time zone. */
      defaultTimeZone: timeZone.default('UTC'),
    })
    .refine((q) => q.start !== q.end, { message: 'start and end must differ', path: ['end'] })
    .optional(),
  /** No marketing message within this many hours after any contact on any channel. */
  cooldownHours: z.number().min(0).max(24 * 90).default(0),
  transactionalExemptions: z.array(z.enum(EXEMPTIONS)).default([...EXEMPTIONS]),
  /**
   * The global control group (lib/core/campaigns/control.ts): read from the `default` policy only,
   * as it holds across every campaign. Its members get transactional messages only.
   */
  globalControl: z.object({ share: z.number().min(0).max(0.5), salt: z.string().min(1).max(64) }).optional(),
  version: itemVersion,
});

export type ContactPolicy = z.infer<typeof policySchema>;
export type ContactPolicyInput = z.input<typeof policySchema>;

export type PolicyCheck = ItemCheck<'policy', ContactPolicy>;

export const checkPolicy: (item: unknown) => PolicyCheck = itemCheck('policy', policySchema);

/** The policy in force when the table holds none: consent only, exemptions as documented. */
export function defaultPolicy(policyId = 'default'): ContactPolicy {
  return { policyId, caps: {}, cooldownHours: 0, transactionalExemptions: [...EXEMPTIONS] };
}

export const exempt = (policy: ContactPolicy, transactional: boolean, what: Exemption): boolean =>
  transactional && policy.transactionalExemptions.includes(what);

export const quietChannels = (policy: ContactPolicy): ReadonlySet<Channel> => new Set(policy.quietHours?.channels ?? []);
