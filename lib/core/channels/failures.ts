// Why a message was not sent: the one closed list of codes that a failed or suppressed outbox
// message and its dead-letter entry carry (like events/validate.ts's REJECTION_CODES for events).
import { GUARD_CODES } from './deliverability.ts';

/** Why a channel will never take a message as it is: thrown by a sender as PermanentSendError. */
export const PERMANENT_CODES = [
  'no-address',
  'no-device',
  'no-push-endpoint',
  'rejected',
  'endpoint-disabled',
  'opted-out',
  'invalid-parameter',
  'sender-not-verified',
  'account-suspended',
  'not-found',
  'not-authorized',
] as const;
export type PermanentCode = (typeof PERMANENT_CODES)[number];

/** Why dispatch itself held a message back, or could not tell whether it went out. */
export const DISPATCH_CODES = [
  'not-configured',
  'no-customer',
  'no-consent',
  ...GUARD_CODES.map((code) => `deliverability-${code}` as const),
  'no-template',
  'render-failed',
  'sms-budget-spent',
  /** A call whose team still reported no agent free a day after the decision (lib/core/channels/call-recheck.ts). */
  'team-busy',
  'outcome-unknown',
] as const;

export const FAILURE_CODES = [...PERMANENT_CODES, ...DISPATCH_CODES] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

/** The `failure` an outbox message keeps: the code, then the reason (ids and codes, no content). */
export type Failure = `${FailureCode}: ${string}`;
export const failure = (code: FailureCode, reason: string): Failure => `${code}: ${reason}`;
