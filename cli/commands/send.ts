import { publishEvents, type OutgoingEvent } from '../../lib/adapters/aws/publisher.ts';
import { BUS_NAME } from '../../lib/contract/routes.ts';
import { busClient, readEvents, UsageError, type TargetFlags } from '../io.ts';

export async function send(refs: string[], flags: TargetFlags): Promise<number> {
  if (refs.length === 0) throw new UsageError('usage: baton send <file|sample-name>... [--endpoint URL | --cloud [--region R]] [--bus NAME]');
  const events = refs.flatMap(readEvents) as OutgoingEvent[];
  const client = busClient(flags);
  try {
    const results = await publishEvents(client, flags.bus ?? BUS_NAME, events);
    const failed = results.filter((r) => r.errorCode);
    for (const r of failed) {
      const e = events[r.index] as { source?: string; Source?: string; 'detail-type'?: string; DetailType?: string };
      console.error(`entry ${r.index + 1} (${e.source ?? e.Source ?? '?'} ${e['detail-type'] ?? e.DetailType ?? '?'}): ${r.errorCode}: ${r.errorMessage ?? ''}`);
    }
    for (const r of results) if (r.eventId) console.log(`entry ${r.index + 1}: accepted as ${r.eventId}`);
    console.log(`sent ${results.length - failed.length} of ${events.length} events${failed.length ? `; ${failed.length} failed` : ''}`);
    return failed.length ? 1 : 0;
  } finally {
    client.destroy();
  }
}

export const command = {
  name: 'send',
  usage: 'send <file|sample>...        publish events (JSON object, JSON array or JSON lines, or a sample name such as baton.pos/SaleCompleted) in batches of 10',
  run: (args: string[], flags: TargetFlags) => send(args, flags),
};
