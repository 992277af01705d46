// Device messages through AWS IoT Core's data plane: Publish to the device's own MQTT topic,
// `baton/devices/<deviceId>/messages`, which the device agent subscribes to and shows. QoS 1 and a
// message expiry, so an agent that reconnects within the hour still gets it (persistent session).
import { PublishCommand, type IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { PermanentSendError, errorName, type OutgoingMessage, type PermanentCode } from '../../core/channels/senders.ts';
import { type ChannelSender } from '../../app/ports.ts';
import { deviceTopic } from '../../contract/routes.ts';

export { deviceTopic };


/** What the device agent receives (JSON). */
export interface DeviceMessage {
  readonly decisionId: string;
  readonly text: string;
  readonly title?: string;
  readonly offer?: string;
}

const PERMANENT: Record<string, PermanentCode> = {
  InvalidRequestException: 'invalid-parameter',
  UnauthorizedException: 'not-authorized',
  MethodNotAllowedException: 'invalid-parameter',
};
// MQTT topic levels may not hold wildcards; the topic and its ARN must stay under the prefix.
const SAFE_DEVICE_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export class IotDeviceSender implements ChannelSender {
  constructor(
    private readonly iot: IoTDataPlaneClient,
    private readonly opts: { messageExpirySeconds?: number } = {},
  ) {}

  async send(message: OutgoingMessage): Promise<{ providerMessageId: string }> {
    const deviceId = message.recipient.deviceId;
    if (!deviceId) throw new PermanentSendError('customer has no registered device', 'no-device');
    if (!SAFE_DEVICE_ID.test(deviceId)) throw new PermanentSendError('device id cannot be used in an MQTT topic', 'invalid-parameter');
    const body: DeviceMessage = {
      decisionId: message.decisionId,
      text: message.content.text,
      ...(message.content.subject ? { title: message.content.subject } : {}),
      ...(message.offer ? { offer: message.offer } : {}),
    };
    try {
      await this.iot.send(
        new PublishCommand({
          topic: deviceTopic(deviceId),
          qos: 1,
          messageExpiry: this.opts.messageExpirySeconds ?? 3600,
          contentType: 'application/json',
          payload: new TextEncoder().encode(JSON.stringify(body)),
        }),
      );
    } catch (err) {
      const name = errorName(err);
      const code = Object.hasOwn(PERMANENT, name) ? PERMANENT[name] : undefined;
      if (code) throw new PermanentSendError(`IoT Core refused the message (${name})`, code, { cause: err });
      throw err;
    }
    // IoT's Publish returns no message id: the decision and device name the message.
    return { providerMessageId: `${message.decisionId}@${deviceId}` };
  }
}
