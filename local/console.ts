// The console on the laptop (docs/console.md): the page and its bundle at /console, the API at
// /console/api through the same Lambda handler the cloud runs, on the bus port. The bundle is
// built by esbuild on the first request for it (a stack that nobody opens the console on, like
// the test suite's, never pays for the build). LOCAL ONLY: there is no Cognito here, so the
// caller picks one of four demo users and the request names it in `x-baton-local-user`; this
// turns it into the claims API Gateway's Cognito authorizer passes, and the handler reads those.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { APIGatewayProxyResult } from 'aws-lambda';
import { CONSOLE_API_BASE, TENANT_CLAIM } from '../lib/contract/console.ts';
import type { consoleApiHandler, ConsoleEvent } from '../functions/console-api.ts';
import type { RawHttpExtension } from './bus.ts';
import { localContext } from './lambda-context.ts';

const CONSOLE_DIR = join(import.meta.dirname, '..', 'console');

/** The four demo users of the local sign-in stand-in, one per group. */
export const LOCAL_USERS = {
  viewer: 'vic.viewer',
  marketer: 'mia.marketer',
  approver: 'ada.approver',
  admin: 'sam.admin',
} as const;
export type LocalUser = keyof typeof LOCAL_USERS;

/** The header the local page sends instead of a Cognito token. */
export const LOCAL_USER_HEADER = 'x-baton-local-user';

/** Claims as API Gateway's Cognito user-pool authorizer passes them (REST API). */
export const localClaims = (user: LocalUser, tenant: string) => ({ 'cognito:username': LOCAL_USERS[user], 'cognito:groups': user, [TENANT_CLAIM]: tenant, token_use: 'id' });

let bundle: Promise<string> | undefined;
/** console/main.js and what it imports (preact, htm, chart.js), bundled once, in memory. */
function consoleBundle(): Promise<string> {
  bundle ??= import('esbuild')
    .then((esbuild) =>
      esbuild.build({ entryPoints: [join(CONSOLE_DIR, 'main.js')], bundle: true, format: 'esm', write: false, minify: true, target: 'es2022', logLevel: 'silent' }),
    )
    .then((out) => out.outputFiles[0]!.text)
    .catch((err) => {
      bundle = undefined; // the next request tries again (after a fix to the source)
      throw err;
    });
  return bundle;
}

export function localConsole(handler: ReturnType<typeof consoleApiHandler>, tenant: string): RawHttpExtension {
  const invoke = handler as unknown as (e: ConsoleEvent, c: unknown) => Promise<APIGatewayProxyResult>;
  return async (req, res) => {
    const [path = '', query = ''] = (req.url ?? '').split('?');
    if (path === '/console' || path === '/console/' || path === '/console/index.html') {
      const html = readFileSync(join(CONSOLE_DIR, 'index.html'), 'utf8');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(html);
      return true;
    }
    if (path === '/console/main.js') {
      try {
        const js = await consoleBundle();
        res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-store' });
        res.end(js);
      } catch (err) {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(`console bundle failed: ${(err as Error).message}`);
      }
      return true;
    }
    if (path === '/console/style.css') {
      res.writeHead(200, { 'content-type': 'text/css; charset=utf-8', 'cache-control': 'no-store' });
      res.end(readFileSync(join(CONSOLE_DIR, 'style.css'), 'utf8'));
      return true;
    }
    if (!path.startsWith(`${CONSOLE_API_BASE}/`)) return false;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]));
    const user = headers[LOCAL_USER_HEADER] as LocalUser | undefined;
    const signedIn = user !== undefined && Object.hasOwn(LOCAL_USERS, user);
    const event: ConsoleEvent = {
      httpMethod: req.method ?? 'GET',
      path,
      headers,
      body: body || null,
      queryStringParameters: query ? Object.fromEntries(new URLSearchParams(query)) : null,
      // No user: no claims, as API Gateway passes nothing without a valid token (the handler answers 401).
      requestContext: signedIn ? { authorizer: { claims: localClaims(user, tenant) } } : {},
    };
    const out = await invoke(event, localContext('console-api'));
    res.writeHead(out.statusCode, { ...(out.headers as Record<string, string>), 'content-length': Buffer.byteLength(out.body) });
    res.end(out.body);
    return true;
  };
}
