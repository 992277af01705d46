// The loyalty events onto the Baton bus (source `baton.loyalty`), ten per PutEvents. The bus routes
// them to evaluate (lib/contract/routes.ts), where rules and journeys read them; ingest takes the
// detail's eventId as the event's id, so a copy published again is a duplicate.
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SOURCES } from '../../../events/catalog.ts';
import type { LoyaltyEvent, LoyaltyEventPublisher } from '../../app/ports.ts';

export class BusLoyaltyEvents implements LoyaltyEventPublisher {
  constructor(
    private readonly bus: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: readonly LoyaltyEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      const out = await this.bus.send(
        new PutEventsCommand({
          Entries: batch.map((e) => ({
            Source: SOURCES.loyalty,
            DetailType: e.detailType,
            // The same time on every copy, so a copy hashes as the same event.
            Time: new Date(String(e.detail.occurredAt)),
            Detail: JSON.stringify({ eventId: e.eventId, ...e.detail }),
            EventBusName: this.busName,
            Resources: [],
          })),
        }),
      );
      const failed = out.FailedEntryCount ?? 0;
      // Thrown so the posting's event is retried: it arrives as a duplicate, which publishes these again.
      if (failed > 0) throw new Error(`the bus refused ${failed} of ${batch.length} loyalty events (${out.Entries?.find((x) => x.ErrorCode)?.ErrorCode ?? 'unknown'})`);
    }
  }
}
