// The webhook stand-in and the local delivery of destinations (docs/destinations.md), served on the
// bus port. The stand-in plays the other systems' HTTP APIs: every call to /local/webhooks/<path> is
// recorded and answered with the status configured for that path (200 unless told otherwise), so
// tests and developers can make a destination fail on demand. The delivery plays EventBridge API
// destinations: an `ActionRequested` naming a destination is sent to its URL with its method and an
// auth header, 429 and 5xx are retried by the destination's retry policy, and then, like any other
// refusal (4xx, not retried), dead-lettered (GET /local/destinations/dead-letters) and counted. The
// outcome comes back on the outbox message as feedback: `deliveredAt` or `failedAt`.
import type { ServerResponse } from 'node:http';
import { SOURCES } from '../events/catalog.ts';
import { deliveryVerdict, type Destination } from '../lib/core/channels/destinations.ts';
import type { DestinationSource, FeedbackRecorder, Metrics } from '../lib/app/ports.ts';
import { sendJson, type BusEvent, type HttpExtension } from './bus.ts';

const PREFIX = '/local/webhooks/';

export interface WebhookCall {
  readonly path: string;
  readonly method: string;
  /** Header names only: the auth header is recorded as present, never its value. */
  readonly headers: string[];
  readonly body: unknown;
  readonly status: number;
  readonly at: string;
}

export interface DestinationDeadLetter {
  readonly destinationId: string;
  readonly decisionId: string;
  /** The last answer's status (0: no answer). */
  readonly status: number;
  readonly attempts: number;
  readonly reason: string;
  readonly at: string;
}

export class LocalWebhooks {
  readonly calls: WebhookCall[] = [];
  private readonly answers = new Map<string, number>();

  /** GET /local/webhooks (the calls), PUT /local/webhooks-answers {path, status}, any other method on /local/webhooks/<path>. */
  extension(): HttpExtension {
    return async (req, res, body) => {
      const path = (req.url ?? '').split('?')[0]!;
      if (path === '/local/webhooks' && req.method === 'GET') return json(res, 200, { calls: this.calls });
      if (path === '/local/webhooks-answers' && req.method === 'PUT') {
        const { path: p, status } = JSON.parse(body) as { path?: unknown; status?: unknown };
        if (typeof p !== 'string' || typeof status !== 'number' || !Number.isInteger(status) || status < 200 || status > 599) {
          return json(res, 400, { message: 'expected {"path": "/crm/contacts", "status": 200..599}' });
        }
        this.answers.set(p, status);
        return json(res, 200, { path: p, status });
      }
      if (!path.startsWith(PREFIX) || req.method === 'GET') return false;
      const callPath = `/${path.slice(PREFIX.length)}`;
      const status = this.answers.get(callPath) ?? 200;
      let parsed: unknown = body;
      try {
        parsed = JSON.parse(body);
      } catch {
        // recorded as text
      }
      this.calls.push({ path: callPath, method: req.method ?? 'POST', headers: Object.keys(req.headers).sort(), body: parsed, status, at: new Date().toISOString() });
      return json(res, status, status < 300 ? { received: true } : { message: `the stand-in answers ${status} for ${callPath}` });
    };
  }
}

export interface DeliveryOptions {
  readonly destinations: DestinationSource;
  readonly outbox: FeedbackRecorder;
  readonly metrics: Metrics;
  readonly clock: () => Date;
  /** Backoff between attempts, real milliseconds (EventBridge backs off over minutes; here it is short). @default 50 × 2^attempt, at most 1000 */
  readonly backoffMs?: (attempt: number) => number;
}

export class LocalDestinationDelivery {
  readonly deadLetters: DestinationDeadLetter[] = [];
  private pending = 0;

  constructor(private readonly opts: DeliveryOptions) {}

  get idle(): boolean {
    return this.pending === 0;
  }

  /** Called for every event the local bus accepts. */
  onEvent(event: BusEvent): void {
    if (event.source !== SOURCES.baton || event['detail-type'] !== 'ActionRequested') return;
    const destinationId = event.detail['destination'];
    if (typeof destinationId !== 'string') return;
    this.pending++;
    void this.deliver(destinationId, event.detail)
      .catch((err: unknown) => console.warn(`destination ${destinationId}: delivery failed (${(err as Error).name})`))
      .finally(() => this.pending--);
  }

  extension(): HttpExtension {
    return async (req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/local/destinations/dead-letters' || req.method !== 'GET') return false;
      return json(res, 200, { deadLetters: this.deadLetters });
    };
  }

  private async deliver(destinationId: string, detail: Record<string, unknown>): Promise<void> {
    const decisionId = String(detail['decisionId']);
    const destination = await this.opts.destinations.find(destinationId);
    if (!destination) return this.deadLetter({ destinationId, decisionId, status: 0, attempts: 0, reason: 'no valid destination item' });
    const body = JSON.stringify(detail['payload'] ?? {});
    const backoff = this.opts.backoffMs ?? ((n: number) => Math.min(1000, 50 * 2 ** n));
    // One first attempt plus the policy's retries (EventBridge's maximumRetryAttempts).
    for (let attempt = 1; ; attempt++) {
      const status = await this.call(destination, body);
      const verdict = deliveryVerdict(status || 500);
      if (verdict === 'delivered') {
        this.opts.metrics.count('DestinationDeliveries');
        await this.opts.outbox.recordFeedback({ decisionId, channel: 'bus', field: 'deliveredAt', at: this.opts.clock().toISOString() });
        return;
      }
      if (verdict === 'refused' || attempt > destination.retry.maximumAttempts) {
        const reason = verdict === 'refused' ? `refused with ${status}; not retried` : `answered ${status || 'nothing'}; ${destination.retry.maximumAttempts} retries spent`;
        return this.deadLetter({ destinationId, decisionId, status, attempts: attempt, reason });
      }
      this.opts.metrics.count('DestinationRetries');
      await new Promise((r) => setTimeout(r, backoff(attempt)));
    }
  }

  private async call(destination: Destination, body: string): Promise<number> {
    // No Secrets Manager here: the header carries a stand-in naming the secret, never a secret.
    const auth: Record<string, string> =
      destination.auth.kind === 'api-key'
        ? { [destination.auth.header]: `local-stand-in-for:${destination.auth.secretName}` }
        : { authorization: `Basic ${Buffer.from(`local:${destination.auth.secretName}`).toString('base64')}` };
    try {
      const res = await fetch(destination.url, { method: destination.method, headers: { 'content-type': 'application/json', ...auth }, body });
      await res.arrayBuffer();
      return res.status;
    } catch {
      return 0;
    }
  }

  private async deadLetter(entry: Omit<DestinationDeadLetter, 'at'>): Promise<void> {
    const at = this.opts.clock().toISOString();
    this.deadLetters.push({ ...entry, at });
    this.opts.metrics.count('DestinationsDeadLettered');
    await this.opts.outbox.recordFeedback({ decisionId: entry.decisionId, channel: 'bus', field: 'failedAt', at });
  }
}

function json(res: ServerResponse, status: number, value: unknown): true {
  sendJson(res, status, value);
  return true;
}
