// `baton customer show <any external id> [--json]`: the resolved profile with its derived fields.
import { customerView, type CustomerState } from '../../lib/core/customer/index.ts';
import { decodeState } from '../../lib/adapters/dynamo/customers.ts';
import { tables, UsageError, findCustomerItem, NOT_FOUND_HINT, type CliFlags } from '../io.ts';

export const command = {
  name: 'customer',
  usage: 'customer show <id> [--json]       a customer by crmId, loyalty card, licenseId, deviceId, email or customerId',
  async run([sub, ref]: string[], flags: CliFlags): Promise<number> {
    if (sub !== 'show' || !ref) throw new UsageError('usage: baton customer show <any external id> [--json]');
    const { db, names } = tables(flags);
    try {
      const item = await findCustomerItem(db, names, ref);
      if (!item) {
        console.error(`no customer for "${ref}" (${NOT_FOUND_HINT})`);
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
