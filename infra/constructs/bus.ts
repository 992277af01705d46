// The `baton` event bus every source system publishes to, its archive (for replay) and the optional
// resource policy that lets publishers in other AWS accounts put their own source on it.
import { Aws, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { SOURCES, type SourceSystem } from '../../events/catalog.ts';
import { BUS_NAME } from '../../lib/contract/routes.ts';
import { putEventsStatement } from './access.ts';

/** A publisher in another AWS account, allowed to put events with one source system's `source`. */
export interface CrossAccountPublisher {
  /** 12-digit AWS account id of the publisher. */
  readonly account: string;
  /** The source system it publishes as; its events must carry `SOURCES[system]`. */
  readonly system: SourceSystem;
}

export interface BusProps {
  /** @default BUS_NAME (`baton`), from lib/contract/routes.ts */
  readonly busName?: string;
  /**
   * How long the archive keeps events for replay. Duration.days(0) keeps them forever.
   * @default Duration.days(365)
   */
  readonly archiveRetention?: Duration;
  /**
   * Key that encrypts the archive (it holds every event, personal data included).
   * @default - the AWS-owned key EventBridge uses by default
   */
  readonly archiveKey?: kms.IKey;
  /**
   * Accounts allowed to publish to the bus through its resource policy, each only with its own
   * source. Publishers in this account need no bus policy: they use the roles in `Access`.
   * @default - no bus policy (same-account publishers only)
   */
  readonly crossAccountPublishers?: readonly CrossAccountPublisher[];
}

/** The `baton` event bus with its archive. */
export class Bus extends Construct {
  readonly bus: events.EventBus;
  readonly archive: events.Archive;

  constructor(scope: Construct, id: string, props: BusProps = {}) {
    super(scope, id);
    this.bus = new events.EventBus(this, 'Bus', {
      eventBusName: props.busName ?? BUS_NAME,
      description: 'Baton: customer events from the source systems, SES feedback and Baton actions',
    });
    // new Archive rather than bus.archive(): the latter does not pass kmsKey on.
    this.archive = new events.Archive(this, 'Archive', {
      sourceEventBus: this.bus,
      description: 'Every event published to the Baton bus, for replay',
      // Everything that reaches the bus is in this account's events; the pattern is required.
      eventPattern: { account: [Aws.ACCOUNT_ID] },
      retention: props.archiveRetention ?? Duration.days(365),
      kmsKey: props.archiveKey,
    });

    for (const [i, publisher] of (props.crossAccountPublishers ?? []).entries()) {
      if (!/^\d{12}$/.test(publisher.account)) {
        throw new Error(
          `crossAccountPublishers[${i}].account is "${publisher.account}"; expected a 12-digit AWS account id`,
        );
      }
      const statement = putEventsStatement(this.bus.eventBusArn, SOURCES[publisher.system]);
      statement.addPrincipals(new iam.AccountPrincipal(publisher.account));
      statement.sid = `${publisher.system}-from-${publisher.account}`;
      this.bus.addToResourcePolicy(statement);
    }
  }
}
