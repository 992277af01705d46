// SMS and mobile push through Amazon SNS. SMS goes to the customer's phone number (Publish with
// PhoneNumber); mobile push to the SNS platform endpoint of the customer's newest device that has
// one (Publish with TargetArn). The same code runs against the local SNS stand-in.
import { PublishCommand, type PublishCommandInput, type SNSClient } from '@aws-sdk/client-sns';
import { PermanentSendError, errorName, type OutgoingMessage, type PermanentCode } from '../../core/channels/senders.ts';
import { type ChannelSender } from '../../app/ports.ts';

// SNS errors for a message that will never go out as it is; throttling and 5xx are retried.
const PERMANENT: Record<string, PermanentCode> = {
  InvalidParameterException: 'invalid-parameter',
  InvalidParameterValueException: 'invalid-parameter',
  EndpointDisabledException: 'endpoint-disabled',
  PlatformApplicationDisabledException: 'endpoint-disabled',
  NotFoundException: 'endpoint-disabled',
  OptedOutException: 'opted-out',
  AuthorizationErrorException: 'not-authorized',
};

async function publish(sns: SNSClient, input: PublishCommandInput): Promise<{ providerMessageId: string }> {
  try {
    const out = await sns.send(new PublishCommand(input));
    return { providerMessageId: out.MessageId ?? 'unknown' };
  } catch (err) {
    const name = errorName(err);
    const code = Object.hasOwn(PERMANENT, name) ? PERMANENT[name] : undefined;
    if (code) throw new PermanentSendError(`SNS refused the message (${name})`, code, { cause: err });
    throw err;
  }
}

export interface SnsSmsSenderOptions {
  /** Registered origination identity (toll-free number, 10DLC, short code). @default - the account default */
  readonly originationNumber?: string;
  /** Sender ID where the destination country supports it. */
  readonly senderId?: string;
}

export class SnsSmsSender implements ChannelSender {
  constructor(
    private readonly sns: SNSClient,
    private readonly opts: SnsSmsSenderOptions = {},
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    const phone = message.recipient.phone;
    if (!phone) throw new PermanentSendError('customer has no phone number', 'no-address');
    const attr = (v: string) => ({ DataType: 'String', StringValue: v });
    return publish(this.sns, {
      PhoneNumber: phone,
      Message: message.content.text,
      MessageAttributes: {
        'AWS.SNS.SMS.SMSType': attr(message.transactional ? 'Transactional' : 'Promotional'),
        ...(this.opts.originationNumber ? { 'AWS.MM.SMS.OriginationNumber': attr(this.opts.originationNumber) } : {}),
        ...(this.opts.senderId ? { 'AWS.SNS.SMS.SenderID': attr(this.opts.senderId) } : {}),
      },
    });
  }
}

export class SnsPushSender implements ChannelSender {
  constructor(private readonly sns: SNSClient) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    const endpoint = message.recipient.pushEndpointArn;
    if (!endpoint) throw new PermanentSendError('customer has no device with a push endpoint', 'no-push-endpoint');
    // One payload per platform; the data carries the decision so the app can report the open.
    const data = { decisionId: message.decisionId, ...(message.offer ? { offer: message.offer } : {}) };
    const title = message.content.subject;
    const payload = {
      default: message.content.text,
      GCM: JSON.stringify({ notification: { ...(title ? { title } : {}), body: message.content.text }, data }),
      APNS: JSON.stringify({ aps: { alert: title ? { title, body: message.content.text } : message.content.text }, ...data }),
    };
    return publish(this.sns, { TargetArn: endpoint, MessageStructure: 'json', Message: JSON.stringify(payload) });
  }
}
