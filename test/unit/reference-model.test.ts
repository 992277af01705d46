// The reducers against the independent reference model (test/support/reference-model.ts): any
// stream of events, folded by Baton, shows the facts the model computes from the list itself.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { eventStreamArb } from './customer-state.arbitraries.ts';
import { foldEvents, newCustomer } from '../../lib/core/customer/index.ts';
import { referenceFacts, type RawEvent } from '../support/reference-model.ts';
import { observedFacts } from '../support/observed-facts.ts';

const NOW = new Date('2026-06-01T00:00:00Z');

describe('reference model', () => {
  it('agrees with the folded state on every fact it models (property)', () => {
    fc.assert(
      fc.property(eventStreamArb({ crmId: 'CRM-1', loyaltyCard: 'LC-1' }, { minLength: 0, maxLength: 60 }), (events) => {
        const model = referenceFacts(events as unknown as RawEvent[]);
        const state = foldEvents(newCustomer('cus-1'), events);
        expect(observedFacts(state, NOW, model.refundCount !== undefined)).toEqual(model);
      }),
      { numRuns: 400, seed: 77 },
    );
  });

  it('agrees on ties: events within one day, so writers often share an hour (property)', () => {
    fc.assert(
      fc.property(eventStreamArb({ crmId: 'CRM-1', loyaltyCard: 'LC-1' }, { minLength: 10, maxLength: 60, days: 1 }), (events) => {
        const model = referenceFacts(events as unknown as RawEvent[]);
        expect(observedFacts(foldEvents(newCustomer('cus-1'), events), NOW, model.refundCount !== undefined)).toEqual(model);
      }),
      { numRuns: 300, seed: 78 },
    );
  });
});
