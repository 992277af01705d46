// The renewal journey for three customers on the in-memory adapters (the same scenario runs on
// DynamoDB Local in test/integration/journeys.dynamo.test.ts).
import { describe, it } from 'vitest';
import { journeyStack } from '../support/journeys.ts';
import { renewal, runRenewalScenario } from '../support/renewal-scenario.ts';

describe('the renewal journey on the in-memory adapters', () => {
  it('exits the customer who renews, reaches the device of the one who does not, and answers a threat at once', async () => {
    await runRenewalScenario(journeyStack({ journeys: [renewal()] }), 'mem');
  });
});
