// One event published on the Baton bus, with the publisher's retries; a refusal is an error.
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { publishEvents } from './publisher.ts';

export class BusEventPublisher {
  constructor(
    private readonly bus: EventBridgeClient,
    private readonly busName: string,
  ) {}

  async publish(event: { source: string; 'detail-type': string; detail: unknown }): Promise<void> {
    const [result] = await publishEvents(this.bus, this.busName, [event]);
    if (!result?.eventId) throw new Error(`the bus refused the ${event['detail-type']} (${result?.errorCode ?? 'unknown'})`);
  }
}
