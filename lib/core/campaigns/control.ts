// The global control group (docs/segments.md, "Control group"): a fixed share of all customers who
// receive no marketing message at all, only transactional ones, so the whole programme's effect
// can be measured against them. Membership is a hash of the customer id and a salt: deterministic
// (the same customer stays in or out as long as share and salt stay), needs no stored list, and a
// new salt draws a new group. Configured on the `default` contact policy (`globalControl`).
import { hash } from 'node:crypto';

export interface GlobalControl {
  /** Share of customers in the group, 0 to 0.5. */
  readonly share: number;
  /** Changing it draws a new group; keep it for as long as results are compared. */
  readonly salt: string;
}

/** Where the customer falls in [0, 1): below `share` is the control group. */
export function controlBucket(customerId: string, salt: string): number {
  return hash('sha256', `global-control\u0000${salt}\u0000${customerId}`, 'buffer').readUInt32BE(0) / 0x1_0000_0000;
}

export function inGlobalControl(customerId: string, control: GlobalControl | undefined): boolean {
  return control !== undefined && control.share > 0 && controlBucket(customerId, control.salt) < control.share;
}
