// What the store holds for a customer, read as the reference model's facts (test/support/reference-model.ts),
// through the view marketers' rules and templates see, and the state's counters and times.
import { customerView, type CustomerState } from '../../lib/core/customer/index.ts';
import type { Facts } from './reference-model.ts';

const PROFILE = ['firstName', 'lastName', 'email', 'phone', 'locale', 'timeZone', 'country', 'tier'] as const;

export function observedFacts(state: CustomerState, now: Date, withRefunds: boolean): Facts {
  const v = customerView(state, now);
  const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
  return {
    profile: defined(Object.fromEntries(PROFILE.map((f) => [f, v[f]]))),
    ...(state.profile.tags ? { tags: v.tags } : {}),
    consent: { email: v.consent.email, sms: v.consent.sms, push: v.consent.push, device: v.consent.device },
    purchaseCount: v.purchaseCount,
    ...(withRefunds ? { refundCount: v.refundCount, netSpendMinor: Math.round(v.lifetimeSpend * 100) } : {}),
    licences: Object.fromEntries(v.licences.map((l) => [l.licenseId, defined({ product: l.product, seats: l.seats })])),
    devices: Object.fromEntries(
      v.devices.map((d) => [d.deviceId, { ...defined({ platform: d.platform, status: d.status === 'unknown' ? undefined : d.status, agentVersion: d.agentVersion }), lastSeen: d.lastSeen }]),
    ),
    threatCount: v.threatCount,
    counters: { ...state.counters },
    ...(state.firstSeen ? { firstSeen: state.firstSeen } : {}),
    ...(state.lastSeen ? { lastSeen: state.lastSeen } : {}),
  };
}
