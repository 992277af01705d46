// Templates: rendering (HTML escaped, text not), locale fallback, and the check at write that
// names the part, line and field of every problem.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkTemplate, contextShape, localeChain, renderTemplate, type Template } from '../../lib/core/channels/template.ts';
import { customerView, newCustomer } from '../../lib/core/customer/index.ts';
import { readTemplates, validateAll } from '../../cli/commands/templates.ts';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const base = { templateId: 'offer', channel: 'email', locale: 'en', subject: 'Hi' } as const;

describe('rendering', () => {
  it('escapes customer values in HTML and leaves plain text as written', async () => {
    const t: Template = { ...base, html: '<p>{{ customer.firstName }}</p>', text: '{{ customer.firstName }}' };
    const out = await renderTemplate(t, { customer: { firstName: '<b>Bo & "Co"</b>' }, decisionId: 'd' });
    expect(out.html).toBe('<p>&lt;b&gt;Bo &amp; &#34;Co&#34;&lt;/b&gt;</p>');
    expect(out.text).toBe('<b>Bo & "Co"</b>');
  });

  it('renders the offer, the decision id and the unsubscribe link', async () => {
    const t: Template = { ...base, subject: '{{ offer }} for you', text: '{{ decisionId }} {{ unsubscribeUrl }}' };
    const out = await renderTemplate(t, { customer: {}, offer: 'RENEW20', decisionId: 'dec-1', unsubscribeUrl: 'https://u.example/x' });
    expect(out).toEqual({ subject: 'RENEW20 for you', text: 'dec-1 https://u.example/x' });
  });

  it('tries the customer locale, then its language, then the fallback', () => {
    expect(localeChain('de-AT')).toEqual(['de-AT', 'de', 'en']);
    expect(localeChain('fr')).toEqual(['fr', 'en']);
    expect(localeChain(undefined, 'de')).toEqual(['de']);
  });
});

describe('checking a template at write', () => {
  it('accepts a template that reads only fields the render context has', () => {
    const t = {
      ...base,
      subject: '{{ customer.firstName | default: "Hello" }}, {{ offer }}',
      html: '{% for l in customer.licences %}{{ l.product }} {{ l.daysLeft }}{% endfor %}{{ customer.devices.size }} {{ customer.consent.email }} {{ customer.custom.renewalStage }} {{ customer.spendByCategory.tools }}<a href="{{ unsubscribeUrl }}">x</a>',
      text: '{% assign n = customer.firstName %}{{ n }} {{ decisionId }} {{ forloop.index }}',
    };
    expect(checkTemplate(t)).toEqual({ ok: true, template: t });
  });

  it('rejects an unknown customer field, naming the part, line, column and field', () => {
    const result = checkTemplate({ ...base, html: '<p>\n  Dear {{ customer.firstNmae }}</p>', text: 'ok' });
    expect(result).toEqual({
      ok: false,
      issues: [
        expect.objectContaining({ code: 'unknown-field', part: 'html', line: 2, column: 11, field: 'customer.firstNmae', message: expect.stringContaining('html line 2, column 11: "customer.firstNmae" is not a field of the customer view') }),
      ],
    });
  });

  it('rejects unknown roots, nested fields and loop-element fields', () => {
    const result = checkTemplate({ ...base, text: '{{ custmer.x }}\n{{ customer.consent.fax }}\n{% for d in customer.devices %}{{ d.colour }}{% endfor %}' });
    expect(result.ok).toBe(false);
    const issues = result.ok ? [] : result.issues;
    expect(issues.map((i) => [i.field, i.line])).toEqual([
      ['custmer', 1],
      ['customer.consent.fax', 2],
      ['d.colour', 3],
    ]);
    expect(issues[0]!.message).toContain('expected one of customer, offer, decisionId, unsubscribeUrl');
  });

  it('rejects a template that does not parse, naming the line', () => {
    const result = checkTemplate({ ...base, text: 'fine\n{% if customer.tier %}\nno end' });
    expect(result.ok).toBe(false);
    const [issue] = result.ok ? [] : result.issues;
    expect(issue).toMatchObject({ code: 'parse-error', part: 'text', line: 2 });
    const filter = checkTemplate({ ...base, text: 'x\n\n {{ offer | shout }}' });
    expect(filter.ok ? [] : filter.issues).toEqual([expect.objectContaining({ code: 'parse-error', line: 3, message: expect.stringContaining('undefined filter: shout') })]);
  });

  it('rejects an item with bad fields, and an email without a subject', () => {
    const bad = checkTemplate({ templateId: 'Bad Id', channel: 'fax', locale: 'en', text: 'x' });
    expect(bad.ok ? [] : bad.issues.map((i) => i.message.split(':')[0])).toEqual(['templateId', 'channel']);
    const noSubject = checkTemplate({ templateId: 'a', channel: 'email', locale: 'en', text: 'x' });
    expect(noSubject.ok ? [] : noSubject.issues.map((i) => i.code)).toEqual(['missing-part']);
  });

  it('knows every field of the customer view (derived from customerView, so new fields are known at once)', () => {
    const view = customerView(newCustomer('cus-1'), new Date());
    const known = Object.keys(contextShape().fields!.customer!.fields!);
    for (const field of Object.keys(view)) expect(known, field).toContain(field);
    for (const field of ['email', 'phone', 'daysToNextLicenseExpiry', 'lastPurchaseAt']) expect(known).toContain(field);
  });

  it('never throws, whatever the template text (fuzz)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        const r = checkTemplate({ templateId: 'f', channel: 'sms', locale: 'en', text: text || 'x' });
        expect(typeof r.ok).toBe('boolean');
      }),
      { numRuns: 300 },
    );
  });
});

describe('baton templates (file reading and validation)', () => {
  it('reads JSON and YAML files and reports each problem with the file and template', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tpl-'));
    writeFileSync(join(dir, 'a.yaml'), 'templateId: a\nchannel: sms\nlocale: en\ntext: "Hi {{ customer.fristName }}"\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify([{ templateId: 'b', channel: 'sms', locale: 'en', text: 'Hi {{ customer.firstName }}' }]));
    const lines: string[] = [];
    const a = validateAll('a.yaml', readTemplates(join(dir, 'a.yaml')), (l) => lines.push(l));
    expect(a.templates).toEqual([]);
    expect(lines).toEqual(['a.yaml: a (sms/en): text line 1, column 7: "customer.fristName" is not a field of the customer view (docs/channels.md lists them; fields set by rules are under customer.custom.<name>)']);
    const b = validateAll('b.json', readTemplates(join(dir, 'b.json')), () => undefined);
    expect(b.templates.map((t) => t.templateId)).toEqual(['b']);
    expect(() => readTemplates(join(dir, 'missing.json'))).toThrow(/cannot read/);
  });
});
