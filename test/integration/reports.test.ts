// Reports on the local stack: decisions and their feedback written through the real repositories,
// counted by the stack's aggregates consumer of the decisions stream, read by the real `baton report`.
// The mix: 10 treatment and 5 holdout customers over two days, 2 capped decisions, feedback with a
// duplicate, a late open and an unsubscribe through the link, and sales (one twice, one after the window) as conversions.
import { describe, expect, it } from 'vitest';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { decisionItems, DynamoDecisionStore } from '../../lib/adapters/dynamo/decisions.ts';
import { DynamoAggregates } from '../../lib/adapters/dynamo/aggregates.ts';
import { createAggregator, createConversions, createReports } from '../../lib/app/reports.ts';
import { createFeedback } from '../../lib/app/feedback.ts';
import { newcombe } from '../../lib/core/campaigns/uplift.ts';
import type { Decision } from '../../lib/core/decide.ts';
import type { BatonEvent } from '../../events/catalog.ts';
import { baton } from '../support/cli.ts';
import { db, endpoints, eventually, tables, unique } from '../support/local.ts';

const campaignId = unique('report-camp');
const ruleId = `${campaignId}-email`;
const D1 = '2026-11-02';
const D2 = '2026-11-03';
const at = (day: string, hh = '10') => `${day}T${hh}:00:00.000Z`;

function decision(n: number, customerId: string, day: string, outcome: 'chosen' | 'holdout' | 'cap'): Decision {
  const decisionId = `${campaignId}-d${n}`;
  return {
    decisionId,
    customerId,
    eventId: `${decisionId}-e`,
    eventType: 'baton.pos/SaleCompleted',
    at: at(day),
    candidates: [{ ruleId, campaignId, priority: 1, campaignPriority: 1, channel: 'email', outcome, reason: outcome }],
    messages:
      outcome === 'chosen' ? [{ decisionId, customerId, ruleId, campaignId, channel: 'email', template: 'spring', offer: `${campaignId}-offer`, transactional: false }] : [],
    setState: {},
  };
}

const sale = (customerId: string, when: string, total: number) =>
  [{ id: unique('sale'), source: 'baton.pos', 'detail-type': 'SaleCompleted', time: when, detail: { occurredAt: when, total } } as unknown as BatonEvent, { customerId }] as const;

