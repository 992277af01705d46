// Uplift with Newcombe's interval (lib/core/campaigns/uplift.ts) and the global control group
// (lib/core/campaigns/control.ts, enforced in decide).
import { describe, expect, it } from 'vitest';
import { newcombe, uplift, wilson } from '../../lib/core/campaigns/uplift.ts';
import { controlBucket, inGlobalControl } from '../../lib/core/campaigns/control.ts';
import { seededRandom } from '../../lib/core/seeded-random.ts';
import { decide } from '../../lib/core/decide.ts';
import { RuleSet } from '../../lib/core/rules/engine.ts';
import { ruleSchema } from '../../lib/core/rules/rule.ts';
import { StaticCampaignBook } from '../../lib/core/campaigns/campaign.ts';
import { policySchema } from '../../lib/core/campaigns/index.ts';

describe('uplift', () => {
  it('matches the published worked examples (Newcombe 1998, method 10; Wilson 1927)', () => {
    // Newcombe, Statistics in Medicine 17:873-890, table II: 56/70 vs 48/80 → (0.0524, 0.3339).
    const [lo, hi] = newcombe(56, 70, 48, 80);
    expect(lo).toBeCloseTo(0.0524, 4);
    expect(hi).toBeCloseTo(0.3339, 4);
    // 9/10 vs 3/10 → (0.1705, 0.8090); 0/10 vs 0/20 → (-0.1611, 0.2775): no collapse at zero.
    expect(newcombe(9, 10, 3, 10).map((v) => Number(v.toFixed(4)))).toEqual([0.1705, 0.809]);
    expect(newcombe(0, 10, 0, 20).map((v) => Number(v.toFixed(4)))).toEqual([-0.1611, 0.2775]);
    expect(wilson(81, 263).map((v) => Number(v.toFixed(4)))).toEqual([0.2553, 0.3662]);
  });

  it('works a campaign report by hand', () => {
    // 1,000 treated, 50 converted, 6,000 revenue; 200 in control, 6 converted, 600 revenue.
    const u = uplift({ customers: 1000, conversions: 50, revenue: 6000 }, { customers: 200, conversions: 6, revenue: 600 });
    expect(u.treatment.rate).toBe(0.05);
    expect(u.control.rate).toBe(0.03);
    expect(u.uplift).toBeCloseTo(0.02, 12);
    expect(u.relativeUplift).toBeCloseTo(2 / 3, 12);
    expect(u.treatment.revenuePerCustomer).toBe(6);
    expect(u.control.revenuePerCustomer).toBe(3);
    expect(u.revenueUpliftPerCustomer).toBe(3);
    // By hand: Wilson(50/1000) = (0.03813, 0.06531), Wilson(6/200) = (0.01382, 0.06393);
    // lower = 0.02 - sqrt((0.05-0.03813)^2 + (0.06393-0.03)^2) = 0.02 - 0.03595 = -0.01595
    // upper = 0.02 + sqrt((0.06531-0.05)^2 + (0.03-0.01382)^2) = 0.02 + 0.02228 = 0.04228
    expect(u.interval![0]).toBeCloseTo(-0.01595, 4);
    expect(u.interval![1]).toBeCloseTo(0.04228, 4);
  });

  it('says when there is nothing to compare, and refuses impossible counts naming the field', () => {
    expect(uplift({ customers: 10, conversions: 1 }, { customers: 0, conversions: 0 }).interval).toBeUndefined();
    expect(() => uplift({ customers: 10, conversions: 11 }, { customers: 5, conversions: 0 })).toThrow(/treatment\.conversions/);
    expect(() => uplift({ customers: 10, conversions: 1 }, { customers: -1, conversions: 0 })).toThrow(/control\.customers/);
  });

  it('covers a known true effect in about 95 % of 400 seeded runs', () => {
    // Control converts at 4 %, treatment at 6 %: the true uplift is 0.02. A 10 % control group of 5,000 customers.
    const random = seededRandom(20260301);
    const truth = 0.02;
    let covered = 0;
    const runs = 400;
    for (let run = 0; run < runs; run++) {
      let t = 0;
      let c = 0;
      let nt = 0;
      let nc = 0;
      for (let i = 0; i < 5000; i++) {
        if (random() < 0.1) {
          nc++;
          if (random() < 0.04) c++;
        } else {
          nt++;
          if (random() < 0.06) t++;
        }
      }
      const [lo, hi] = uplift({ customers: nt, conversions: t }, { customers: nc, conversions: c }).interval!;
      if (lo <= truth && truth <= hi) covered++;
    }
    const coverage = covered / runs;
    expect(coverage).toBeGreaterThanOrEqual(0.92);
    expect(coverage).toBeLessThanOrEqual(0.98);
  });
});

