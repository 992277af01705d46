// The report aggregates in the cloud: a second consumer of the decisions table's stream (dispatch
// is the first; a table stream serves two without throttling) counts each change into the
// aggregates table (lib/app/reports.ts). Its failed batches go to the decisions stream's
// dead-letter queue (dispatch's), which an alarm already watches.
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { DynamoEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BatonFunction } from './function.ts';
import type { Tables } from './tables.ts';

export interface ReportsProps {
  readonly tables: Tables;
  readonly environment: Record<string, string>;
  /** Where stream batches go that could not be counted after the retries. */
  readonly deadLetterQueue: sqs.IQueue;
}

export class Reports extends Construct {
  readonly aggregates: BatonFunction;

  constructor(scope: Construct, id: string, props: ReportsProps) {
    super(scope, id);
    this.aggregates = new BatonFunction(this, 'Aggregates', {
      entry: 'functions/aggregates.ts',
      serviceName: 'aggregates',
      description: 'Baton: counts decisions and their feedback into the report aggregates',
      timeout: Duration.seconds(30),
      environment: { ...props.environment, ...props.tables.environment() },
    });
    // Marker, cell and exposure writes go in transactions (PutItem and UpdateItem on each item);
    // the ids of a kind are registered with PutItem; an erased customer's exposures are found (Query) and deleted.
    props.tables.grantData(this.aggregates.role, { aggregates: ['DeleteItem', 'PutItem', 'Query', 'UpdateItem'] });
    this.aggregates.function.addEventSource(
      new DynamoEventSource(props.tables.tables.decisions, {
        startingPosition: lambda.StartingPosition.TRIM_HORIZON,
        batchSize: 100,
        bisectBatchOnError: true,
        retryAttempts: 10,
        maxRecordAge: Duration.hours(6),
        reportBatchItemFailures: true,
        onFailure: new SqsDlq(props.deadLetterQueue),
      }),
    );
  }
}