describe('baton report campaign', () => {
  it('prints exactly the counts, rates and uplift of a known mix, and the rebuild gives the same aggregates', async () => {
    const client = db();
    const names = tables();
    const treatment = Array.from({ length: 10 }, (_, i) => `${campaignId}-t${i}`);
    const control = Array.from({ length: 5 }, (_, i) => `${campaignId}-c${i}`);
    const decisions = [
      ...treatment.map((c, i) => decision(i, c, i < 6 ? D1 : D2, 'chosen')),
      ...control.map((c, i) => decision(20 + i, c, i < 3 ? D1 : D2, 'holdout')),
      decision(30, treatment[0]!, D2, 'cap'),
      decision(31, treatment[1]!, D2, 'cap'),
    ];
    // As decide-and-commit writes them, except that the messages are already sent (dispatch's part).
    const items = decisions.flatMap((d) => decisionItems(d, new Date(d.at))).map((i) => (String(i.sk).startsWith('MSG#') ? { ...i, status: 'sent' } : i));
    for (let i = 0; i < items.length; i += 25) {
      await client.send(new BatchWriteCommand({ RequestItems: { [names.decisions]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
    // Feedback through the repository feedback.ts uses: 9 delivered, 1 bounced, 5 opened (one
    // opened twice, one two days late), 2 clicked, 1 complaint.
    const outbox = new DynamoDecisionStore(client, names.decisions);
    const fb = (n: number, field: 'deliveredAt' | 'openedAt' | 'clickedAt' | 'bouncedAt' | 'complainedAt', when: string) =>
      outbox.recordFeedback({ decisionId: `${campaignId}-d${n}`, channel: 'email', field, at: when });
    for (let n = 0; n < 9; n++) await fb(n, 'deliveredAt', at(n < 6 ? D1 : D2, '11'));
    await fb(9, 'bouncedAt', at(D2, '11'));
    for (const n of [0, 1, 2, 6]) await fb(n, 'openedAt', at(n < 6 ? D1 : D2, '12'));
    await fb(0, 'openedAt', at(D1, '13')); // duplicated
    await fb(3, 'openedAt', at('2026-11-04', '09')); // late: counts on D1, the send's day
    await fb(0, 'clickedAt', at(D1, '12'));
    await fb(6, 'clickedAt', at(D2, '12'));
    await fb(1, 'complainedAt', at(D1, '14'));
    // t2 unsubscribes through the link in its message: the ConsentChanged the link publishes, through the feedback use case.
    await createFeedback({ outbox })({
      id: unique('unsub'), source: 'baton.crm', 'detail-type': 'ConsentChanged', time: at(D1, '15'),
      detail: { ids: { crmId: 'any' }, occurredAt: at(D1, '15'), channel: 'email', granted: false, via: 'unsubscribe-link', decisionId: `${campaignId}-d2` },
    } as unknown as BatonEvent);

    const aggregates = new DynamoAggregates(client, names.aggregates);
    const reports = createReports({ aggregates });
    const range = { from: '2026-11-01', to: '2026-11-07', by: 'day' as const };
    // The stream consumer has counted every decision once its exposures are in (15 customers).
    await eventually('the aggregates to count the decisions and feedback', async () => {
      const r = await reports.one('campaign', campaignId, range);
      return (r.total.treatment ?? 0) + (r.total.control ?? 0) === 15 && r.total.opened === 5 && r.total.complained === 1 && r.total.unsubscribed === 1 ? r : undefined;
    });
    // Sales after ingest applied them: 4 treatment customers and 1 control customer within 7 days;
    // t0 buys twice (counted once), t5 after the window (not counted).
    const convert = createConversions({ aggregates });
    for (const [c, when, total] of [
      [treatment[0]!, at('2026-11-04'), 100],
      [treatment[0]!, at('2026-11-05'), 50],
      [treatment[1]!, at('2026-11-03'), 40],
      [treatment[6]!, at('2026-11-05'), 60],
      [treatment[7]!, at('2026-11-09'), 20],
      [treatment[5]!, at('2026-11-20'), 999],
      [control[0]!, at('2026-11-06'), 30],
    ] as const) {
      await convert(...sale(c, when, total));
    }

    const run = await baton('report', 'campaign', campaignId, '--from', '2026-11-01', '--to', '2026-11-07', '--endpoint', endpoints().dynamodb, '--stage', 'test');
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const [lo, hi] = newcombe(4, 10, 1, 5);
    const p = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}`;
    expect(run.stdout.trimEnd().split('\n')).toEqual([
      `campaign ${campaignId}, 2026-11-01 to 2026-11-07, by day`,
      'day         decided  chosen  deferred  sent  delivered  opened  clicked  bounced  complained  unsub  treatment  control  converted  ctl-conv',
      '2026-11-02        9       6         0     6          6       4        1        0           1      1          6        3          2         1',
      '2026-11-03        8       4         0     4          3       1        1        1           0      0          4        2          2         0',
      'total            17      10         0    10          9       5        2        1           1      1         10        5          4         1',
      'rates: delivery 90.0 %, open 55.6 %, click 22.2 %, bounce 10.0 %, complaint 11.1 %, unsubscribe 11.1 %',
      'suppressed: cap 2, holdout 5',
      'treatment 10 customers, 4 converted (40.00 %); control 5 customers, 1 converted (20.00 %)',
      `uplift +20.0 points, 95 % CI [${p(lo)}, ${p(hi)}]; revenue per customer 22.00 vs 6.00`,
    ]);

    // The rebuild recomputes the same cells from the stored decisions, feedback and exposures.
    const before = await reports.one('campaign', campaignId, range);
    const rebuilt = await baton('report', 'rebuild', '--endpoint', endpoints().dynamodb, '--stage', 'test', '--json');
    expect(rebuilt.stderr).toBe('');
    expect(rebuilt.code).toBe(0);
    expect(JSON.parse(rebuilt.stdout).cells).toBeGreaterThan(0);
    expect(await reports.one('campaign', campaignId, range)).toEqual(before);
  }, 300_000);

  it('counts a stream record delivered twice once (the marker), and a repeated exposure once', async () => {
    const client = db();
    const aggregates = new DynamoAggregates(client, tables().aggregates);
    const aggregate = createAggregator({ aggregates });
    const id = unique('replayed');
    const d = decision(1, `${id}-cust`, D1, 'chosen');
    const [decisionItem] = decisionItems({ ...d, decisionId: id, candidates: d.candidates.map((c) => ({ ...c, campaignId: id })) }, new Date(d.at));
    const change = { id: `${id}-record`, kind: 'decision' as const, newItem: decisionItem };
    await aggregate(change);
    await aggregate(change); // the batch was retried
    await aggregate({ ...change, id: `${id}-other-record` }); // the same decision again: its exposure stays one
    const r = await createReports({ aggregates }).one('campaign', id, { from: D1, to: D1, by: 'day' });
    expect(r.total).toMatchObject({ decided: 2, chosen: 2, treatment: 1 });
  }, 120_000);
});
