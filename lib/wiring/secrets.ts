// A secret the settings point at: read from Secrets Manager in the cloud (the value never sits in
// the function's environment), given as a value on the laptop, where there is no Secrets Manager.
import type { SecretRef } from '../contract/config.ts';
import { SecretsManagerSecrets } from '../adapters/aws/secrets.ts';
import type { Clients } from './clients.ts';

export async function secretText(ref: SecretRef, clients: Pick<Clients, 'secretsManager'>): Promise<string> {
  return 'value' in ref ? ref.value : new SecretsManagerSecrets(clients.secretsManager()).text(ref.arn);
}
