// Message templates, written in Liquid (liquidjs) by marketers, kept per channel and locale.
// A template is checked when it is written (`baton templates put`): it must parse, and every
// variable it reads must be one the render context can have (the customer view, the offer, the
// decision id and the unsubscribe link), so a typo is caught at write, never at send.
import { Liquid, type Template as LiquidTemplate } from 'liquidjs';
import { z } from 'zod';
import { CHANNELS, locale as localeSchema } from '../../../events/catalog.ts';
import { PROFILE_FIELDS, customerView, newCustomer, type CustomerState } from '../customer/index.ts';
import { itemIdSchema } from '../rules/item.ts';
import { SAMPLE_LOYALTY_VIEW, type LoyaltyTemplateView } from '../loyalty/statement.ts';

export const templateSchema = z.object({
  templateId: itemIdSchema,
  channel: z.enum(CHANNELS),
  locale: localeSchema,
  /** Email only. */
  subject: z.string().min(1).max(200).optional(),
  /** Email only: HTML body; every output is HTML-escaped. */
  html: z.string().max(200_000).optional(),
  /** Plain text: the SMS, push or device message, and the email's text part. */
  text: z.string().min(1).max(20_000),
});
export type Template = z.infer<typeof templateSchema>;

export interface RenderedMessage {
  readonly subject?: string;
  readonly html?: string;
  readonly text: string;
}

/** What a template is rendered with. */
export interface RenderContext {
  readonly customer: Record<string, unknown>;
  readonly offer?: string | undefined;
  readonly decisionId: string;
  readonly unsubscribeUrl?: string | undefined;
  /** Per programme the customer is in (docs/loyalty.md); read only for a template that names `loyalty`. */
  readonly loyalty?: Readonly<Record<string, LoyaltyTemplateView>> | undefined;
}
export const CONTEXT_ROOTS = ['customer', 'offer', 'decisionId', 'unsubscribeUrl', 'loyalty'] as const;

// HTML output escapes every value; plain text does not (it is not HTML).
const htmlEngine = new Liquid({ outputEscape: 'escape', strictFilters: true, ownPropertyOnly: true });
const textEngine = new Liquid({ strictFilters: true, ownPropertyOnly: true });

// Parsed templates are cached by source text: a send renders, it does not parse.
const parsed = new Map<string, LiquidTemplate[]>();
function parse(engine: Liquid, source: string, html: boolean): LiquidTemplate[] {
  const key = `${html ? 'h' : 't'}\u0000${source}`;
  let t = parsed.get(key);
  if (!t) {
    t = engine.parse(source);
    if (parsed.size > 500) parsed.clear();
    parsed.set(key, t);
  }
  return t;
}

export async function renderTemplate(template: Template, context: RenderContext | Record<string, unknown>): Promise<RenderedMessage> {
  const ctx = context as Record<string, unknown>;
  const [subject, html, text] = await Promise.all([
    template.subject === undefined ? undefined : textEngine.render(parse(textEngine, template.subject, false), ctx),
    template.html === undefined ? undefined : htmlEngine.render(parse(htmlEngine, template.html, true), ctx),
    textEngine.render(parse(textEngine, template.text, false), ctx),
  ]);
  return {
    ...(subject !== undefined ? { subject: String(subject).trim() } : {}),
    ...(html !== undefined ? { html: String(html) } : {}),
    text: String(text).trim(),
  };
}

// Whether a template reads a root (`loyalty`), cached by source text like the parsed templates.
const reads = new Map<string, boolean>();
/** True when any part of the template reads `root` (so dispatch reads what it needs only then). */
export function templateReads(template: Template, root: (typeof CONTEXT_ROOTS)[number]): boolean {
  const key = `${root}\u0000${template.subject ?? ''}\u0000${template.html ?? ''}\u0000${template.text}`;
  let found = reads.get(key);
  if (found === undefined) {
    found = [template.subject, template.html, template.text].some((source) => {
      if (source === undefined) return false;
      const analysis = textEngine.analyzeSync(parse(textEngine, source, false), { partials: false });
      return Object.hasOwn(analysis.globals, root);
    });
    if (reads.size > 500) reads.clear();
    reads.set(key, found);
  }
  return found;
}

