// What a rule names in other tables must be there for it to work at run time: its template on its
// channel in the fallback locale, and an offer when the template shows one. Shared by
// `baton rules validate|put` (cli/commands/rules.ts) and the console (lib/app/console.ts), so both
// refuse the same rules with the same reasons.
import { Liquid } from 'liquidjs';
import type { Rule } from '../core/rules/rule.ts';
import { localeChain, type Template } from '../core/channels/template.ts';

/** What the table must hold for a rule to work: errors stop a put, warnings are shown. */
export interface RuleReference {
  readonly id: string;
  /** Each names the field and what was expected. */
  readonly errors: string[];
  readonly warnings: string[];
}

/** The template variants of one template id (lib/adapters/dynamo/templates.ts). */
export interface TemplateVariants {
  variants(templateId: string): Promise<Template[]>;
}

/** The locale every template needs: customers whose own locale has no variant get this one. */
const FALLBACK_LOCALE = localeChain(undefined)[0]!;

const liquid = new Liquid();
/** Whether any part of the template outputs `offer`. A template that does not parse shows nothing. */
function showsOffer(t: Template): boolean {
  return [t.subject, t.html, t.text].some((part) => {
    if (part === undefined) return false;
    try {
      return 'offer' in liquid.analyzeSync(liquid.parse(part), { partials: false }).globals;
    } catch {
      return false;
    }
  });
}

/** The problems of each rule with what it names; `where` names the templates table in messages. */
export async function ruleReferences(rules: readonly Rule[], store: TemplateVariants, where: string): Promise<RuleReference[]> {
  const variants = new Map<string, Promise<Template[]>>();
  const refs: RuleReference[] = [];
  for (const rule of rules) {
    const then = rule.then;
    if (then.channel === 'bus') continue;
    const errors: string[] = [];
    const warnings: string[] = [];
    if (!variants.has(then.template)) variants.set(then.template, store.variants(then.template));
    const all = await variants.get(then.template)!;
    const onChannel = all.filter((t) => t.channel === then.channel);
    const list = (ts: Template[]) => ts.map((t) => `${t.channel}/${t.locale}`).sort().join(', ');
    if (all.length === 0) {
      errors.push(`then.template: no template "${then.template}" in ${where}; store it first with baton templates put`);
    } else if (onChannel.length === 0) {
      errors.push(`then.template: "${then.template}" has no ${then.channel} template (it has ${list(all)}), and the rule sends on ${then.channel}`);
    } else if (!onChannel.some((t) => t.locale === FALLBACK_LOCALE)) {
      errors.push(
        `then.template: "${then.template}" has no ${then.channel} template in the fallback locale ${FALLBACK_LOCALE} (it has ${list(onChannel)}); customers in other locales would get no message`,
      );
    } else {
      const shown = onChannel.some(showsOffer);
      if (shown && !then.offer) errors.push(`then.offer: template "${then.template}" (${then.channel}) shows {{ offer }}, so the rule must name an offer`);
      if (!shown && then.offer) warnings.push(`then.offer: template "${then.template}" (${then.channel}) never shows {{ offer }}, so customers will not see the offer`);
    }
    if (errors.length || warnings.length) refs.push({ id: rule.ruleId, errors, warnings });
  }
  return refs;
}
