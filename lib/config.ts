// Settings a function reads from its environment. Endpoints are only set locally (and in tests);
// on Lambda the SDK's defaults reach the real services.

export const ENV = {
  stage: 'BATON_STAGE',
  busName: 'BATON_BUS_NAME',
  sender: 'BATON_SENDER_EMAIL',
  sesConfigurationSet: 'BATON_SES_CONFIGURATION_SET',
  unsubscribeBaseUrl: 'BATON_UNSUBSCRIBE_URL',
  unsubscribeSecret: 'BATON_UNSUBSCRIBE_SECRET',
  dynamodbEndpoint: 'BATON_DYNAMODB_ENDPOINT',
  sesEndpoint: 'BATON_SES_ENDPOINT',
  busEndpoint: 'BATON_BUS_ENDPOINT',
  snsEndpoint: 'BATON_SNS_ENDPOINT',
  iotEndpoint: 'BATON_IOT_ENDPOINT',
  /** How often running functions re-read rules (milliseconds); 10 s by default. */
  rulesRefreshMs: 'BATON_RULES_REFRESH_MS',
} as const;

/** Client options for one AWS SDK client: endpoint only when one is configured. */
export function clientConfig(endpointVar: string, env: NodeJS.ProcessEnv = process.env): { endpoint?: string } {
  const endpoint = env[endpointVar];
  return endpoint ? { endpoint } : {};
}
