// In-memory customer repository with the same atomic, conditional semantics as the DynamoDB one:
// for tests (model-based, fuzz) and benchmarks. Not for production: one process, no durability.
import { idKey, type IdRef, tombstoneHash } from '../../core/customer/identity.ts';
import { type CommitResult, type CommittedMembership, type CustomerRepository, type Erasure, type ProfileChange, type Resolution, type StoredProfile } from '../../app/ports.ts';
import type { Decision } from '../../core/decide.ts';
import { MemoryJourneyStore } from './journeys.ts';

interface Marker {
  hash: string;
  outcome: string;
  membership?: CommittedMembership;
}

export class MemoryCustomerRepository<S> implements CustomerRepository<S> {
  readonly profiles = new Map<string, StoredProfile<S>>();
  readonly identities = new Map<string, string>();
  readonly markers = new Map<string, Marker>();
  readonly tombstones = new Set<string>();
  readonly decisions = new Map<string, Decision>();
  /** Use of each shared limit, by `Reservation.key`. */
  readonly counters = new Map<string, number>();
  readonly erasedCounters: Record<string, number> = {};
  /** Members per segment (lib/adapters/memory/segments.ts reads them), written with each commit. */
  readonly members = new Map<string, Map<string, string>>();

  /** Adds or removes memberships, as the DynamoDB repository's membership items do. */
  applyMembership(customerId: string, entered: readonly string[], left: readonly string[], at: string): void {
    for (const id of entered) {
      let m = this.members.get(id);
      if (!m) this.members.set(id, (m = new Map()));
      m.set(customerId, at);
    }
    for (const id of left) this.members.get(id)?.delete(customerId);
  }

  /** Journey positions and the timer outbox, committed with the profile. */
  readonly journeys = new MemoryJourneyStore((customerId) => {
    const profile = this.profiles.get(customerId);
    if (profile) this.profiles.set(customerId, { ...profile, version: profile.version + 1 });
    return profile !== undefined;
  });

  async resolve(ids: readonly IdRef[]): Promise<Resolution> {
    const links = new Map<string, string>();
    let erased = false;
    for (const ref of ids) {
      const key = idKey(ref);
      const owner = this.identities.get(key);
      if (owner) links.set(key, owner);
      // Hashing every id costs more than the lookup; with no erasure yet there is nothing to find.
      if (this.tombstones.size > 0 && this.tombstones.has(tombstoneHash(key))) erased = true;
    }
    return { links, erased };
  }

  async load(customerId: string): Promise<StoredProfile<S> | undefined> {
    // No copy: the domain never mutates a state it was given (reducers return new objects, which
    // the customer-state tests check on deep-frozen input).
    return this.profiles.get(customerId);
  }

  async commit(change: ProfileChange<S>): Promise<CommitResult> {
    const marker = this.markers.get(change.eventId);
    if (marker) return { status: 'duplicate', samePayload: marker.hash === change.payloadHash, ...(marker.membership ? { membership: marker.membership } : {}) };
    const current = this.profiles.get(change.customerId);
    if (change.expectedVersion === 0 ? current !== undefined : current?.version !== change.expectedVersion) {
      return { status: 'conflict', on: 'version' };
    }
    const mergedIds = new Set(change.mergedAway.map((m) => m.customerId));
    for (const key of change.newLinks) {
      const owner = this.identities.get(key);
      if (owner !== undefined && owner !== change.customerId && !mergedIds.has(owner)) return { status: 'conflict', on: 'identity' };
    }
    for (const merged of change.mergedAway) {
      if (this.profiles.get(merged.customerId)?.version !== merged.version) return { status: 'conflict', on: 'version' };
      for (const key of merged.identities) if (this.identities.get(key) !== merged.customerId) return { status: 'conflict', on: 'identity' };
    }
    for (const r of change.reservations ?? []) {
      if ((this.counters.get(r.key) ?? 0) + r.amount > r.limit) return { status: 'conflict', on: 'reservation', key: r.key };
    }
    if (change.journeys && !this.journeys.accepts(change.journeys)) return { status: 'conflict', on: 'version' };
    // Every condition holds: apply all of it, as a transaction would.
    const m = change.membership;
    const published = m && (m.entered.length || m.left.length) ? { customerId: change.customerId, entered: m.entered, left: m.left, cause: m.cause, at: m.at } : undefined;
    this.markers.set(change.eventId, { hash: change.payloadHash, outcome: 'applied', ...(published ? { membership: published } : {}) });
    this.profiles.set(change.customerId, {
      customerId: change.customerId,
      version: change.expectedVersion + 1,
      state: change.state,
      identities: [...change.identities],
      ...(change.formerIds?.length ? { formerIds: [...change.formerIds] } : {}),
      ...(m?.members.length ? { segments: [...m.members] } : {}),
    });
    if (m) this.applyMembership(change.customerId, m.entered, m.left, m.at);
    for (const merged of change.mergedAway) this.applyMembership(merged.customerId, [], merged.segments ?? [], '');
    for (const key of change.newLinks) this.identities.set(key, change.customerId);
    for (const merged of change.mergedAway) {
      this.profiles.delete(merged.customerId);
      for (const key of merged.identities) this.identities.set(key, change.customerId);
    }
    if (change.decision) this.decisions.set(change.decision.decisionId, change.decision);
    for (const r of change.reservations ?? []) this.counters.set(r.key, (this.counters.get(r.key) ?? 0) + r.amount);
    if (change.journeys) this.journeys.apply(change.journeys);
    return { status: 'committed' };
  }

  async markSeen(eventId: string, payloadHash: string, outcome: string): Promise<CommitResult> {
    const marker = this.markers.get(eventId);
    if (marker) return { status: 'duplicate', samePayload: marker.hash === payloadHash };
    this.markers.set(eventId, { hash: payloadHash, outcome });
    return { status: 'committed' };
  }

  async erase(erasure: Erasure): Promise<CommitResult> {
    // One step here (no I/O to die in between), with the DynamoDB repository's outcomes: an id used
    // by another event is refused, the same erasure again finds its marker and changes nothing.
    const marker = this.markers.get(erasure.eventId);
    if (marker) return { status: 'duplicate', samePayload: marker.hash === erasure.payloadHash };
    for (const key of erasure.identities) this.tombstones.add(tombstoneHash(key));
    const ids = new Set([erasure.customerId, ...(erasure.formerIds ?? [])]);
    for (const [id, decision] of this.decisions) if (ids.has(decision.customerId)) this.decisions.delete(id);
    this.markers.set(erasure.eventId, { hash: erasure.payloadHash, outcome: 'erased' });
    this.applyMembership(erasure.customerId, [], this.profiles.get(erasure.customerId)?.segments ?? [], '');
    for (const id of ids) this.profiles.delete(id); // formerIds: also profiles not merged yet
    for (const [k, i] of this.journeys.instances) if (ids.has(i.customerId)) this.journeys.instances.delete(k);
    for (const key of erasure.identities) this.identities.delete(key);
    if (Object.values(erasure.counters).some(Number.isFinite)) {
      for (const [k, v] of Object.entries(erasure.counters)) if (Number.isFinite(v)) this.erasedCounters[k] = (this.erasedCounters[k] ?? 0) + v;
      this.erasedCounters.customers = (this.erasedCounters.customers ?? 0) + 1;
    }
    return { status: 'committed' };
  }
}
