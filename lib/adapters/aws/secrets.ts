// Secrets read at run time from Secrets Manager (Powertools parameters: cached, one SDK client),
// so their values never sit in a function's environment or in the CloudFormation template.
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { BatonError } from '../../contract/errors.ts';

/** How long a value read is reused before the next read asks Secrets Manager again. */
const MAX_AGE_SECONDS = 300;

export class SecretsManagerSecrets {
  private readonly provider: SecretsProvider;

  constructor(client: SecretsManagerClient, private readonly maxAgeSeconds = MAX_AGE_SECONDS) {
    this.provider = new SecretsProvider({ awsSdkV3Client: client });
  }

  /** The secret's text; fails naming the secret (never its value) when it is missing or binary. */
  async text(secretId: string): Promise<string> {
    let value: unknown;
    try {
      value = await this.provider.get(secretId, { maxAge: this.maxAgeSeconds });
    } catch (err) {
      throw new BatonError('secret-unreadable', `could not read the secret ${secretId} from Secrets Manager (${(err as Error).message}); expected it to exist and the function to be allowed secretsmanager:GetSecretValue on it`, { cause: err });
    }
    if (typeof value !== 'string' || value === '') throw new BatonError('secret-not-text', `the secret ${secretId} holds no text; expected a string value`);
    return value;
  }
}
