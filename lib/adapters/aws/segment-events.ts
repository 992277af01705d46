// SegmentEntered / SegmentLeft onto the Baton bus (source `baton.segments`), ten per PutEvents.
// The bus routes them to evaluate (lib/contract/routes.ts), where rules and journeys read them.
import { PutEventsCommand, type EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SegmentEventPublisher } from '../../app/ports.ts';
import type { SegmentEvent } from '../../core/segments/events.ts';

export class BusSegmentEvents implements SegmentEventPublisher {
  constructor(
    private readonly bus: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(events: readonly SegmentEvent[]): Promise<void> {
    for (let i = 0; i < events.length; i += 10) {
      const batch = events.slice(i, i + 10);
      const out = await this.bus.send(
        new PutEventsCommand({
          Entries: batch.map((e) => ({
            Source: e.source,
            DetailType: e.detailType,
            // The same time on every copy: a copy published again then hashes as the same event.
            Time: new Date(e.time),
            Detail: JSON.stringify(e.detail),
            EventBusName: this.busName,
            Resources: [],
          })),
        }),
      );
      const failed = out.FailedEntryCount ?? 0;
      // Thrown so the event is retried: it arrives as a duplicate, which publishes these again.
      if (failed > 0) throw new Error(`the bus refused ${failed} of ${batch.length} segment events (${out.Entries?.find((x) => x.ErrorCode)?.ErrorCode ?? 'unknown'})`);
    }
  }
}
