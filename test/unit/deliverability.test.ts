// The deliverability guard (rolling hard-bounce and complaint rates), what feedback counts, and
// the SMS cost that the monthly budget is checked against.
import { describe, expect, it } from 'vitest';
import { assess, countsOf, DEFAULT_THRESHOLDS, windowDays, type DailyCounts } from '../../lib/core/channels/deliverability.ts';
import { createFeedback } from '../../lib/app/feedback.ts';
import { messageFeedback, type MessageFeedback } from '../../lib/core/channels/feedback.ts';
import { smsParts } from '../../lib/core/channels/sms.ts';
import type { BatonEvent } from '../../events/catalog.ts';

const NOW = new Date('2026-03-10T12:00:00.000Z');
const day = (d: string, sent: number, bounces = 0, complaints = 0): DailyCounts => ({ day: d, sent, bounces, complaints });

describe('deliverability guard', () => {
  it('stays open below 2 % hard bounces and 0.08 % complaints', () => {
    const a = assess([day('2026-03-10', 10_000, 200, 8)], NOW);
    expect(a).toEqual({ status: 'open', sent: 10_000, bounceRate: 0.02, complaintRate: 0.0008 });
  });

  it('pauses above 2 % hard bounces, with a reason that names the rate and the threshold', () => {
    const a = assess([day('2026-03-09', 5_000, 60), day('2026-03-10', 5_000, 141)], NOW);
    expect(a).toMatchObject({ status: 'paused', code: 'bounce-rate', sent: 10_000 });
    expect(a.status === 'paused' && a.reason).toBe('marketing email paused: hard-bounce rate 2.01 % over the last 7 days is above 2.00 %');
  });

  it('pauses above 0.08 % complaints, well before SES reviews at 0.1 %', () => {
    const a = assess([day('2026-03-10', 10_000, 0, 9)], NOW);
    expect(a).toMatchObject({ status: 'paused', code: 'complaint-rate', complaintRate: 0.0009 });
    expect(a.status === 'paused' && a.reason).toContain('0.090 %');
  });

  it('rolls: days older than the window no longer count', () => {
    expect(windowDays(NOW, 7)).toEqual(['2026-03-04', '2026-03-05', '2026-03-06', '2026-03-07', '2026-03-08', '2026-03-09', '2026-03-10']);
    const old = assess([day('2026-03-03', 1000, 500), day('2026-03-10', 1000, 1)], NOW);
    expect(old).toMatchObject({ status: 'open', sent: 1000 });
    expect(assess([day('2026-03-04', 1000, 500), day('2026-03-10', 1000, 1)], NOW).status).toBe('paused');
  });

  it('does not judge fewer sends than minSent', () => {
    expect(assess([day('2026-03-10', 199, 100)], NOW).status).toBe('open');
    expect(assess([day('2026-03-10', 200, 100)], NOW).status).toBe('paused');
    expect(assess([day('2026-03-10', 10, 5)], NOW, { ...DEFAULT_THRESHOLDS, minSent: 10 }).status).toBe('paused');
  });
});

const ses = (detailType: string, extra: Record<string, unknown>, tags: Record<string, string[]> = { decisionId: ['dec-1'], customerId: ['cus-1'] }) =>
  ({
    id: `ev-${detailType}`,
    source: 'aws.ses',
    'detail-type': detailType,
    time: '2026-03-10T12:00:00Z',
    detail: { mail: { timestamp: '2026-03-10T11:59:00.000Z', messageId: 'ses-1', destination: ['a@example.com'], tags }, ...extra },
  }) as unknown as BatonEvent;

describe('feedback', () => {
  it('counts sends, hard bounces and complaints by the day the mail was sent; not soft bounces or opens', () => {
    expect(countsOf(ses('Email Sent', { eventType: 'Send' }))).toEqual({ day: '2026-03-10', sent: 1, bounces: 0, complaints: 0 });
    expect(countsOf(ses('Email Bounced', { bounce: { bounceType: 'Permanent', timestamp: '2026-03-10T12:00:00Z' } }))?.bounces).toBe(1);
    expect(countsOf(ses('Email Bounced', { bounce: { bounceType: 'Transient', timestamp: '2026-03-10T12:00:00Z' } }))).toBeUndefined();
    expect(countsOf(ses('Email Complaint Received', { complaint: { timestamp: '2026-03-10T12:00:00Z' } }))?.complaints).toBe(1);
    expect(countsOf(ses('Email Opened', { open: { timestamp: '2026-03-10T12:00:00Z' } }))).toBeUndefined();
  });

  it('maps SES and device events to the outbox message they are about', () => {
    expect(messageFeedback(ses('Email Clicked', { click: { timestamp: '2026-03-10T12:01:00.000Z', link: 'https://x' } }))).toEqual({
      decisionId: 'dec-1',
      channel: 'email',
      field: 'clickedAt',
      at: '2026-03-10T12:01:00.000Z',
      providerMessageId: 'ses-1',
    });
    expect(messageFeedback(ses('Email Sent', {}, {}))).toBeUndefined(); // not Baton's mail
    const displayed = { id: 'e', source: 'baton.device', 'detail-type': 'MessageDisplayed', time: '', detail: { ids: { deviceId: 'd' }, occurredAt: '2026-03-10T12:02:00.000Z', deviceId: 'd', decisionId: 'dec-2' } } as unknown as BatonEvent;
    expect(messageFeedback(displayed)).toEqual({ decisionId: 'dec-2', channel: 'device', field: 'displayedAt', at: '2026-03-10T12:02:00.000Z' });
  });

  it('runs both effects for one event, and nothing for events that are not feedback', async () => {
    const recorded: MessageFeedback[] = [];
    const added: string[] = [];
    const feedback = createFeedback({ outbox: { recordFeedback: async (f) => void recorded.push(f) }, deliverability: { add: async (id) => void added.push(id) } });
    await feedback(ses('Email Sent', {}));
    await feedback({ id: 'x', source: 'baton.crm', 'detail-type': 'CustomerUpserted', time: '', detail: {} } as unknown as BatonEvent);
    expect(recorded.map((r) => r.field)).toEqual(['sentAt']);
    expect(added).toEqual(['ev-Email Sent']);
  });
});

describe('SMS parts (what the budget is charged)', () => {
  it.each([
    ['a'.repeat(160), 'GSM-7', 1],
    ['a'.repeat(161), 'GSM-7', 2],
    ['a'.repeat(306), 'GSM-7', 2],
    ['a'.repeat(307), 'GSM-7', 3],
    ['€'.repeat(80), 'GSM-7', 1], // extension characters count twice
    ['€'.repeat(81), 'GSM-7', 2],
    ['ü'.repeat(160), 'GSM-7', 1],
    ['ł'.repeat(70), 'UCS-2', 1],
    ['ł'.repeat(71), 'UCS-2', 2],
    ['🙂'.repeat(35), 'UCS-2', 1],
    ['🙂'.repeat(36), 'UCS-2', 2],
  ])('%#: %s.length chars → %s, %i part(s)', (text, encoding, parts) => {
    expect(smsParts(text)).toEqual({ encoding, parts });
  });
});
