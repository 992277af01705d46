// `baton destinations validate|put|list|diff|rollback`: the HTTP APIs of other systems that bus
// actions name (docs/destinations.md), versioned like rules in the templates table
// (lib/adapters/dynamo/destinations.ts). A destination has no `enabled`: to stop deliveries, disable
// the rules that name it (`baton rules disable`).
import { checkDestination, type Destination } from '../../lib/core/channels/destinations.ts';
import { DynamoDestinationRepository } from '../../lib/adapters/dynamo/destinations.ts';
import type { CliFlags } from '../io.ts';
import { runItems, type ItemsContext, type ItemSpec, type Reference } from './items.ts';

/** Worth knowing before a deploy: a plain-HTTP URL reaches only this machine (the local stack's stand-in). */
async function destinationReferences(destinations: Destination[]): Promise<Reference[]> {
  return destinations
    .filter((d) => new URL(d.url).protocol === 'http:')
    .map((d) => ({ id: d.destinationId, errors: [], warnings: ['url: plain http:// reaches only this machine (the local webhook stand-in); the cloud stack needs https://'] }));
}

export const DESTINATIONS: ItemSpec<Destination> = {
  noun: 'destination',
  plural: 'destinations',
  toggles: false,
  check(item) {
    const c = checkDestination(item);
    return c.ok ? { ok: true, id: c.destination.destinationId, value: c.destination } : { ok: false, id: c.destinationId, reason: c.reason };
  },
  repository: (ctx) => new DynamoDestinationRepository(ctx.db, ctx.names.templates, ctx.clock),
  references: destinationReferences,
  describe(destination, stored) {
    const d = (destination ?? stored.content) as Partial<Destination>;
    // The host only: a path or query may carry an account id of the other system.
    let host = '(no url)';
    try {
      host = new URL(String(d.url)).host;
    } catch {
      /* an invalid item: its reason is printed after this line */
    }
    return `${d.method ?? 'POST'} ${host}  ${d.rateLimitPerSecond ?? '?'}/s  auth ${d.auth?.kind ?? '?'} (secret ${d.auth?.secretName ?? '?'})  retries ${d.retry?.maximumAttempts ?? 3}`;
  },
};

export const runDestinations = (args: string[], flags: CliFlags, ctx: ItemsContext) => runItems(DESTINATIONS, args, flags, ctx);
