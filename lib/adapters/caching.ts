// A per-process cache in front of a customer repository. Safe because every write is still
// conditional: a stale entry costs one failed commit (version or identity condition), after which
// the entries involved are dropped and the next attempt reads the table.
//  - identity links: an id, once linked, moves only by a merge or an erasure, and both delete the
//    profile the stale link points to, so the version check of the next commit fails;
//  - profiles: the state and version this process committed last;
//  - journey positions, beside the profile they were read or committed with: every write of a
//    position either commits the profile too or moves its version (a migration's rewrite), so a
//    position changed elsewhere makes the next commit on the cached profile fail as well.
// With the per-customer ordering in ingest, a warm Lambda applies an event with one transaction
// and no reads.
import type { CommitResult, CustomerRepository, Erasure, JourneyInstances, JourneyWrites, ProfileChange, Resolution, StoredProfile } from '../app/ports.ts';
import type { JourneyInstance } from '../core/journeys/instance.ts';
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

/** A cached profile, and the customer's journey positions once read at that version. */
interface Entry<S> {
  readonly profile: StoredProfile<S>;
  instances?: readonly JourneyInstance[];
}

/** The positions after a commit's writes (one per journey, in journey order as the table returns them). */
function afterWrites(instances: readonly JourneyInstance[], writes: JourneyWrites): JourneyInstance[] {
  const byJourney = new Map(instances.map((i) => [i.journeyId, i]));
  for (const w of writes.instances) byJourney.set(w.instance.journeyId, w.instance);
  return [...byJourney.values()].sort((a, b) => (a.journeyId < b.journeyId ? -1 : a.journeyId > b.journeyId ? 1 : 0));
}

export class CachingCustomerRepository<S> implements CustomerRepository<S> {
  private readonly links: Lru<string, string>;
  private readonly profiles: Lru<string, Entry<S>>;
  /** Customers whose profile was found missing: links to them are read again, not trusted. */
  private readonly gone = new Set<string>();
  readonly stats = { linkHits: 0, profileHits: 0, instanceHits: 0, evictions: 0 };

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
      return cached.profile;
    }
    const profile = await this.inner.load(customerId);
    if (profile) this.profiles.set(customerId, { profile });
    else if (this.gone.size < 10_000) this.gone.add(customerId);
    return profile;
  }

  async commit(change: ProfileChange<S>): Promise<CommitResult> {
    const result = await this.inner.commit(change);
    if (result.status === 'committed') {
      const before = this.profiles.get(change.customerId);
      // Positions carry over only from the version this commit replaced, and not through a merge; a
      // new profile has none but those it writes (an erasure deletes a customer's positions).
      const held = change.expectedVersion === 0 ? [] : before?.profile.version === change.expectedVersion ? before.instances : undefined;
      const instances = held && change.mergedAway.length === 0 ? (change.journeys ? afterWrites(held, change.journeys) : held) : undefined;
      this.profiles.set(change.customerId, {
        profile: {
          customerId: change.customerId,
          version: change.expectedVersion + 1,
          state: change.state,
          identities: change.identities,
          ...(change.formerIds?.length ? { formerIds: change.formerIds } : {}),
          ...(change.membership?.members.length ? { segments: change.membership.members } : {}),
        },
        ...(instances ? { instances } : {}),
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

  /**
   * The customer's journey positions through this cache: read once per cached profile version, then
   * kept current by this process's commits. Ingest reads them right after the profile, with one
   * event per customer at a time; a read is kept only if no commit replaced the entry meanwhile.
   */
  journeyInstances(inner: JourneyInstances): JourneyInstances {
    return {
      load: async (customerId) => {
        const entry = this.profiles.get(customerId);
        if (entry?.instances) {
          this.stats.instanceHits++;
          return [...entry.instances];
        }
        const instances = await inner.load(customerId);
        if (entry && this.profiles.get(customerId) === entry) entry.instances = instances;
        return instances;
      },
      active: (journeyId, version) => inner.active(journeyId, version),
      rewrite: async (write, timers) => {
        this.profiles.delete(write.instance.customerId);
        return inner.rewrite(write, timers);
      },
    };
  }

  private forget(customerId: string, identities: readonly string[]): void {
    this.stats.evictions++;
    this.profiles.delete(customerId);
    for (const key of identities) this.links.delete(key);
  }
}
