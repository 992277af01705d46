// A local stand-in for AWS IoT Core's data-plane Publish (`POST /topics/{topic}?qos=&messageExpiry=`,
// the payload as the body; platform.md 1.11), so Baton's IotDeviceSender runs unchanged. Messages
// are recorded per topic (what a subscribed device agent would receive); no MQTT broker is needed.
import { randomUUID } from 'node:crypto';
import type { HttpExtension } from './bus.ts';
import { sendJson } from './bus.ts';
import type { LocalMessages } from './inspection.ts';

export class LocalIot {
  readonly stats = { published: 0 };
  constructor(private readonly messages: LocalMessages) {}

  extension(): HttpExtension {
    return async (req, res, body) => {
      const [path = '', query = ''] = (req.url ?? '').split('?');
      if (req.method !== 'POST' || !path.startsWith('/topics/')) return false;
      const topic = decodeURIComponent(path.slice('/topics/'.length));
      const params = new URLSearchParams(query);
      const qos = Number(params.get('qos') ?? '0');
      if (!topic || /[#+]/.test(topic) || topic.length > 256 || (qos !== 0 && qos !== 1)) {
        res.setHeader('x-amzn-ErrorType', 'InvalidRequestException');
        sendJson(res, 400, { message: 'topic must be a concrete MQTT topic (no wildcards, at most 256 characters) and qos 0 or 1' });
        return true;
      }
      const deviceId = /^baton\/devices\/([^/]+)\/messages$/.exec(topic)?.[1];
      let text = body;
      let title: string | undefined;
      let decisionId: string | undefined;
      try {
        const payload = JSON.parse(body) as { text?: string; title?: string; decisionId?: string };
        text = payload.text ?? body;
        title = payload.title;
        decisionId = payload.decisionId;
      } catch {
        // Not JSON: kept as sent.
      }
      this.messages.record({
        channel: 'device',
        providerMessageId: decisionId && deviceId ? `${decisionId}@${deviceId}` : randomUUID(),
        to: topic,
        text,
        ...(title ? { subject: title } : {}),
        ...(decisionId ? { decisionId } : {}),
        attributes: { qos: String(qos), ...(params.get('messageExpiry') ? { messageExpiry: params.get('messageExpiry')! } : {}) },
      });
      this.stats.published++;
      sendJson(res, 200, {});
      return true;
    };
  }
}
