// `baton loyalty put|statement|settlement|reconcile` against the running local stack's tables.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { db, endpoints, tables, unique } from '../support/local.ts';
import { batonWith, stackEnv } from '../support/cli.ts';
import { programmeFixture, saleEvent } from '../support/loyalty.ts';
import { DynamoLoyaltyItems } from '../../lib/adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../../lib/adapters/dynamo/loyalty.ts';
import { createLoyalty } from '../../lib/app/loyalty.ts';

const work = mkdtempSync(join(tmpdir(), 'baton-loyalty-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const cli = (...args: string[]) => batonWith(stackEnv(endpoints()), ...args, '--stage', 'test');

describe('baton loyalty', () => {
  it('puts the items, refusing an invalid one by field; prints the statement, the settlement and the reconciliation', async () => {
    const programmeId = unique('cli');
    const f = programmeFixture(programmeId);
    const file = join(work, 'programme.json');
    writeFileSync(file, JSON.stringify([...f.items, f.programme, { programmeId, rewardId: 'bad', name: 'Bad', points: 0, stock: 1 }]));
    const put = await cli('loyalty', 'put', file);
    expect(put.code).toBe(1);
    expect(put.stderr).toContain(`wrote programme ${programmeId}`);
    expect(put.stderr).toMatch(/refused: bad: reward: points: /);

    const client = db();
    const ledger = new DynamoLoyaltyLedger(client, tables().ledger);
    const loyalty = createLoyalty({ ledger, programmes: new DynamoLoyaltyItems(client, tables().ledger, { refreshMs: 0 }), clock: () => new Date('2026-12-01T00:00:00Z') });
    const customerId = `cus-${unique('m')}`;
    await loyalty.enrol(programmeId, customerId);
    const sale = (saleId: string, at: string, amount: number, partnerId?: string) => {
      const items = [{ category: 'grocery', quantity: 1, unitPrice: amount }];
      const e = saleEvent({ saleId, at, items, ...(partnerId ? { partnerId } : {}) });
      return loyalty.accrueSale(programmeId, customerId, { saleId, at, total: amount, currency: 'EUR', items, event: e, ...(partnerId ? { partnerId } : {}) });
    };
    await sale('a', '2026-03-10T10:00:00.000Z', 90);
    await sale('b', '2026-11-10T10:00:00.000Z', 60, 'cafe');
    await loyalty.redeem(programmeId, customerId, { txId: 'r1', points: 20, partnerId: 'cafe', at: '2026-11-12T10:00:00.000Z' });

    const statement = await cli('loyalty', 'statement', customerId, '--programme', programmeId);
    expect(statement.code).toBe(0);
    // 90 + 120 (60, doubled by the cafe) − 20 spent from the oldest lot.
    expect(statement.stdout).toContain(`${programmeId}: you have 190 points, 70 expire on 31 March`);

    const csv = await cli('loyalty', 'settlement', '--programme', programmeId, '--partner', 'cafe', '--month', '2026-11', '--csv');
    expect(csv.stdout.trim().split('\n')).toEqual(['programmeId,partnerId,month,funded,redeemed,pointValue,currency,owes', `${programmeId},cafe,2026-11,60,20,0.01,EUR,0.40`]);

    const legacy = join(work, 'legacy.csv');
    writeFileSync(legacy, 'transactionId,customerId,occurredAt,currency,total,lines,partnerId,points\nT1,c1,2026-11-02T10:00:00Z,EUR,10.5,grocery:1:10.50,,11\nT2,c1,2026-11-03T10:00:00Z,EUR,20,grocery:1:20,,20\n');
    const rec = await cli('loyalty', 'reconcile', '--legacy', legacy, '--programme', programmeId);
    expect(rec.code).toBe(0);
    expect(rec.stdout).toContain('2 transactions: 1 agreed, 1 differed, 0 missing; discrepancy rate 50.000 %');
    expect(rec.stdout).toContain('T1: legacy 11, Baton 10 (-1; rules base): rounding: the legacy system rounds half up');
  });
});
