// `baton send <file|sample>...`: publish events to the bus, in batches of 10, as a source system does.
import { publishEvents, type OutgoingEvent } from '../../lib/adapters/aws/publisher.ts';
import { BUS_NAME } from '../../lib/contract/routes.ts';
import { busClient, readEvents, report, UsageError, type CliFlags, type Printer } from '../io.ts';

export async function send(refs: string[], flags: CliFlags, p: Required<Printer>): Promise<number> {
  if (refs.length === 0) throw new UsageError('usage: baton send <file|sample-name>... [--endpoint URL | --cloud [--region R]] [--bus NAME]');
  const events = refs.flatMap(readEvents) as OutgoingEvent[];
  const client = busClient(flags);
  try {
    const results = await publishEvents(client, flags.bus ?? BUS_NAME, events);
    const failed = results.filter((r) => r.errorCode);
    const what = (i: number) => {
      const e = events[i] as { source?: string; Source?: string; 'detail-type'?: string; DetailType?: string };
      return `${e.source ?? e.Source ?? '?'} ${e['detail-type'] ?? e.DetailType ?? '?'}`;
    };
    for (const r of failed) p.err(`entry ${r.index + 1} (${what(r.index)}): ${r.errorCode}: ${r.errorMessage ?? ''}`);
    const entries = results.map((r) =>
      r.eventId ? { entry: r.index + 1, eventId: r.eventId } : { entry: r.index + 1, errorCode: r.errorCode, errorMessage: r.errorMessage ?? '' },
    );
    report(flags, p, { sent: results.length - failed.length, failed: failed.length, entries }, (r) => [
      ...results.filter((x) => x.eventId).map((x) => `entry ${x.index + 1}: accepted as ${x.eventId}`),
      `sent ${r.sent} of ${events.length} events${r.failed ? `; ${r.failed} failed` : ''}`,
    ]);
    return failed.length ? 1 : 0;
  } finally {
    client.destroy();
  }
}