/** Locales tried for a customer, most specific first: de-DE, de, then the fallback. */
export function localeChain(locale: string | undefined, fallback = 'en'): string[] {
  const chain = locale ? [locale, locale.split('-')[0]!] : [];
  return [...new Set([...chain, fallback])];
}


// ---- checking a template at write -------------------------------------------------------------

/** One problem with a template: which part, where, and what to do. Never holds customer data. */
export interface TemplateIssue {
  readonly code: 'invalid-item' | 'parse-error' | 'unknown-field' | 'missing-part';
  readonly part: 'subject' | 'html' | 'text' | 'item';
  readonly line?: number;
  readonly column?: number;
  /** The field path as written, e.g. `customer.firstNmae`. */
  readonly field?: string;
  readonly message: string;
}

export type TemplateCheck = { ok: true; template: Template } | { ok: false; issues: TemplateIssue[] };

/**
 * The shape of what a template can read. `fields` are the known keys of an object (`'*'` accepts
 * any key, for maps such as `spendByCategory`); `items` is the shape of an array's elements.
 */
export interface Shape {
  readonly fields?: Readonly<Record<string, Shape>>;
  readonly items?: Shape;
  readonly open?: boolean;
  /** Any key (data, such as a programme id), each holding this shape. */
  readonly each?: Shape;
}
const LEAF: Shape = {};

/** Liquid's own properties of arrays and strings. */
const BUILT_IN = new Set(['size', 'first', 'last']);
/** View maps whose keys are data (categories, custom fields), not a fixed schema. */
const OPEN_MAPS = new Set(['spendByCategory', 'custom']);

function shapeOf(value: unknown, key?: string): Shape {
  if (key && OPEN_MAPS.has(key)) return { open: true };
  if (Array.isArray(value)) return { items: value.length ? shapeOf(value[0]) : LEAF };
  if (value !== null && typeof value === 'object') {
    const fields: Record<string, Shape> = {};
    for (const [k, v] of Object.entries(value)) fields[k] = shapeOf(v, k);
    return { fields };
  }
  return LEAF;
}

/**
 * A customer with every optional part present once, so its view shows every field the view can
 * have. Derived from `customerView` itself: a field added to the view is known here at once.
 */
function fullCustomer(): CustomerState {
  const s = newCustomer('cus-shape');
  const at = '2026-01-01T00:00:00.000Z';
  const reg = <T>(v: T) => ({ v, at, ev: 'shape' });
  for (const f of PROFILE_FIELDS) s.profile[f] = reg('x');
  s.profile.tags = reg(['x']);
  s.firstPurchaseAt = at;
  s.sales = [{ id: 's', sale: reg({ total: 100, currency: 'EUR', cat: { x: 100 } }) }];
  s.licences = [{ id: 'l', product: reg('p'), seats: reg(1), startsAt: reg(at), expiresAt: reg('2999-01-01T00:00:00.000Z'), status: reg('active' as const) }];
  s.devices = [{ id: 'd', platform: reg('windows' as const), status: reg('protected' as const), agentVersion: reg('1'), lastSeen: at }];
  for (const c of CHANNELS) s.lastContact[c] = at;
  return s;
}

let viewShape: Shape | undefined;
/** The shape of the render context: the customer view, offer, decisionId and unsubscribeUrl. */
export function contextShape(): Shape {
  viewShape ??= shapeOf(customerView(fullCustomer(), new Date('2026-06-01T00:00:00.000Z')));
  return { fields: { customer: viewShape, offer: LEAF, decisionId: LEAF, unsubscribeUrl: LEAF, loyalty: { each: shapeOf(SAMPLE_LOYALTY_VIEW) } } };
}

/** Follows a path through a shape; returns the first segment that is not known, or undefined. */
function unknownSegment(shape: Shape, segments: readonly (string | number)[]): number | undefined {
  let here: Shape | undefined = shape;
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i]!;
    if (!here) return undefined;
    if (here.open) return undefined;
    if (here.each) {
      if (typeof seg === 'number' || BUILT_IN.has(seg)) return undefined;
      here = here.each;
      continue;
    }
    if (typeof seg === 'string' && BUILT_IN.has(seg)) {
      here = here.items ?? LEAF;
      continue;
    }
    if (here.items) {
      if (typeof seg === 'number') {
        here = here.items;
        continue;
      }
      return i;
    }
    if (typeof seg === 'number') return i;
    const next: Shape | undefined = here.fields && Object.hasOwn(here.fields, seg) ? here.fields[seg] : undefined;
    if (!next) return here.fields ? i : undefined; // a leaf (string, number) has no fields to check
    here = next;
  }
  return undefined;
}

