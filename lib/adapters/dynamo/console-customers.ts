// The console's read of customers: search by any external id (the identity index) or a
// customerId, one profile, and the customer's decisions with their messages. Reads only; the
// keys are DynamoCustomerRepository's and DynamoDecisionHistory's.
import { GetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ID_KINDS, type IdKind } from '../../../events/catalog.ts';
import type { TableNames } from '../../contract/tables.ts';
import type { CustomerDirectory, CustomerRecord, DecisionWithMessages } from '../../app/ports.ts';
import { customerKey, decodeState, DynamoCustomerRepository } from './customers.ts';
import { DynamoDecisionHistory } from './decisions.ts';

export class DynamoConsoleCustomers<S> implements CustomerDirectory<S> {
  private readonly repo: DynamoCustomerRepository<unknown>;
  private readonly history: DynamoDecisionHistory;

  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly names: TableNames,
  ) {
    this.repo = new DynamoCustomerRepository(db, names);
    this.history = new DynamoDecisionHistory(db, names.decisions);
  }

  async search(ref: string): Promise<{ customerId: string; kind: IdKind | 'customerId' }[]> {
    if (ref.startsWith('cus-')) return (await this.load(ref)) ? [{ customerId: ref, kind: 'customerId' }] : [];
    const found = new Map<string, IdKind>();
    // One lookup per kind: the value may be an email, a CRM id, a card number, a device or a licence.
    for (const kind of ID_KINDS) {
      const r = await this.repo.resolve([{ kind, value: ref }]);
      for (const customerId of r.links.values()) if (!found.has(customerId)) found.set(customerId, kind);
    }
    return [...found].map(([customerId, kind]) => ({ customerId, kind })).sort((a, b) => a.customerId.localeCompare(b.customerId));
  }

  async load(customerId: string): Promise<CustomerRecord<S> | undefined> {
    const item = (await this.db.send(new GetCommand({ TableName: this.names.customers, Key: customerKey(customerId), ConsistentRead: true }))).Item;
    if (!item) return undefined;
    const formerIds = Array.isArray(item.formerIds) ? (item.formerIds as string[]) : [];
    return {
      customerId,
      version: item.version as number,
      identities: (item.identities as string[] | undefined) ?? [],
      updatedAt: String(item.updatedAt ?? ''),
      state: decodeState<S>(item.state),
      customerIds: [customerId, ...formerIds],
    };
  }

  async decisions(customerIds: readonly string[], limit: number): Promise<{ total: number; decisions: DecisionWithMessages[] }> {
    const h = await this.history.ofCustomer(customerIds, limit);
    return { total: h.total, decisions: h.decisions.map((d) => ({ decision: d.decision, messages: d.messages as unknown as Record<string, unknown>[] })) };
  }
}
