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
import { findCustomer, notFound, report, UsageError, withTables, type CliFlags, type Printer } from '../io.ts';

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
  return withTables(flags, async ({ db, names }) => {
    const found = await findCustomer(db, names, ref);
    if (found.status !== 'found') throw new UsageError(notFound(ref, found));
    return decodeState<CustomerState>(found.item.state);
  });
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

export type TemplateAction = 'validate' | 'put' | 'preview';

/** Checks every template of the file first; then stores them, or renders them for a customer (or a sample one). */
export async function runTemplates(sub: TemplateAction, file: string, flags: CliFlags, p: Required<Printer>): Promise<number> {
  const items = readTemplates(file);
  if (items.length === 0) throw new UsageError(`${file} holds no template`);
  const problems: string[] = [];
  const { templates, issues } = validateAll(file, items, (line) => {
    problems.push(line);
    p.err(line);
  });
  if (issues.length) {
    p.err(`${issues.length} problem${issues.length === 1 ? '' : 's'} in ${file}; nothing was ${sub === 'put' ? 'stored' : sub === 'preview' ? 'rendered' : 'accepted'}`);
    if (flags.json) p.out(JSON.stringify({ valid: false, problems, issues }, null, 2));
    return 1;
  }
  const names = templates.map((t) => describe(t, 0));
  if (sub === 'validate') {
    report(flags, p, { valid: true, templates: names }, () => [`${templates.length} template${templates.length === 1 ? '' : 's'} valid: ${names.join(', ')}`]);
    return 0;
  }
  if (sub === 'put') {
    const table = await withTables(flags, async ({ db, names: tables }) => {
      const store = new DynamoTemplateStore(db, tables.templates);
      for (const t of templates) await store.put(t);
      return tables.templates;
    });
    report(flags, p, { stored: names, table }, () => names.map((n) => `stored ${n} in ${table}`));
    return 0;
  }
  const ref = typeof flags.customer === 'string' ? flags.customer : undefined;
  const state = ref ? await customerFor(ref, flags) : sampleCustomer();
  const view = customerView(state, new Date()) as unknown as Record<string, unknown>;
  const rendered = [];
  for (const t of templates) {
    const out = await renderTemplate(t, { customer: view, offer: 'OFFER-CODE', decisionId: 'dec-preview', unsubscribeUrl: 'https://example.com/unsubscribe?t=preview' });
    rendered.push({ template: describe(t, 0), ...out });
  }
  report(flags, p, rendered, (rs) =>
    rs.flatMap((r) => [
      `== ${r.template} for ${ref ?? 'a sample customer'}`,
      ...(r.subject !== undefined ? [`subject: ${r.subject}`] : []),
      `text:\n${r.text}`,
      ...(r.html !== undefined ? [`html:\n${r.html}`] : []),
    ]),
  );
  return 0;
}