describe('the global control group', () => {
  const control = { share: 0.1, salt: 'programme-2026' };

  it('is deterministic, about its share, and redrawn by a new salt', () => {
    const ids = Array.from({ length: 20_000 }, (_, i) => `cus-${i}`);
    const members = ids.filter((id) => inGlobalControl(id, control));
    expect(members.length / ids.length).toBeGreaterThan(0.09);
    expect(members.length / ids.length).toBeLessThan(0.11);
    expect(ids.filter((id) => inGlobalControl(id, control))).toEqual(members);
    const redrawn = ids.filter((id) => inGlobalControl(id, { ...control, salt: 'programme-2027' }));
    const overlap = redrawn.filter((id) => members.includes(id)).length;
    expect(overlap / members.length).toBeLessThan(0.2); // independent draws overlap by about the share
    expect(inGlobalControl('cus-1', undefined)).toBe(false);
    expect(inGlobalControl('cus-1', { share: 0, salt: 's' })).toBe(false);
  });

  it('keeps marketing messages from its members with the reason global-control; transactional ones still go', () => {
    const member = Array.from({ length: 1000 }, (_, i) => `cus-${i}`).find((id) => controlBucket(id, control.salt) < control.share)!;
    const outsider = Array.from({ length: 1000 }, (_, i) => `cus-${i}`).find((id) => controlBucket(id, control.salt) >= control.share)!;
    const when = { source: ['baton.pos'], 'detail-type': ['SaleCompleted'] };
    const rules = new RuleSet([
      ruleSchema.parse({ ruleId: 'offer', campaignId: 'promo', enabled: true, priority: 20, when, then: { channel: 'email', template: 'offer' } }),
      ruleSchema.parse({ ruleId: 'receipt', campaignId: 'service', enabled: true, priority: 10, when, then: { channel: 'email', template: 'receipt', transactional: true } }),
      ruleSchema.parse({ ruleId: 'crm', campaignId: 'service', enabled: true, priority: 10, when, then: { channel: 'bus', action: 'note-sale' } }),
    ]);
    const campaigns = new StaticCampaignBook([], [policySchema.parse({ policyId: 'default', globalControl: control })]);
    const consent = { email: true, sms: true, push: true, device: true };
    const run = (customerId: string) =>
      decide({ event: { id: 'ev-1', source: 'baton.pos', 'detail-type': 'SaleCompleted' }, customer: { customerId, consent }, rules, campaigns, now: new Date('2026-03-10T12:00:00Z') })!;

    const inside = run(member);
    expect(Object.fromEntries(inside.candidates.map((c) => [c.ruleId, c.outcome]))).toEqual({ offer: 'global-control', receipt: 'chosen', crm: 'chosen' });
    expect(inside.messages.map((m) => m.ruleId).sort()).toEqual(['crm', 'receipt']);
    expect(inside.candidates.find((c) => c.ruleId === 'offer')!.reason).toContain('global control group');

    const outside = run(outsider);
    expect(Object.fromEntries(outside.candidates.map((c) => [c.ruleId, c.outcome]))).toEqual({ offer: 'chosen', receipt: 'lower-priority', crm: 'chosen' });
  });
});
