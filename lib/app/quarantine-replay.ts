// Replaying quarantined events after a fix (`baton quarantine replay`, the console's Quarantine
// page): each entry's original body goes through the real ingest path; an entry that now passes is
// removed, one that still fails stays where it is (ingest's own quarantine write is caught here, so
// a replay never stores a second copy).
import type { IngestOutcome } from './ingest.ts';
import type { QuarantinedEvent, QuarantineStore } from './ports.ts';

export interface ReplayDeps {
  /** The quarantine itself: an entry that passes is withdrawn from it. */
  readonly shelf: Pick<QuarantineStore, 'withdraw'>;
  /** Ingest as the pipeline runs it, with its quarantine writes going to `quarantine`. */
  readonly ingestWith: (quarantine: QuarantineStore) => (body: string) => Promise<IngestOutcome>;
}

export interface ReplayResult {
  readonly replayed: number;
  readonly processed: number;
  readonly stillInvalid: { quarantineId: string; code: string; reason: string }[];
}

export async function replayQuarantined(records: readonly QuarantinedEvent[], deps: ReplayDeps): Promise<ReplayResult> {
  let stillFailing: QuarantinedEvent | undefined;
  const ingest = deps.ingestWith({ put: async (e) => void (stillFailing = e), withdraw: async () => void (stillFailing = undefined) });
  const stillInvalid: ReplayResult['stillInvalid'] = [];
  let processed = 0;
  for (const r of records) {
    stillFailing = undefined;
    const outcome = await ingest(r.body);
    if (outcome.status === 'quarantined' && stillFailing) {
      stillInvalid.push({ quarantineId: r.quarantineId, code: outcome.code, reason: outcome.reason });
      continue;
    }
    await deps.shelf.withdraw(r);
    processed++;
  }
  return { replayed: records.length, processed, stillInvalid };
}
