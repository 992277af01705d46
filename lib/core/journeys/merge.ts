// Journey positions when two profiles merge (lib/app/decide-and-commit.ts assembleProfile): the
// surviving customer keeps one position per journey, so at most one instance per customer and
// journey stays active (docs/journeys.md, "When two profiles merge"). Per journey:
//   - an active instance wins over an ended one;
//   - of two active instances, the one entered earlier wins (its customer has been in it longest;
//     the later one's timer is cancelled);
//   - of two ended instances, the one ended later wins (re-entry counts from the latest end).
// A position taken over from a merged-away profile is rewritten under the survivor, and its wait's
// schedule is made anew for the survivor (the old one names a customer that no longer exists).
import { timerName, type JourneyInstance, type TimerRequest } from './instance.ts';
import { wallTime } from './time.ts';

export interface MergedPositions {
  /** The survivor's positions after the merge, one per journey (what the step evaluation reads). */
  readonly instances: JourneyInstance[];
  /** Journeys whose survivor position is taken from a merged-away profile: written even when the event moves nothing. */
  readonly adopted: ReadonlySet<string>;
  /** The merged-away profiles' positions, deleted in the same transaction (conditional on the seq read). */
  readonly removed: readonly { readonly customerId: string; readonly journeyId: string; readonly expectedSeq: number }[];
  /** Schedules of the positions dropped or moved: deletes, and the adopted waits' new schedules. */
  readonly timers: readonly TimerRequest[];
}

const isActive = (i: JourneyInstance) => i.status === 'active';

/** Which of two positions in one journey the merged customer keeps (see the rule above). */
export function keeps(a: JourneyInstance, b: JourneyInstance): JourneyInstance {
  if (isActive(a) !== isActive(b)) return isActive(a) ? a : b;
  if (isActive(a)) return a.enteredAt < b.enteredAt || (a.enteredAt === b.enteredAt && a.instanceId <= b.instanceId) ? a : b;
  const endA = a.endedAt ?? a.updatedAt;
  const endB = b.endedAt ?? b.updatedAt;
  return endA > endB || (endA === endB && a.instanceId <= b.instanceId) ? a : b;
}

/** The survivor's positions given its own and those of the profiles merged into it. */
export function mergePositions(customerId: string, own: readonly JourneyInstance[], merged: readonly JourneyInstance[]): MergedPositions {
  const byJourney = new Map(own.map((i) => [i.journeyId, i]));
  const ownSeq = new Map(own.map((i) => [i.journeyId, i.seq]));
  const adopted = new Set<string>();
  const timers: TimerRequest[] = [];
  const removed = merged.map((i) => ({ customerId: i.customerId, journeyId: i.journeyId, expectedSeq: i.seq }));
  // Oldest first, so the outcome does not depend on the order the profiles were loaded in.
  for (const m of [...merged].sort((a, b) => (a.enteredAt < b.enteredAt ? -1 : a.enteredAt > b.enteredAt ? 1 : a.instanceId < b.instanceId ? -1 : 1))) {
    const current = byJourney.get(m.journeyId);
    const winner = current ? keeps(current, m) : m;
    const loser = winner === m ? current : m;
    if (loser && isActive(loser) && loser.timer) timers.push({ op: 'delete', name: loser.timer });
    if (winner !== m) continue;
    // Under the survivor's key: the seq is the one stored there (0 = none), so the write is conditional on it.
    const moved: JourneyInstance = { ...m, customerId, seq: ownSeq.get(m.journeyId) ?? 0 };
    byJourney.set(m.journeyId, rearmed(moved, timers));
    adopted.add(m.journeyId);
  }
  return { instances: [...byJourney.values()], adopted, removed, timers };
}

/** An active wait taken over: its schedule again, under a new name, due at the same instant, for the survivor. */
function rearmed(i: JourneyInstance, timers: TimerRequest[]): JourneyInstance {
  if (!isActive(i) || !i.timer || !i.stepId || !i.dueAt) return i;
  timers.push({ op: 'delete', name: i.timer });
  const visit = i.visit + 1;
  const name = timerName(i.instanceId, i.stepId, visit);
  timers.push({
    op: 'create',
    name,
    at: wallTime(Date.parse(i.dueAt), 'UTC'),
    timeZone: 'UTC',
    detail: { journeyId: i.journeyId, version: i.version, instanceId: i.instanceId, customerId: i.customerId, stepId: i.stepId, dueAt: i.dueAt },
  });
  return { ...i, visit, timer: name };
}
