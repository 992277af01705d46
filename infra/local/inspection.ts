// Read-only local endpoints for people and tests: what the pipeline did.
import type { HttpExtension, LocalBus } from './bus.ts';
import { sendJson } from './bus.ts';
import type { LocalQueue } from './queue.ts';
import type { LocalStreamPoller } from './streams.ts';
import type { LocalSesFeedback } from './ses-feedback.ts';

export function localInspection(parts: {
  bus: LocalBus;
  queue: LocalQueue;
  stream: LocalStreamPoller;
  sesFeedback: LocalSesFeedback;
}): HttpExtension {
  return async (req, res) => {
    if (req.method !== 'GET') return false;
    const path = req.url?.split('?')[0];
    if (path === '/local/stats') {
      sendJson(res, 200, {
        bus: parts.bus.stats,
        queue: { ...parts.queue.stats, depth: parts.queue.depth },
        dispatch: parts.stream.stats,
        ses: parts.sesFeedback.stats,
      });
      return true;
    }
    if (path === '/local/dead-letters') {
      sendJson(res, 200, { inbound: parts.queue.deadLetters, dispatch: parts.stream.failures });
      return true;
    }
    if (path === '/health') {
      sendJson(res, 200, { ok: true });
      return true;
    }
    return false;
  };
}
