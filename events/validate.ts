// Turns whatever arrived on the bus into a typed BatonEvent, or a rejection a person can act on.
// Never throws for bad input: hostile events are data, not faults.
import type { z } from 'zod';
import { envelopeSchema, detailSchema, CATALOG, type BatonEvent } from './catalog.ts';

/** EventBridge's own limit for one entry (and one PutEvents request). */
export const MAX_EVENT_BYTES = 256 * 1024;
/** Deeper documents are hostile or broken; no catalog type nests past 6 levels. */
export const MAX_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
// C0 controls other than tab, newline and carriage return have no place in business data and
// break logs, CSV exports and templates downstream.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

/** Why an event was refused; machine-readable, stored with every quarantined event. */
export const REJECTION_CODES = [
  'not-json',
  'too-large',
  'too-deep',
  'forbidden-key',
  'control-character',
  'invalid-envelope',
  'unknown-source',
  'unknown-detail-type',
  'invalid-detail',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

export interface Rejection {
  ok: false;
  code: RejectionCode;
  /** What was wrong, where, and what was expected. Never contains field values (they may be personal data). */
  reason: string;
}
export type ParseResult = { ok: true; event: BatonEvent } | Rejection;

const reject = (code: RejectionCode, reason: string): Rejection => ({ ok: false, code, reason });

/** Validate an event given as a JSON string (as SQS delivers it) or as an already parsed value. */
export function parseEvent(input: string | unknown): ParseResult {
  return typeof input === 'string' ? parseEventText(input).result : validateDocument(input);
}

/**
 * `parseEvent` of a JSON text, and the document it parsed to (absent when it is too large or not
 * JSON), so a caller that reads a rejected body again (for the ids it names) need not parse it twice.
 */
export function parseEventText(input: string): { result: ParseResult; document?: { value: unknown } } {
  const bytes = Buffer.byteLength(input, 'utf8');
  if (bytes > MAX_EVENT_BYTES) return { result: reject('too-large', `event is ${bytes} bytes; the limit is ${MAX_EVENT_BYTES}`) };
  let raw: unknown;
  try {
    raw = JSON.parse(input);
  } catch (err) {
    // Only the position: the parser's message quotes the input, which may be personal data.
    const position = /position (\d+)/.exec((err as Error).message)?.[1];
    return { result: reject('not-json', `body is not JSON${position ? ` (syntax error at character ${position})` : ''}`) };
  }
  return { result: validateDocument(raw), document: { value: raw } };
}

function validateDocument(raw: unknown): ParseResult {
  const shape = inspectShape(raw);
  if (shape) return shape;
  const envelope = envelopeSchema.safeParse(raw);
  if (!envelope.success) return reject('invalid-envelope', describe(envelope.error, ''));
  const { source } = envelope.data;
  const detailType = envelope.data['detail-type'];
  if (!Object.hasOwn(CATALOG, source)) {
    return reject('unknown-source', `source "${printable(source)}" is not in the catalog; expected one of ${Object.keys(CATALOG).join(', ')}`);
  }
  const schema = detailSchema(source, detailType);
  if (!schema) {
    const known = Object.keys((CATALOG as Record<string, object>)[source] ?? {}).join(', ');
    return reject('unknown-detail-type', `detail-type "${printable(detailType)}" is not in the catalog for ${source}; expected one of ${known}`);
  }
  const detail = schema.safeParse(envelope.data.detail);
  if (!detail.success) return reject('invalid-detail', `${source} ${detailType}: ${describe(detail.error, 'detail')}`);
  return { ok: true, event: { ...envelope.data, detail: detail.data } as BatonEvent };
}

/** A place in the document: its value, and how it was reached (the path is only spelled out for a rejection). */
interface Node {
  readonly value: unknown;
  readonly depth: number;
  readonly parent: Node | undefined;
  readonly key: string;
}

function pathOf(node: Node): string {
  const { parent, key } = node;
  if (!parent) return '$';
  return Array.isArray(parent.value) ? `${pathOf(parent)}[${key}]` : `${pathOf(parent)}.${pathSegment(key)}`;
}

/** Walks the document once, without recursion, for structural attacks zod would not flag. */
function inspectShape(root: unknown): Rejection | undefined {
  const stack: Node[] = [{ value: root, depth: 0, parent: undefined, key: '' }];
  while (stack.length) {
    const node = stack.pop()!;
    const { value, depth } = node;
    if (typeof value === 'string') {
      if (CONTROL_CHARS.test(value)) return reject('control-character', `${pathOf(node)} contains a control character`);
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth >= MAX_DEPTH) return reject('too-deep', `document nests deeper than ${MAX_DEPTH} levels at ${pathOf(node)}`);
    for (const key of Object.keys(value)) {
      if (FORBIDDEN_KEYS.has(key)) return reject('forbidden-key', `${pathOf(node)} has the key "${key}", which is never allowed`);
      if (CONTROL_CHARS.test(key)) return reject('control-character', `${pathOf(node)} has a key with a control character`);
      stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, parent: node, key });
    }
  }
  return undefined;
}

function describe(error: z.ZodError, prefix: string): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = [prefix, ...issue.path.map((p) => (typeof p === 'number' ? String(p) : pathSegment(String(p))))].filter(Boolean).join('.') || '(root)';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * A key as it appears in a reason. Keys are the sender's data too (a map keyed by email address),
 * so only short identifier-like keys are shown; anything else is replaced by a placeholder.
 */
function pathSegment(key: string): string {
  return /^[A-Za-z_$][\w$-]{0,63}$/.test(key) ? key : '<key>';
}

/** Source and detail-type names are echoed back, but cut short and stripped of anything odd. */
function printable(value: string): string {
  return value.replace(/[^\w .:/-]/g, '?').slice(0, 64);
}
