// A per-process cache in front of a customer repository. Safe because every write is still
// conditional: a stale entry costs one failed commit (version or identity condition), after which
// the entries involved are dropped and the next attempt reads the table.
//  - identity links: an id, once linked, moves only by a merge or an erasure, and both delete the
//    profile the stale link points to, so the version check of the next commit fails;
//  - profiles: the state and version this process committed last.
// With the per-customer ordering in ingest, a warm Lambda applies an event with one transaction
// and no reads.
import type { CommitResult, CustomerRepository, Erasure, ProfileChange, Resolution, StoredProfile } from '../app/ports.ts';
import type { IdRef } from '../core/customer/identity.ts';
import { idKey } from '../core/customer/identity.ts';

export const DEFAULT_CACHE_SIZE = 5_000;

/** A Map that forgets the least recently used entries beyond `max`. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  constructor(private readonly max: number) {}
  get(key: K): V | undefined {
    const value = this.map.get(key);
    if (value !== undefined) {
      this.map.delete(key);
      this.map.set(key, value);
    }
    return value;
  }
  set(key: K, value: V): void {
    this.map.delete(key);
    this.map.set(key, value);
    if (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  delete(key: K): void {
    this.map.delete(key);
  }
}

export class CachingCustomerRepository<S> implements CustomerRepository<S> {
  private readonly links: Lru<string, string>;
  private readonly profiles: Lru<string, StoredProfile<S>>;
  /** Customers whose profile was found missing: links to them are read again, not trusted. */
  private readonly gone = new Set<string>();
  readonly stats = { linkHits: 0, profileHits: 0, evictions: 0 };

  constructor(
    private readonly inner: CustomerRepository<S>,
    size = DEFAULT_CACHE_SIZE,
  ) {
    this.links = new Lru(size * 4);
    this.profiles = new Lru(size);
  }

  async resolve(ids: readonly IdRef[]): Promise<Resolution> {
    const links = new Map<string, string>();
    const unknown: IdRef[] = [];
    for (const ref of ids) {
      const owner = this.links.get(idKey(ref));
      if (owner && !this.gone.has(owner)) links.set(idKey(ref), owner);
      else unknown.push(ref);
    }
    this.stats.linkHits += links.size;
    if (unknown.length === 0) return { links, erased: false };
    const fetched = await this.inner.resolve(unknown);
    for (const [key, owner] of fetched.links) {
      links.set(key, owner);
      this.links.set(key, owner);
      this.gone.delete(owner);
    }
    return { links, erased: fetched.erased };
  }

  async load(customerId: string): Promise<StoredProfile<S> | undefined> {
    const cached = this.profiles.get(customerId);
    if (cached) {
      this.stats.profileHits++;
      return cached;
    }
    const profile = await this.inner.load(customerId);
    if (profile) this.profiles.set(customerId, profile);
    else if (this.gone.size < 10_000) this.gone.add(customerId);
    return profile;
  }

  async commit(change: ProfileChange<S>): Promise<CommitResult> {
    const result = await this.inner.commit(change);
    if (result.status === 'committed') {
      this.profiles.set(change.customerId, {
        customerId: change.customerId,
        version: change.expectedVersion + 1,
        state: change.state,
        identities: change.identities,
        ...(change.formerIds?.length ? { formerIds: change.formerIds } : {}),
        ...(change.membership?.members.length ? { segments: change.membership.members } : {}),
      });
      for (const key of change.identities) this.links.set(key, change.customerId);
      for (const merged of change.mergedAway) this.profiles.delete(merged.customerId);
    } else if (result.status === 'conflict') {
      this.forget(change.customerId, [...change.identities, ...change.mergedAway.flatMap((m) => m.identities)]);
      for (const merged of change.mergedAway) this.profiles.delete(merged.customerId);
    }
    return result;
  }

  markSeen(eventId: string, payloadHash: string, outcome: string): Promise<CommitResult> {
    return this.inner.markSeen(eventId, payloadHash, outcome);
  }

  async erase(erasure: Erasure): Promise<CommitResult> {
    this.forget(erasure.customerId, erasure.identities);
    return this.inner.erase(erasure);
  }

  private forget(customerId: string, identities: readonly string[]): void {
    this.stats.evictions++;
    this.profiles.delete(customerId);
    for (const key of identities) this.links.delete(key);
  }
}
