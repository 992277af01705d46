// Message templates, written in Liquid (liquidjs) by marketers, kept per channel and locale.
import { Liquid } from 'liquidjs';
import { z } from 'zod';
import { CHANNELS, type Channel } from '../../events/catalog.ts';

export const templateSchema = z.object({
  templateId: z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/),
  channel: z.enum(CHANNELS),
  locale: z.string().regex(/^[a-z]{2}(-[A-Z]{2})?$/),
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

// HTML output escapes every value; plain text does not (it is not HTML).
const htmlEngine = new Liquid({ outputEscape: 'escape', strictFilters: true, ownPropertyOnly: true });
const textEngine = new Liquid({ strictFilters: true, ownPropertyOnly: true });

export async function renderTemplate(template: Template, context: Record<string, unknown>): Promise<RenderedMessage> {
  const [subject, html, text] = await Promise.all([
    template.subject === undefined ? undefined : textEngine.parseAndRender(template.subject, context),
    template.html === undefined ? undefined : htmlEngine.parseAndRender(template.html, context),
    textEngine.parseAndRender(template.text, context),
  ]);
  return { ...(subject !== undefined ? { subject: subject.trim() } : {}), ...(html !== undefined ? { html } : {}), text: text.trim() };
}

/** Locales tried for a customer, most specific first: de-DE, de, then the fallback. */
export function localeChain(locale: string | undefined, fallback = 'en'): string[] {
  const chain = locale ? [locale, locale.split('-')[0]!] : [];
  return [...new Set([...chain, fallback])];
}

export const templateKey = (templateId: string, channel: Channel, locale: string) => ({ pk: `TPL#${templateId}`, sk: `${channel}#${locale}` });