const FOR_TAG = /\{%-?\s*for\s+([A-Za-z_][\w-]*)\s+in\s+([A-Za-z_][\w.-]*)/g;

function checkPart(part: 'subject' | 'html' | 'text', source: string, html: boolean): TemplateIssue[] {
  const engine = html ? htmlEngine : textEngine;
  let tpl: LiquidTemplate[];
  try {
    tpl = engine.parse(source);
  } catch (err) {
    const pos = (err as { token?: { getPosition?: () => [number, number] } }).token?.getPosition?.();
    const raw = (err as Error).message.replace(/, line:\d+, col:\d+.*$/s, '');
    return [
      {
        code: 'parse-error',
        part,
        ...(pos ? { line: pos[0], column: pos[1] } : {}),
        message: `${part}${pos ? ` line ${pos[0]}, column ${pos[1]}` : ''}: ${raw}`,
      },
    ];
  }
  const shape = contextShape();
  // Loop variables take the shape of their collection's elements.
  const loops = new Map<string, Shape>();
  for (const m of source.matchAll(FOR_TAG)) {
    const path = m[2]!.split('.');
    let s: Shape | undefined = shape;
    for (const seg of path) s = s?.fields?.[seg] ?? (s?.open ? { open: true } : undefined);
    loops.set(m[1]!, s?.items ?? { open: true });
  }
  const issues: TemplateIssue[] = [];
  const analysis = engine.analyzeSync(tpl, { partials: false });
  const check = (variables: typeof analysis.globals, scope: 'global' | 'loop') => {
    for (const [root, uses] of Object.entries(variables)) {
      for (const v of uses) {
        const segments = v.segments.filter((s): s is string | number => typeof s !== 'object');
        let at: number | undefined;
        if (scope === 'loop') {
          const element = loops.get(root);
          if (!element) continue;
          const i = unknownSegment(element, segments.slice(1));
          at = i === undefined ? undefined : i + 1;
        } else {
          if (root === 'forloop' || loops.has(root)) continue;
          at = unknownSegment(shape, segments);
        }
        if (at === undefined) continue;
        const field = segments.slice(0, at + 1).join('.');
        const hint =
          at === 0
            ? `not something a template is given; expected one of ${CONTEXT_ROOTS.join(', ')}`
            : root === 'customer' && at === 1
              ? 'not a field of the customer view (docs/channels.md lists them; fields set by rules are under customer.custom.<name>)'
              : `not a field of ${segments.slice(0, at).join('.')}${scope === 'loop' ? ' (an element of the loop\'s collection)' : ''}`;
        issues.push({
          code: 'unknown-field',
          part,
          line: v.location.row,
          column: v.location.col,
          field,
          message: `${part} line ${v.location.row}, column ${v.location.col}: "${field}" is ${hint}`,
        });
      }
    }
  };
  check(analysis.globals, 'global');
  if (loops.size) check(analysis.variables, 'loop');
  return issues;
}

/** Validates a template item: its fields, then each Liquid part (parse, then every variable it reads). */
export function checkTemplate(item: unknown): TemplateCheck {
  const result = templateSchema.safeParse(item);
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.map((i) => ({
        code: 'invalid-item' as const,
        part: 'item' as const,
        message: `${i.path.join('.') || '(item)'}: ${i.message}`,
      })),
    };
  }
  const t = result.data;
  const issues: TemplateIssue[] = [];
  if (t.channel === 'email' && t.subject === undefined) {
    issues.push({ code: 'missing-part', part: 'subject', message: 'subject: an email template needs a subject' });
  }
  if (t.subject !== undefined) issues.push(...checkPart('subject', t.subject, false));
  if (t.html !== undefined) issues.push(...checkPart('html', t.html, true));
  issues.push(...checkPart('text', t.text, false));
  return issues.length ? { ok: false, issues } : { ok: true, template: t };
}
