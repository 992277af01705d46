// Poison events (issue 11, defect 3): events the catalog's schema accepts but whose times lie outside
// what the customer state can hold (UTC years 0000 to 9999) must be quarantined with a reason naming
// the field and the accepted range, never thrown (a throw is retried and then dead-lettered).
import { describe, expect, it } from 'vitest';
import { loadSample } from '../../events/samples.ts';
import { memoryIngest } from '../support/memory-ingest.ts';

const RANGE = ['0000-01-01T00:00:00.000Z', '9999-12-31T23:59:59.999Z'];

type Event = Record<string, unknown> & { detail: Record<string, unknown> };

function setup() {
  // SES samples are tagged with this customerId: the first customer made gets it.
  let made = 0;
  return memoryIngest({ newCustomerId: () => (made++ === 0 ? 'cus-7b1e0c' : `cus-extreme-${made}`) });
}

/** A sample with one field of its detail set (`path` inside detail, dotted). */
function sampleWith(name: string, path: string, value: unknown): Event {
  const event = loadSample(name) as Event;
  const keys = path.split('.');
  let node: Record<string, unknown> = event.detail;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[keys.at(-1)!] = value;
  return event;
}

interface Case {
  readonly name: string;
  readonly sample: string;
  readonly field: string;
  readonly value: string;
}

const outside: Case[] = [
  { name: 'occurredAt on the last evening of 9999 in New York (year 10000 in UTC)', sample: 'baton.erp/LicensePurchased', field: 'occurredAt', value: '9999-12-31T23:00:00-05:00' },
  { name: 'occurredAt just after midnight of year 0000 in Berlin (year -1 in UTC)', sample: 'baton.pos/SaleCompleted', field: 'occurredAt', value: '0000-01-01T00:30:00+01:00' },
  { name: 'expiresAt in year 9999 with a negative offset', sample: 'baton.erp/LicenseRenewed', field: 'expiresAt', value: '9999-12-31T22:00:00-02:00' },
  { name: 'expiresAt of a purchase past the end of 9999 in UTC', sample: 'baton.erp/LicensePurchased', field: 'expiresAt', value: '9999-12-31T12:00:00-23:59' },
  { name: 'startsAt before year 0000 in UTC', sample: 'baton.erp/LicensePurchased', field: 'startsAt', value: '0000-01-01T23:00:00+23:59' },
  { name: 'expiredAt past the end of 9999', sample: 'baton.erp/LicenseExpired', field: 'expiredAt', value: '9999-12-31T23:59:59.999-00:01' },
  { name: 'an SES delivery timestamp past the end of 9999', sample: 'aws.ses/EmailDelivered', field: 'delivery.timestamp', value: '9999-12-31T20:00:00-04:00' },
  { name: 'an SES send time before year 0000', sample: 'aws.ses/EmailSent', field: 'mail.timestamp', value: '0000-01-01T00:00:00+00:01' },
  { name: 'an erasure dated past the end of 9999', sample: 'baton.crm/CustomerErased', field: 'occurredAt', value: '9999-12-31T23:30:00-01:00' },
];

const edges: Case[] = [
  { name: 'the last millisecond of 9999 in UTC', sample: 'baton.erp/LicensePurchased', field: 'expiresAt', value: '9999-12-31T23:59:59.999Z' },
  { name: 'the first instant of year 0000 in UTC', sample: 'baton.pos/SaleCompleted', field: 'occurredAt', value: '0000-01-01T00:00:00Z' },
  { name: 'the last second of 9999 in New York', sample: 'baton.erp/LicenseRenewed', field: 'expiresAt', value: '9999-12-31T18:59:59-05:00' },
  { name: 'the first hour of year 0000 in Berlin, at its UTC start', sample: 'baton.crm/ConsentChanged', field: 'occurredAt', value: '0000-01-01T01:00:00+01:00' },
  { name: 'year 9999 with the largest positive offset', sample: 'baton.device/ThreatDetected', field: 'occurredAt', value: '9999-12-31T23:59:59+23:59' },
];

describe('poison events: times outside what the state can hold', () => {
  it.each(outside)('$name is quarantined, naming the field and the accepted range', async ({ sample, field, value }) => {
    // Prepare: the customer the SES samples are tagged with, and the store as it then is.
    const t = setup();
    expect((await t.ingest(JSON.stringify(loadSample('baton.crm/CustomerUpserted')))).status).toBe('applied');
    const before = JSON.stringify([...t.store.profiles, ...t.store.markers]);

    // Act
    const outcome = await t.ingest(JSON.stringify(sampleWith(sample, field, value)));

    // Assess: quarantined (not thrown), the reason names the field and the range, not the value.
    expect(outcome).toMatchObject({ status: 'quarantined', code: 'invalid-detail' });
    if (outcome.status !== 'quarantined') return;
    expect(outcome.reason).toContain(`detail.${field}:`);
    for (const bound of RANGE) expect(outcome.reason).toContain(bound);
    expect(outcome.reason).not.toContain(value);
    expect(t.quarantine.entries).toHaveLength(1);
    expect(JSON.stringify([...t.store.profiles, ...t.store.markers])).toBe(before);
  });

  it.each(edges)('$name is applied', async ({ sample, field, value }) => {
    const t = setup();

    const outcome = await t.ingest(JSON.stringify(sampleWith(sample, field, value)));

    expect(outcome).toMatchObject({ status: 'applied' });
    expect(t.quarantine.entries).toEqual([]);
  });
});
