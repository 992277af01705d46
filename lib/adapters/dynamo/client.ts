// One DynamoDB document client per process; endpoint from the environment when local.
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export function documentClient(config: DynamoDBClientConfig = {}): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
    marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: false },
  });
}

/** Reads the name of the DynamoDB error, including each cancellation reason of a transaction. */
export function cancellationCodes(err: unknown): (string | undefined)[] | undefined {
  if ((err as { name?: string })?.name !== 'TransactionCanceledException') return undefined;
  return ((err as { CancellationReasons?: { Code?: string }[] }).CancellationReasons ?? []).map((r) =>
    r.Code === 'None' ? undefined : r.Code,
  );
}
