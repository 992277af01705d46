// Settings → clients: one AWS SDK client per service, made on first use and reused across
// invocations, as Lambda recommends. Endpoints, region and credentials come from the settings
// only locally; on Lambda they are empty and the SDK's defaults reach the real services.
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import { SNSClient } from '@aws-sdk/client-sns';
import { IoTDataPlaneClient } from '@aws-sdk/client-iot-data-plane';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { documentClient } from '../adapters/dynamo/client.ts';
import type { AwsSettings, Endpoints } from '../contract/config.ts';

export interface Clients {
  dynamodb(): DynamoDBDocumentClient;
  ses(): SESv2Client;
  sns(): SNSClient;
  iot(): IoTDataPlaneClient;
  bus(): EventBridgeClient;
  sqs(): SQSClient;
  secretsManager(): SecretsManagerClient;
  scheduler(): SchedulerClient;
}

export function awsClients(aws: AwsSettings): Clients {
  const config = (service: keyof Endpoints) => {
    const endpoint = aws.endpoints[service];
    return { ...(endpoint ? { endpoint } : {}), ...(aws.region ? { region: aws.region } : {}), ...(aws.credentials ? { credentials: aws.credentials } : {}) };
  };
  const made = new Map<keyof Endpoints, unknown>();
  const client = <C>(service: keyof Endpoints, make: (c: ReturnType<typeof config>) => C) => (): C => {
    if (!made.has(service)) made.set(service, make(config(service)));
    return made.get(service) as C;
  };
  return {
    dynamodb: client('dynamodb', (c) => documentClient(c)),
    ses: client('ses', (c) => new SESv2Client(c)),
    sns: client('sns', (c) => new SNSClient(c)),
    iot: client('iot', (c) => new IoTDataPlaneClient(c)),
    bus: client('bus', (c) => new EventBridgeClient(c)),
    sqs: client('sqs', (c) => new SQSClient(c)),
    secretsManager: client('secretsManager', (c) => new SecretsManagerClient(c)),
    scheduler: client('scheduler', (c) => new SchedulerClient(c)),
  };
}
