// The local bus as a source system sees it: only @aws-sdk/client-eventbridge, endpoint changed.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { loadSample } from '../../events/samples.ts';
import { busClient, endpoints, eventually, profileByExternalId, unique } from '../support/local.ts';

const entryFor = (sample: Record<string, unknown>, detail = sample.detail) => ({
  Source: sample.source as string,
  DetailType: sample['detail-type'] as string,
  Detail: JSON.stringify(detail),
  EventBusName: 'baton',
});

function upsert(crmId: string) {
  const sample = loadSample('baton.crm/CustomerUpserted');
  return entryFor(sample, { ...sample.detail, ids: { crmId } });
}

describe('local bus speaks PutEvents', { timeout: 600_000 }, () => {
  it('accepts a sample event and answers with its event id', async () => {
    const out = await busClient().send(new PutEventsCommand({ Entries: [entryFor(loadSample('baton.pos/SaleCompleted'))] }));
    expect(out.FailedEntryCount).toBe(0);
    expect(out.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers per entry: one invalid entry fails with a code, the other two are accepted and processed', async () => {
    const [a, b] = [unique('CRM'), unique('CRM')];
    const out = await busClient().send(
      new PutEventsCommand({ Entries: [upsert(a), { ...upsert('x'), Detail: '{not json' }, upsert(b)] }),
    );
    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[1]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' });
    expect(out.Entries?.[0]?.EventId).toBeTruthy();
    expect(out.Entries?.[2]?.EventId).toBeTruthy();
    for (const crmId of [a, b]) {
      const profile = await eventually(`profile of ${crmId}`, () => profileByExternalId('crmId', crmId));
      expect(profile.identities).toContain(`crmId#${crmId}`);
    }
  });

  it('refuses an 11-entry request as EventBridge does, and an empty one', async () => {
    const eleven = Array.from({ length: 11 }, () => upsert(unique('CRM')));
    await expect(busClient().send(new PutEventsCommand({ Entries: eleven }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('less than or equal to 10'),
    });
    await expect(busClient().send(new PutEventsCommand({ Entries: [] }))).rejects.toMatchObject({ name: 'ValidationException' });
  });

  it('refuses a request over 256 KB', async () => {
    const big = { ...upsert('big'), Detail: JSON.stringify({ padding: 'x'.repeat(130 * 1024) }) };
    await expect(busClient().send(new PutEventsCommand({ Entries: [big, big] }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Total size of the entries in the request is over the limit.',
    });
  });

  it('names the missing field of an entry, and refuses aws.* sources from customers', async () => {
    const out = await busClient().send(
      new PutEventsCommand({
        Entries: [
          { DetailType: 'SaleCompleted', Detail: '{}', EventBusName: 'baton' },
          { Source: 'baton.pos', Detail: '{}', EventBusName: 'baton' },
          { Source: 'baton.pos', DetailType: 'SaleCompleted', Detail: '[1,2]', EventBusName: 'baton' },
          { Source: 'aws.ses', DetailType: 'Email Sent', Detail: '{}', EventBusName: 'baton' },
        ],
      }),
    );
    expect(out.FailedEntryCount).toBe(4);
    expect(out.Entries?.map((e) => e.ErrorCode)).toEqual(['InvalidArgument', 'InvalidArgument', 'MalformedDetail', 'NotAuthorizedForSourceException']);
    expect(out.Entries?.[0]?.ErrorMessage).toBe('Parameter Source is not valid. Reason: Source is a required argument.');
    expect(out.Entries?.[1]?.ErrorMessage).toBe('Parameter DetailType is not valid. Reason: DetailType is a required argument.');
  });

  it('refuses a Detail nested too deep for the entry alone, and /local/events keeps answering', async () => {
    const crmId = unique('CRM');
    const poisoned = { ...upsert('deep'), Detail: `{"a":${'['.repeat(100_000)}${']'.repeat(100_000)}}` };

    const out = await busClient().send(new PutEventsCommand({ Entries: [poisoned, upsert(crmId)] }));

    expect(out.FailedEntryCount).toBe(1);
    expect(out.Entries?.[0]).toEqual({ ErrorCode: 'MalformedDetail', ErrorMessage: expect.stringMatching(/^Detail is nested more than \d+ levels deep\.$/) });
    expect(out.Entries?.[1]?.EventId).toBeTruthy();
    const res = await fetch(`${endpoints().bus}/local/events`);
    expect(res.status).toBe(200);
    const { events } = (await res.json()) as { events: { id: string }[] };
    expect(events.map((e) => e.id)).toContain(out.Entries?.[1]?.EventId);
    await eventually(`profile of ${crmId}`, () => profileByExternalId('crmId', crmId));
  });

  it('refuses a bus that does not exist', async () => {
    await expect(
      busClient().send(new PutEventsCommand({ Entries: [{ ...upsert('x'), EventBusName: 'nope' }] })),
    ).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('answers an unknown path with 404 without repeating it (a path can carry an e-mail)', async () => {
    const res = await fetch(`${endpoints().bus}/customers/mixed.case@example.com`);
    expect(res.status).toBe(404);
    const text = await res.text();
    expect(text).toContain('UnknownOperationException');
    expect(text.toLowerCase()).not.toContain('example.com');
  });
});
