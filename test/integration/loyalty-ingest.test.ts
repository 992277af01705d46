// The ledger on the ingest path of the running local stack: a MemberEnrolled and a SaleCompleted
// sent to the bus put points on the member's account, and a refund reverses them in proportion.
import { describe, expect, it } from 'vitest';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { busClient, db, endpoints, eventually, tables, unique } from '../support/local.ts';
import { batonWith, stackEnv } from '../support/cli.ts';
import { programmeFixture } from '../support/loyalty.ts';
import { DynamoLoyaltyItems } from '../../lib/adapters/dynamo/loyalty-items.ts';
import { DynamoLoyaltyLedger } from '../../lib/adapters/dynamo/loyalty.ts';
import { DynamoCustomerRepository } from '../../lib/adapters/dynamo/customers.ts';

async function send(source: string, detailType: string, detail: unknown) {
  const out = await busClient().send(new PutEventsCommand({ Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail), EventBusName: 'baton' }] }));
  expect(out.FailedEntryCount ?? 0).toBe(0);
}

describe('loyalty on the ingest path', () => {
  it('enrols by event, accrues on a sale and reverses on a refund', async () => {
    const client = db();
    const programmeId = unique('city');
    const f = programmeFixture(programmeId);
    const items = new DynamoLoyaltyItems(client, tables().ledger);
    await items.put(f.programme);
    const card = unique('LC');
    const at = new Date().toISOString();
    await send('baton.crm', 'MemberEnrolled', { ids: { loyaltyCard: card }, occurredAt: at, programmeId });
    const customers = new DynamoCustomerRepository(client, tables());
    const customerId = await eventually('the member to be known', async () => [...(await customers.resolve([{ kind: 'loyaltyCard', value: card }])).links.values()][0]);
    const ledger = new DynamoLoyaltyLedger(client, tables().ledger);
    await eventually('the account to open', () => ledger.account(programmeId, customerId));
    const saleId = unique('S');
    await send('baton.pos', 'SaleCompleted', { ids: { loyaltyCard: card }, occurredAt: at, saleId, storeId: 'store-1', items: [{ sku: 'A', category: 'grocery', quantity: 2, unitPrice: 21.5 }], total: 43, currency: 'EUR' });
    const earned = await eventually('points for the sale', async () => ((await ledger.account(programmeId, customerId))?.balance === 43 ? true : undefined));
    expect(earned).toBe(true);
    await send('baton.pos', 'SaleRefunded', { ids: { loyaltyCard: card }, occurredAt: at, saleId, refundId: unique('R'), amount: 21.5, currency: 'EUR' });
    await eventually('half the points reversed', async () => ((await ledger.account(programmeId, customerId))?.balance === 22 ? true : undefined));
    // The statement in the customer view, by the member's card.
    const shown = await batonWith(stackEnv(endpoints()), 'customer', 'show', card, '--stage', 'test');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(new RegExp(`loyalty:\\n  ${programmeId}: you have 22 points`));
    const json = JSON.parse((await batonWith(stackEnv(endpoints()), 'customer', 'show', card, '--stage', 'test', '--json')).stdout);
    expect(json.loyalty).toEqual([expect.objectContaining({ programmeId, balance: 22, currencyName: 'points' })]);

    // Erasure takes the member's ledger with it: account, entries, lots, the expiry run's pointers
    // to them, the programme index. The programme's own items stay.
    const naming = async () =>
      (await client.send(new ScanCommand({ TableName: tables().ledger, ConsistentRead: true }))).Items!.filter((i) => JSON.stringify(i).includes(customerId));
    expect((await naming()).map((i) => String(i.pk).split('#')[0]).sort()).toEqual(expect.arrayContaining(['CUSTOMER', 'DUE', 'MEMBER']));
    await send('baton.crm', 'CustomerErased', { ids: { loyaltyCard: card }, occurredAt: new Date().toISOString(), requestId: unique('DSR') });
    // Tombstones come first in an erasure, the ledger later: wait for the ledger itself.
    await eventually('the member\'s ledger items gone', async () => ((await naming()).length === 0 ? true : undefined));
    expect((await customers.resolve([{ kind: 'loyaltyCard', value: card }])).erased).toBe(true);
    expect(await items.load(programmeId)).toBeDefined();
  });
});
