// Journeys on DynamoDB Local: the renewal scenario, and the differential test (the same commands on
// the in-memory and the DynamoDB adapters give the same positions, timers and messages).
import { describe, it } from 'vitest';
import { db, tables, unique } from '../support/local.ts';
import { journeyStack } from '../support/journeys.ts';
import { renewal, runRenewalScenario } from '../support/renewal-scenario.ts';

describe('the renewal journey on DynamoDB Local', () => {
  it('exits the customer who renews, reaches the device of the one who does not, and answers a threat at once', async () => {
    await runRenewalScenario(journeyStack({ journeys: [renewal()], dynamo: { db: db(), tables: tables() } }), unique('dyn'));
  }, 120_000);
});
