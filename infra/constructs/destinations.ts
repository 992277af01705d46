// Destinations in the cloud (docs/destinations.md): per destination an EventBridge connection (auth
// from a Secrets Manager secret, by name), an API destination (URL, method, rate limit) and a rule
// on the Baton bus that sends the payload of each `ActionRequested` naming it, with the
// destination's retry policy; what is still refused after it goes to one DLQ an alarm watches.
// The destination items in the templates table (lib/core/channels/destinations.ts) hold the same
// fields plus the payload template dispatch renders; keep the two in step (same file, see infra/app.ts).
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SOURCES } from '../../events/catalog.ts';
import { deadLetterQueue } from './pipeline.ts';

/** What the cloud needs of one destination item (its payload template stays with dispatch). */
export interface DestinationTarget {
  readonly destinationId: string;
  /** An https:// URL. */
  readonly url: string;
  /** @default 'POST' */
  readonly method?: 'POST' | 'PUT' | 'PATCH';
  /** The secret by NAME: an API key (its value is the key) or basic auth (JSON with username and password). */
  readonly auth: { readonly kind: 'api-key'; readonly header: string; readonly secretName: string } | { readonly kind: 'basic'; readonly secretName: string };
  /** Invocations per second, 1 to 300. */
  readonly rateLimitPerSecond: number;
  /** @default 3 retries within 3600 s */
  readonly retry?: { readonly maximumAttempts?: number; readonly maximumEventAgeSeconds?: number };
}

export interface DestinationsProps {
  readonly bus: events.IEventBus;
  readonly destinations: readonly DestinationTarget[];
  /** The stack's key: the DLQ holds payloads (the fields the templates name), so it is encrypted. */
  readonly encryptionKey: kms.IKey;
}

const idOf = (destinationId: string) => destinationId.replace(/(^|-)([a-z0-9])/g, (_m, _d, c: string) => c.toUpperCase());

export class Destinations extends Construct {
  readonly deadLetterQueue: sqs.Queue | undefined;
  readonly apiDestinations: events.ApiDestination[] = [];
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: DestinationsProps) {
    super(scope, id);
    if (props.destinations.length === 0) return;
    const seen = new Set<string>();
    this.deadLetterQueue = deadLetterQueue(this, 'Dlq', false, props.encryptionKey);
    for (const d of props.destinations) {
      if (seen.has(d.destinationId)) throw new Error(`destination ${d.destinationId} is listed twice; expected each destinationId once`);
      seen.add(d.destinationId);
      if (!d.url.startsWith('https://')) throw new Error(`destination ${d.destinationId}: url is not https://; expected an https:// URL`);
      if (!(Number.isInteger(d.rateLimitPerSecond) && d.rateLimitPerSecond >= 1 && d.rateLimitPerSecond <= 300)) {
        throw new Error(`destination ${d.destinationId}: rateLimitPerSecond is ${d.rateLimitPerSecond}; expected a whole number from 1 to 300`);
      }
      const name = idOf(d.destinationId);
      const secret = secretsmanager.Secret.fromSecretNameV2(this, `${name}Secret`, d.auth.secretName);
      const authorization =
        d.auth.kind === 'api-key'
          ? events.Authorization.apiKey(d.auth.header, secret.secretValue)
          : events.Authorization.basic(secret.secretValueFromJson('username').unsafeUnwrap(), secret.secretValueFromJson('password'));
      const connection = new events.Connection(this, `${name}Connection`, { authorization, description: `Baton destination ${d.destinationId}` });
      const api = new events.ApiDestination(this, `${name}Api`, {
        connection,
        endpoint: d.url,
        httpMethod: events.HttpMethod[d.method ?? 'POST'],
        rateLimitPerSecond: d.rateLimitPerSecond,
        description: `Baton destination ${d.destinationId}`,
      });
      this.apiDestinations.push(api);
      new events.Rule(this, `${name}Rule`, {
        eventBus: props.bus,
        description: `Bus actions for destination ${d.destinationId}`,
        eventPattern: { source: [SOURCES.baton], detailType: ['ActionRequested'], detail: { destination: [d.destinationId] } },
        targets: [
          new targets.ApiDestination(api, {
            event: events.RuleTargetInput.fromEventPath('$.detail.payload'),
            retryAttempts: d.retry?.maximumAttempts ?? 3,
            maxEventAge: Duration.seconds(d.retry?.maximumEventAgeSeconds ?? 3600),
            deadLetterQueue: this.deadLetterQueue,
          }),
        ],
      });
    }
    this.alarms.push(
      new cloudwatch.Alarm(this, 'DlqAlarm', {
        alarmDescription: 'a bus action could not be delivered to its destination after its retry policy (or was refused): see the destinations DLQ',
        metric: this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(1) }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
    );
  }
}
