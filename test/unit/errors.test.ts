// Baton's faults share one base (BatonError: a code to branch on, a message saying what was received
// and expected, the cause); send failures carry a code from the one closed list dispatch records.
import { describe, expect, it } from 'vitest';
import { BatonError } from '../../lib/contract/errors.ts';
import { CustomerStateError, applyRuleState, newCustomer } from '../../lib/core/customer/index.ts';
import { PermanentSendError } from '../../lib/core/channels/senders.ts';
import { DISPATCH_CODES, FAILURE_CODES, PERMANENT_CODES, failure } from '../../lib/core/channels/failures.ts';

function thrown(act: () => unknown): unknown {
  try {
    act();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw, none came');
}

describe('one error base', () => {
  it('a customer state fault is a BatonError with its code and a message naming the field and what was expected', () => {
    const error = thrown(() => applyRuleState(newCustomer('cus-1'), { a: 1 }, 'not a time', 'e1'));

    expect(error).toBeInstanceOf(BatonError);
    expect(error).toBeInstanceOf(CustomerStateError);
    expect(error).toMatchObject({ name: 'CustomerStateError', code: 'invalid-time' });
    expect((error as Error).message).toMatch(/^at is not an ISO 8601 time from 0000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z in UTC$/);
  });

  it('a permanent send failure is a BatonError that keeps its code and cause', () => {
    const cause = new Error('OptedOutException');

    const error = new PermanentSendError('SNS refused the message (OptedOutException)', 'opted-out', { cause });

    expect(error).toBeInstanceOf(BatonError);
    expect(error).toMatchObject({ name: 'PermanentSendError', code: 'opted-out', message: 'SNS refused the message (OptedOutException)', cause });
  });
});

describe('failure codes', () => {
  it('are one closed list: every sender code and every dispatch code, once each', () => {
    expect(new Set(FAILURE_CODES).size).toBe(FAILURE_CODES.length);
    expect([...FAILURE_CODES].sort()).toEqual([...PERMANENT_CODES, ...DISPATCH_CODES].sort());
    // The deliverability guard's reasons come in as codes of their own.
    expect(DISPATCH_CODES).toEqual(expect.arrayContaining(['deliverability-bounce-rate', 'deliverability-complaint-rate']));
  });

  it('the failure an outbox message keeps starts with its code', () => {
    expect(failure('no-consent', 'consent for email was withdrawn after the decision')).toBe('no-consent: consent for email was withdrawn after the decision');
  });
});
