// Baton's local bus: speaks EventBridge's PutEvents wire protocol (JSON 1.1 over HTTP), so the
// real @aws-sdk/client-eventbridge publishes to it with only `endpoint` changed. It enforces
// EventBridge's limits, answers per entry, and routes with the same patterns the cloud stack uses.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import { compilePattern } from '../lib/core/event-pattern/index.ts';
import { ROUTES, SES_FORWARDING_PATTERN, BUS_NAME, type Route, type RouteTarget } from '../lib/contract/routes.ts';
import { SOURCES } from '../events/catalog.ts';
import { LOCAL_ACCOUNT, LOCAL_REGION } from './constants.ts';

/** EventBridge's PutEvents limits. */
export const MAX_ENTRIES = 10;
export const MAX_REQUEST_BYTES = 256 * 1024;
/** "PutEvents will only process nested JSON up to 1100 levels deep" (PutEvents API reference). */
export const MAX_DETAIL_DEPTH = 1100;
const TIME_BYTES = 14;

export interface PutEventsEntry {
  Source?: unknown;
  DetailType?: unknown;
  Detail?: unknown;
  EventBusName?: unknown;
  Time?: unknown;
  Resources?: unknown;
  TraceHeader?: unknown;
}
export type PutEventsResultEntry = { EventId: string } | { ErrorCode: string; ErrorMessage: string };

/** An event as EventBridge hands it to targets. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: Record<string, unknown>;
}

export type Deliver = (target: RouteTarget, body: string) => void;
/** Extra HTTP routes served on the bus port (decision API, local inspection). Return true if handled. */
export type HttpExtension = (req: IncomingMessage, res: ServerResponse, body: string) => Promise<boolean>;
/** A route that reads the request body itself, with its own size limit (the decision API, as API Gateway's). */
export type RawHttpExtension = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export interface LocalBusOptions {
  readonly port: number;
  readonly deliver: Deliver;
  readonly routes?: readonly Route[];
  readonly extensions?: HttpExtension[];
  /** Tried before the bus reads the body (and applies its own limit to it). */
  readonly rawExtensions?: RawHttpExtension[];
  /** Keep the last N events for GET /local/events. */
  readonly historySize?: number;
  /** The time of an entry that gives none: the stack's clock. @default real time */
  readonly clock?: () => Date;
  /** Told of every event accepted (the local destination delivery reads bus actions from it). */
  readonly onEvent?: (event: BusEvent) => void;
}

class RequestError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

export class LocalBus {
  readonly history: BusEvent[] = [];
  readonly stats = { accepted: 0, rejected: 0, routed: 0, unrouted: 0 };
  /** Accepted events by origin: source systems, SES feedback (played by the local stack), Baton's own actions. */
  readonly origins = { sourceSystems: 0, sesFeedback: 0, batonActions: 0 };
  private server: Server | undefined;
  private readonly routes: { route: Route; matches: (doc: unknown) => boolean }[];
  private readonly forwardFromDefault = compilePattern(SES_FORWARDING_PATTERN);

  constructor(private readonly opts: LocalBusOptions) {
    this.routes = (opts.routes ?? ROUTES).map((route) => ({ route, matches: compilePattern(route.pattern) }));
  }

