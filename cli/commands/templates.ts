// `baton templates validate|put|preview <template file> [--customer <any external id>]`
// A template file holds one template or a list (JSON or YAML): { templateId, channel, locale,
// subject?, html?, text }. Every template is checked before anything is written: it must parse,
// and every field it reads must be one the render context can have; a problem names the part,
// the line and the field. `preview` renders it for a real customer (or a sample one).
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { customerView, newCustomer, type CustomerState } from '../../lib/core/customer/index.ts';
import { decodeState } from '../../lib/adapters/dynamo/customers.ts';
import { DynamoTemplateStore } from '../../lib/adapters/dynamo/templates.ts';
import { checkTemplate, renderTemplate, type Template, type TemplateIssue } from '../../lib/core/channels/template.ts';
import { tables, UsageError, findCustomerItem, NOT_FOUND_HINT, type CliFlags } from '../io.ts';

const USAGE = 'usage: baton templates validate|put|preview <template file (JSON or YAML)> [--customer <any external id>] [--json]';

export function readTemplates(file: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let value: unknown;
  try {
    value = /\.ya?ml$/i.test(file) ? parseYaml(text) : JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file} is not ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(err as Error).message.split('\n')[0]}`);
  }
  return Array.isArray(value) ? value : [value];
}

/** Checks every template; returns the valid ones and prints each problem. */
export function validateAll(file: string, items: unknown[], print: (line: string) => void): { templates: Template[]; issues: TemplateIssue[] } {
  const templates: Template[] = [];
  const issues: TemplateIssue[] = [];
  items.forEach((item, i) => {
    const check = checkTemplate(item);
    const name = describe(item, i);
    if (check.ok) {
      templates.push(check.template);
      return;
    }
    issues.push(...check.issues);
    for (const issue of check.issues) print(`${file}: ${name}: ${issue.message}`);
  });
  return { templates, issues };
}

function describe(item: unknown, index: number): string {
  const t = item as Partial<Template> | null;
  return t && typeof t === 'object' && t.templateId ? `${t.templateId} (${t.channel ?? '?'}/${t.locale ?? '?'})` : `template ${index + 1}`;
}

async function customerFor(ref: string, flags: CliFlags): Promise<CustomerState> {
  const { db, names } = tables(flags);
  try {
    const item = await findCustomerItem(db, names, ref);
    if (!item) throw new UsageError(`no customer for "${ref}" (${NOT_FOUND_HINT})`);
    return decodeState<CustomerState>(item.state);
  } finally {
    db.destroy();
  }
}

/** A made-up customer for previews without --customer. */
function sampleCustomer(): CustomerState {
  const s = newCustomer('cus-sample');
  const reg = (v: string) => ({ v, at: new Date().toISOString(), ev: 'sample' });
  s.profile.firstName = reg('Alex');
  s.profile.lastName = reg('Sample');
  s.profile.email = reg('alex@example.com');
  s.profile.locale = reg('en');
  s.profile.tier = reg('gold');
  return s;
}

export const command = {
  name: 'templates',
  usage: 'templates validate|put|preview <file> [--customer <id>]   check Liquid templates (fields, lines), store them, or render one',
  options: { customer: { type: 'string' as const } },
  async run([sub, file]: string[], flags: CliFlags): Promise<number> {
    if (!sub || !file || !['validate', 'put', 'preview'].includes(sub)) throw new UsageError(USAGE);
    const items = readTemplates(file);
    if (items.length === 0) throw new UsageError(`${file} holds no template`);
    const { templates, issues } = validateAll(file, items, (line) => console.error(line));
    if (issues.length) {
      console.error(`${issues.length} problem${issues.length === 1 ? '' : 's'} in ${file}; nothing was ${sub === 'put' ? 'stored' : 'rendered'}`);
      return 1;
    }
    if (sub === 'validate') {
      console.log(`${templates.length} template${templates.length === 1 ? '' : 's'} valid: ${templates.map((t) => describe(t, 0)).join(', ')}`);
      return 0;
    }
    if (sub === 'put') {
      const { db, names } = tables(flags);
      try {
        const store = new DynamoTemplateStore(db, names.templates);
        for (const t of templates) {
          await store.put(t);
          console.log(`stored ${describe(t, 0)} in ${names.templates}`);
        }
      } finally {
        db.destroy();
      }
      return 0;
    }
    const ref = typeof flags.customer === 'string' ? flags.customer : undefined;
    const state = ref ? await customerFor(ref, flags) : sampleCustomer();
    const view = customerView(state, new Date()) as unknown as Record<string, unknown>;
    for (const t of templates) {
      const out = await renderTemplate(t, { customer: view, offer: 'OFFER-CODE', decisionId: 'dec-preview', unsubscribeUrl: 'https://example.com/unsubscribe?t=preview' });
      if (flags.json) console.log(JSON.stringify({ template: describe(t, 0), ...out }));
      else {
        console.log(`== ${describe(t, 0)} for ${ref ?? 'a sample customer'}`);
        if (out.subject !== undefined) console.log(`subject: ${out.subject}`);
        console.log(`text:\n${out.text}`);
        if (out.html !== undefined) console.log(`html:\n${out.html}`);
      }
    }
    return 0;
  },
};
