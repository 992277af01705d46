// The local stack builds the real handlers from a settings object it constructs: configuration
// never travels through the global process.env (lib/contract/config.ts has the rule).
import { describe, expect, inject, it } from 'vitest';

describe('local stack settings', () => {
  it('starts every handler without writing a single environment variable', () => {
    expect(inject('localStackEnvWrites')).toEqual([]);
  });
});
