// Email through SES v2: the configuration set routes SES's events back to the bus, the tags map
// every event to its decision, and List-Unsubscribe offers one-click unsubscribe (RFC 8058).
import { SESv2Client, SendEmailCommand, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { PermanentSendError, errorName, type OutgoingMessage, type PermanentCode } from '../../core/channels/senders.ts';
import { type ChannelSender } from '../../app/ports.ts';

export interface SesEmailSenderOptions {
  readonly from: string;
  readonly configurationSet?: string;
}

// SES answers with these for messages that will never go out as they are. Throttling,
// SendingPausedException (a paused account or configuration set) and 5xx are transient: retried.
const PERMANENT: Record<string, PermanentCode> = {
  MessageRejected: 'rejected',
  MailFromDomainNotVerifiedException: 'sender-not-verified',
  AccountSuspendedException: 'account-suspended',
  BadRequestException: 'invalid-parameter',
  NotFoundException: 'not-found',
};

export class SesEmailSender implements ChannelSender {
  constructor(
    private readonly ses: SESv2Client,
    private readonly opts: SesEmailSenderOptions,
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    const to = message.recipient.email;
    if (!to) throw new PermanentSendError('customer has no email address', 'no-address');
    const headers = message.unsubscribeUrl
      ? [
          { Name: 'List-Unsubscribe', Value: `<${message.unsubscribeUrl}>` },
          { Name: 'List-Unsubscribe-Post', Value: 'List-Unsubscribe=One-Click' },
        ]
      : [];
    const input: SendEmailCommandInput = {
      FromEmailAddress: this.opts.from,
      Destination: { ToAddresses: [to] },
      Content: {
        Simple: {
          Subject: { Data: message.content.subject ?? '', Charset: 'UTF-8' },
          Body: {
            Text: { Data: message.content.text, Charset: 'UTF-8' },
            ...(message.content.html ? { Html: { Data: message.content.html, Charset: 'UTF-8' } } : {}),
          },
          ...(headers.length ? { Headers: headers } : {}),
        },
      },
      EmailTags: [
        { Name: 'decisionId', Value: message.decisionId },
        { Name: 'customerId', Value: message.recipient.customerId },
        { Name: 'ruleId', Value: message.ruleId },
        { Name: 'campaignId', Value: message.campaignId },
      ],
      ...(this.opts.configurationSet ? { ConfigurationSetName: this.opts.configurationSet } : {}),
    };
    try {
      const out = await this.ses.send(new SendEmailCommand(input));
      return { providerMessageId: out.MessageId ?? 'unknown' };
    } catch (err) {
      const name = errorName(err);
      const code = Object.hasOwn(PERMANENT, name) ? PERMANENT[name] : undefined;
      if (code) throw new PermanentSendError(`SES refused the message (${name})`, code, { cause: err });
      throw err;
    }
  }
}
