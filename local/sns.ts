// A local stand-in for Amazon SNS's Publish (SMS and mobile push), speaking the awsQuery wire
// protocol the real @aws-sdk/client-sns uses (form-encoded POST /, XML answer; platform.md 2), so
// Baton's own SnsSmsSender and SnsPushSender run unchanged. It records what was sent; it can be
// told to refuse a number or endpoint, as SNS does for an opted-out phone or a disabled endpoint.
import { randomUUID } from 'node:crypto';
import type { HttpExtension } from './bus.ts';
import type { LocalMessages } from './inspection.ts';

const XMLNS = 'http://sns.amazonaws.com/doc/2010-03-31/';
const xmlEscape = (s: string) => s.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);

export class LocalSns {
  /** Phone numbers and endpoint ARNs SNS refuses, with the error code it answers. */
  readonly refuse = new Map<string, 'InvalidParameter' | 'EndpointDisabled' | 'OptedOut' | 'Throttled'>();
  readonly stats = { published: 0, refused: 0 };

  constructor(private readonly messages: LocalMessages) {}

  extension(): HttpExtension {
    return async (req, res, body) => {
      const type = req.headers['content-type'] ?? '';
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/' || !type.startsWith('application/x-www-form-urlencoded')) return false;
      const form = new URLSearchParams(body);
      const action = form.get('Action');
      const send = (status: number, xml: string) => {
        res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
        res.end(xml);
      };
      const error = (status: number, code: string, message: string) =>
        send(status, `<ErrorResponse xmlns="${XMLNS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`);
      if (action !== 'Publish') {
        error(400, 'InvalidAction', `the local SNS implements Publish only; got ${String(action).slice(0, 64)}`);
        return true;
      }
      const phone = form.get('PhoneNumber');
      const target = form.get('TargetArn') ?? form.get('TopicArn');
      const message = form.get('Message');
      if (!message) {
        error(400, 'InvalidParameter', 'Invalid parameter: Empty message');
        return true;
      }
      if (!phone && !target) {
        error(400, 'InvalidParameter', 'Invalid parameter: PhoneNumber or TargetArn is required');
        return true;
      }
      if (phone && !/^\+[1-9]\d{6,14}$/.test(phone)) {
        error(400, 'InvalidParameter', 'Invalid parameter: PhoneNumber Reason: not an E.164 number');
        return true;
      }
      const refused = this.refuse.get(phone ?? target ?? '');
      if (refused) {
        this.stats.refused++;
        error(refused === 'Throttled' ? 429 : 400, refused, `refused by the local SNS (${refused})`);
        return true;
      }
      const attributes: Record<string, string> = {};
      for (let i = 1; form.has(`MessageAttributes.entry.${i}.Name`); i++) {
        attributes[form.get(`MessageAttributes.entry.${i}.Name`)!] = form.get(`MessageAttributes.entry.${i}.Value.StringValue`) ?? '';
      }
      const messageId = randomUUID();
      let text = message;
      let title: string | undefined;
      let decisionId: string | undefined;
      if (form.get('MessageStructure') === 'json') {
        try {
          const structured = JSON.parse(message) as Record<string, string>;
          text = structured.default ?? '';
          const gcm = structured.GCM ? (JSON.parse(structured.GCM) as { notification?: { title?: string }; data?: { decisionId?: string } }) : undefined;
          title = gcm?.notification?.title;
          decisionId = gcm?.data?.decisionId;
        } catch {
          error(400, 'InvalidParameter', 'Invalid parameter: Message Structure - JSON message body failed to parse');
          return true;
        }
      }
      this.messages.record({
        channel: phone ? 'sms' : 'push',
        providerMessageId: messageId,
        to: phone ?? target!,
        text,
        ...(title ? { subject: title } : {}),
        ...(decisionId ? { decisionId } : {}),
        attributes,
      });
      this.stats.published++;
      send(200, `<PublishResponse xmlns="${XMLNS}"><PublishResult><MessageId>${messageId}</MessageId></PublishResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></PublishResponse>`);
      return true;
    };
  }
}
