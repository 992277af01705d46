// Settings a function reads from its environment. Endpoints are only set locally (and in tests);
// on Lambda the SDK's defaults reach the real services.

export const ENV = {
  stage: 'BATON_STAGE',
  busName: 'BATON_BUS_NAME',
  sender: 'BATON_SENDER_EMAIL',
  sesConfigurationSet: 'BATON_SES_CONFIGURATION_SET',
  unsubscribeBaseUrl: 'BATON_UNSUBSCRIBE_URL',
  unsubscribeSecret: 'BATON_UNSUBSCRIBE_SECRET',
  /** ARN of the Secrets Manager secret that signs unsubscribe links (the cloud; its value is read at run time). */
  unsubscribeSecretArn: 'BATON_UNSUBSCRIBE_SECRET_ARN',
  dynamodbEndpoint: 'BATON_DYNAMODB_ENDPOINT',
  sesEndpoint: 'BATON_SES_ENDPOINT',
  busEndpoint: 'BATON_BUS_ENDPOINT',
  snsEndpoint: 'BATON_SNS_ENDPOINT',
  iotEndpoint: 'BATON_IOT_ENDPOINT',
  sqsEndpoint: 'BATON_SQS_ENDPOINT',
  /** Queue URL of the dispatch dead-letter queue: permanent send failures go there (alarmed). */
  dispatchDeadLetterQueueUrl: 'BATON_DISPATCH_DLQ_URL',
  /** Queue URL where messages held by quiet hours wait (SQS delay, re-held every 15 minutes). */
  heldQueueUrl: 'BATON_HELD_QUEUE_URL',
  /** Messages per second per dispatch instance, JSON such as {"email": 2.8, "sms": 0.6}. */
  channelRates: 'BATON_CHANNEL_RATES',
  /** Baton's hard monthly SMS budget in US dollars, enforced before each send. @default 1 (SNS's own default) */
  smsMonthlyBudgetUsd: 'BATON_SMS_MONTHLY_BUDGET_USD',
  /** Price of one SMS part (AWS price + carrier fee) in US dollars. @default 0.01 */
  smsCostPerPartUsd: 'BATON_SMS_COST_PER_PART_USD',
  /** Registered origination number (toll-free, 10DLC, short code) SMS are sent from. */
  smsOriginationNumber: 'BATON_SMS_ORIGINATION_NUMBER',
  /** Turns the deliverability guard off ('off'); on by default. */
  deliverabilityGuard: 'BATON_DELIVERABILITY_GUARD',
  /** How often running functions re-read rules (milliseconds); 10 s by default. */
  rulesRefreshMs: 'BATON_RULES_REFRESH_MS',
} as const;

/** Client options for one AWS SDK client: endpoint only when one is configured. */
export function clientConfig(endpointVar: string, env: NodeJS.ProcessEnv = process.env): { endpoint?: string } {
  const endpoint = env[endpointVar];
  return endpoint ? { endpoint } : {};
}