  get endpoint(): string {
    const address = this.server?.address();
    const port = address && typeof address === 'object' ? address.port : this.opts.port;
    return `http://127.0.0.1:${port}`;
  }

  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.keepAliveTimeout = 5_000;
    this.server = server;
    await new Promise<void>((ok, fail) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        fail(err.code === 'EADDRINUSE' ? new Error(`port ${this.opts.port} for the local bus is already in use (set BATON_BUS_PORT)`) : err),
      );
      server.listen(this.opts.port, '127.0.0.1', () => ok());
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((ok) => server.close(() => ok()));
  }

  /** PutEvents semantics, callable in-process (the local SES feedback uses it with `aws.ses`). */
  putEvents(entries: PutEventsEntry[], { trusted = false } = {}): { FailedEntryCount: number; Entries: PutEventsResultEntry[] } {
    if (!Array.isArray(entries) || entries.length < 1 || entries.length > MAX_ENTRIES) {
      const count = Array.isArray(entries) ? entries.length : 0;
      throw new RequestError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length ${
          count < 1 ? 'greater than or equal to 1' : `less than or equal to ${MAX_ENTRIES}`
        } (received ${count} entries)`,
      );
    }
    const size = entries.reduce((sum, e) => sum + entrySize(e), 0);
    if (size > MAX_REQUEST_BYTES) {
      throw new RequestError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const busNames = new Set(entries.map((e) => busNameOf(e.EventBusName)));
    for (const name of busNames) {
      if (name !== BUS_NAME && name !== 'default') {
        throw new RequestError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
      }
    }
    const results = entries.map((entry) => this.putOne(entry, trusted));
    const failed = results.filter((r) => 'ErrorCode' in r).length;
    this.stats.rejected += failed;
    this.stats.accepted += results.length - failed;
    return { FailedEntryCount: failed, Entries: results };
  }

  private putOne(entry: PutEventsEntry, trusted: boolean): PutEventsResultEntry {
    for (const field of ['Source', 'DetailType', 'Detail'] as const) {
      if (typeof entry[field] !== 'string' || entry[field] === '') {
        return invalid(field, `${field} is a required argument.`);
      }
    }
    const source = entry.Source as string;
    const detailType = entry.DetailType as string;
    if (source.length > 256) return invalid('Source', 'Source must be at most 256 characters.');
    if (detailType.length > 128) return invalid('DetailType', 'DetailType must be at most 128 characters.');
    if (source.toLowerCase().startsWith('aws.') && !trusted) {
      return { ErrorCode: 'NotAuthorizedForSourceException', ErrorMessage: 'Not authorized for the source.' };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail as string);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    // JSON.parse copes with any depth, but JSON.stringify and every recursive reader downstream
    // (the pattern matcher, the handlers) would overflow the stack: refuse the entry, as EventBridge does.
    if (nestingDepth(entry.Detail as string, MAX_DETAIL_DEPTH) > MAX_DETAIL_DEPTH) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: `Detail is nested more than ${MAX_DETAIL_DEPTH} levels deep.` };
    }
    const resources = entry.Resources ?? [];
    if (!Array.isArray(resources) || resources.some((r) => typeof r !== 'string')) {
      return invalid('Resources', 'Resources must be a list of strings.');
    }
    const time = eventTime(entry.Time, this.opts.clock);
    if (time === undefined) return invalid('Time', 'Time must be a timestamp.');
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': detailType,
      source,
      account: LOCAL_ACCOUNT,
      time,
      region: LOCAL_REGION,
      resources: resources as string[],
      detail: detail as Record<string, unknown>,
    };
    let plan: { body: string; targets: RouteTarget[] };
    try {
      plan = this.plan(event, busNameOf(entry.EventBusName));
    } catch (err) {
      // A fault of the local bus, not of the entry: it fails alone and nothing of it is kept.
      console.error(`local bus: could not route an entry (${(err as Error).name})`);
      return { ErrorCode: 'InternalFailure', ErrorMessage: 'The local bus could not route the entry.' };
    }
    // Only an event that serialised is kept, so GET /local/events can always serve the history.
    this.history.push(event);
    if (this.history.length > (this.opts.historySize ?? 1000)) this.history.shift();
    for (const target of plan.targets) this.opts.deliver(target, plan.body);
    this.opts.onEvent?.(event);
    if (plan.targets.length) this.stats.routed++;
    else this.stats.unrouted++;
    this.origins[source === SOURCES.ses ? 'sesFeedback' : source === SOURCES.baton ? 'batonActions' : 'sourceSystems']++;
    return { EventId: event.id };
  }

  /** The event as targets receive it, and the targets whose patterns match. */
  private plan(event: BusEvent, busName: string): { body: string; targets: RouteTarget[] } {
    const body = JSON.stringify(event);
    // The default bus only forwards SES feedback to `baton`, as the cloud stack's rule does.
    if (busName === 'default' && !this.forwardFromDefault(event)) return { body, targets: [] };
    return { body, targets: this.routes.filter(({ matches }) => matches(event)).map(({ route }) => route.target) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      for (const extension of this.opts.rawExtensions ?? []) {
        if (await extension(req, res)) return;
      }
      const body = await readBody(req, 2 * MAX_REQUEST_BYTES);
      for (const extension of this.opts.extensions ?? []) {
        if (await extension(req, res, body)) return;
      }
      if (req.method === 'GET' && req.url?.split('?')[0] === '/local/events') {
        return sendJson(res, 200, { events: this.history.slice(-100), stats: this.stats });
      }
      const target = req.headers['x-amz-target'];
      if (req.method !== 'POST' || req.url?.split('?')[0] !== '/') {
        // Never the path itself: it can carry an e-mail.
        throw new RequestError('UnknownOperationException', 'no such route; expected POST / (PutEvents), GET /local/events or a /local/ or /v1/ route of the stack', 404);
      }
      if (target !== 'AWSEvents.PutEvents') {
        throw new RequestError('UnknownOperationException', `operation ${String(target)} is not supported by the local bus; only PutEvents is`);
      }
      let request: { Entries?: PutEventsEntry[] };
      try {
        request = JSON.parse(body);
      } catch {
        throw new RequestError('SerializationException', 'request body is not JSON');
      }
      sendJson(res, 200, this.putEvents(request.Entries ?? []), 'application/x-amz-json-1.1');
    } catch (err) {
      if (err instanceof RequestError) {
        res.setHeader('x-amzn-ErrorType', err.type);
        sendJson(res, err.status, { __type: err.type, message: err.message }, 'application/x-amz-json-1.1');
      } else {
        sendJson(res, 500, { __type: 'InternalFailure', message: 'the local bus failed; see its log' });
        // The error's name and where it was thrown, never its message: messages quote values
        // (a JSON.parse error quotes the body), and bodies name customers.
        const where = ((err as Error).stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)).slice(0, 5).join('\n');
        console.error(`local bus: ${req.method} ${routeOf(req.url)} failed (${(err as Error).name})\n${where}`);
      }
    }
  }
}

function invalid(field: string, reason: string): PutEventsResultEntry {
  return { ErrorCode: 'InvalidArgument', ErrorMessage: `Parameter ${field} is not valid. Reason: ${reason}` };
}

/** The first two segments of a path: enough to find the route, too little to name anyone. */
function routeOf(url: string | undefined): string {
  return (url ?? '').split('?')[0]!.split('/').slice(0, 3).join('/').slice(0, 64) || '/';
}

/**
 * How deep objects and arrays nest in a JSON text, counted without recursion; stops counting
 * past `limit`. Brackets inside strings do not count.
 */
export function nestingDepth(json: string, limit = Infinity): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < json.length; i++) {
    const c = json.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > limit) return deepest;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return deepest;
}

function busNameOf(name: unknown): string {
  if (typeof name !== 'string' || name === '') return 'default';
  // Accept the bus ARN as EventBridge does.
  return name.startsWith('arn:') ? (name.split('/').pop() ?? name) : name;
}

/** Entry size as EventBridge counts it toward the 256 KB request limit. */
export function entrySize(entry: PutEventsEntry): number {
  let size = entry.Time !== undefined ? TIME_BYTES : 0;
  for (const v of [entry.Source, entry.DetailType, entry.Detail]) if (typeof v === 'string') size += Buffer.byteLength(v);
  if (Array.isArray(entry.Resources)) for (const r of entry.Resources) if (typeof r === 'string') size += Buffer.byteLength(r);
  return size;
}

function eventTime(time: unknown, clock: () => Date = () => new Date()): string | undefined {
  const date = time === undefined ? clock() : typeof time === 'number' ? new Date(time * 1000) : new Date(String(time));
  if (Number.isNaN(date.getTime())) return undefined;
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function sendJson(res: ServerResponse, status: number, value: unknown, contentType = 'application/json'): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw new RequestError('RequestEntityTooLarge', `request body is over ${limit} bytes`, 413);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
