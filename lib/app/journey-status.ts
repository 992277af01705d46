// Pausing and resuming a journey (`baton journeys pause|resume`, the console's Journeys page): a
// new version of the live journey with the status changed, checked like any journey write.
import { checkJourney } from '../core/journeys/check.ts';
import type { JourneyStore } from './ports.ts';

export type JourneyStatusResult =
  | { readonly status: 'written'; readonly journeyId: string; readonly version: number }
  | { readonly status: 'not-found' }
  | { readonly status: 'invalid'; readonly reason: string };

export async function setJourneyStatus(store: JourneyStore, journeyId: string, status: 'active' | 'paused', by: string): Promise<JourneyStatusResult> {
  const live = await store.current(journeyId);
  if (!live) return { status: 'not-found' };
  const check = checkJourney({ ...live.content, status });
  if (!check.ok) return { status: 'invalid', reason: check.reason };
  const written = await store.put(check.journey, by);
  return { status: 'written', ...written };
}
