// `baton customer show <any external id> [--json]`: the resolved profile with its derived fields.
import { BatchGetCommand, GetCommand } from '@aws-sdk/lib-dynamodb';
import { ID_KINDS } from '../../events/catalog.ts';
import { customerView, type CustomerState } from '../../lib/customer/index.ts';
import { idKey } from '../../lib/ingest.ts';
import { customerKey, decodeState } from '../../lib/adapters/dynamo/customers.ts';
import { tables, UsageError, type CliFlags } from '../io.ts';

export const command = {
  name: 'customer',
  usage: 'customer show <id> [--json]       a customer by crmId, loyalty card, licenseId, deviceId, email or customerId',
  async run([sub, ref]: string[], flags: CliFlags): Promise<number> {
    if (sub !== 'show' || !ref) throw new UsageError('usage: baton customer show <any external id> [--json]');
    const { db, names } = tables(flags);
    try {
      let customerId = ref.startsWith('cus-') ? ref : undefined;
      if (!customerId) {
        const keys = ID_KINDS.map((kind) => ({ pk: `ID#${idKey({ kind, value: ref })}`, sk: 'ID' }));
        const out = await db.send(new BatchGetCommand({ RequestItems: { [names.customers]: { Keys: keys } } }));
        const owners = [...new Set((out.Responses?.[names.customers] ?? []).map((i) => i.customerId as string))];
        if (owners.length > 1) throw new UsageError(`"${ref}" is linked to several customers (${owners.join(', ')}); use the customerId`);
        customerId = owners[0];
      }
      const item = customerId
        ? (await db.send(new GetCommand({ TableName: names.customers, Key: customerKey(customerId), ConsistentRead: true }))).Item
        : undefined;
      if (!item) {
        console.error(`no customer for "${ref}" (looked up as ${ID_KINDS.join(', ')} and customerId)`);
        return 1;
      }
      const view = customerView(decodeState<CustomerState>(item.state), new Date());
      const shown = { customerId: item.customerId, version: item.version, identities: item.identities, updatedAt: item.updatedAt, view };
      if (flags.json) {
        console.log(JSON.stringify(shown, null, 2));
        return 0;
      }
      console.log(`customer ${shown.customerId} (version ${shown.version}, updated ${shown.updatedAt})`);
      console.log(`  ids: ${(shown.identities as string[]).join(', ')}`);
      for (const [key, value] of Object.entries(view)) {
        if (value === undefined || (Array.isArray(value) && value.length === 0)) continue;
        console.log(`  ${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
      }
      return 0;
    } finally {
      db.destroy();
    }
  },
};
