/**
 * The edge of the Rundeck API (`/api/N/...`), mounted outside Tandem's error
 * middleware so that it sees every answer, whoever wrote it:
 *
 * - an unsupported N answers 400 `api.error.api-version.unsupported` with the
 *   newest `apiversion` (clients downgrade to it), before anything else;
 * - Rundeck's credentials become Tandem's, so the one authenticate middleware
 *   checks them (same tokens, sessions, throttle, ACL, audit): the
 *   `X-Rundeck-Auth-Token` header or `?authtoken=` become `Authorization:
 *   Bearer`, and the `JSESSIONID` cookie set by `POST /j_security_check`
 *   becomes the session cookie. On these paths the web UI's own session
 *   cookie (SameSite=Lax) is ignored: Rundeck's API changes state on a GET
 *   (`execution/ID/abort`), which a Lax cookie would carry on a cross-site
 *   link. JSESSIONID is SameSite=Strict, so a browser never sends it on a
 *   cross-site request, and requests carrying it need no CSRF token (Rundeck
 *   clients cannot send one);
 * - every error answer (`{error:{code,message}}` from Tandem's one error
 *   exit) is rewritten into Rundeck's `{error: true, errorCode, message,
 *   apiversion}` with Rundeck's status (errors.ts);
 * - a client that accepts only XML gets Rundeck's error shape with 415:
 *   Tandem answers JSON (and YAML exports, plain-text ping) only.
 */
import type Koa from 'koa';
import { authState } from '../auth/principal.js';
import { SESSION_COOKIE } from '../auth/sessions.js';
import { toRundeckError } from './errors.js';
import { MAX_API_VERSION, MIN_API_VERSION, isSupported, pathVersion } from './version.js';

/** Rundeck's session cookie name, which its clients look for after logging in. */
export const RUNDECK_SESSION_COOKIE = 'JSESSIONID';

function unsupportedVersion(ctx: Koa.Context, given: string): void {
  ctx.status = 400;
  ctx.body = {
    error: true,
    apiversion: MAX_API_VERSION,
    errorCode: 'api.error.api-version.unsupported',
    message: `Unsupported API Version "${given}". API Request: ${ctx.path}. Reason: Minimum supported version: ${MIN_API_VERSION}, current version: ${MAX_API_VERSION}`,
  };
}

function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** Rundeck credentials → the headers the authenticate middleware reads. */
function translateCredentials(ctx: Koa.Context): void {
  const headers = ctx.req.headers;
  const cookies = headers.cookie ?? '';
  const session = cookieValue(cookies, RUNDECK_SESSION_COOKIE);
  // Only JSESSIONID authenticates a session here (see the module comment).
  if (session) {
    headers.cookie = `${SESSION_COOKIE}=${session}`;
    authState(ctx).strictSessionCookie = true;
  } else if (cookies) delete headers.cookie;
  if (headers.authorization) return;
  const header = ctx.get('x-rundeck-auth-token');
  const query = typeof ctx.query.authtoken === 'string' ? ctx.query.authtoken : undefined;
  const token = header || query;
  if (token) headers.authorization = `Bearer ${token}`;
}

function onlyXml(ctx: Koa.Context): boolean {
  const accept = ctx.get('accept');
  return /xml/i.test(accept) && !ctx.accepts('application/json', 'text/yaml', 'application/yaml', 'text/plain');
}

export function rundeckEdge(): Koa.Middleware {
  return async (ctx, next) => {
    const version = pathVersion(ctx.path);
    if (version === null) return next();
    if (!isSupported(version)) return unsupportedVersion(ctx, String(version));
    translateCredentials(ctx);
    if (onlyXml(ctx)) {
      ctx.status = 415;
      ctx.body = { error: true, apiversion: version, errorCode: 'api.error.item.unsupported-format', message: 'The format is not valid: Tandem answers application/json only (XML is not supported)' };
      return;
    }
    await next();
    const body = ctx.body as { error?: unknown } | undefined;
    if (ctx.status >= 400 && body && typeof body === 'object' && !Buffer.isBuffer(body) && body.error && typeof body.error === 'object') {
      const r = toRundeckError(ctx.status, body as { error: Record<string, unknown> }, version);
      ctx.body = r.body;
      ctx.status = r.status;
      ctx.remove('WWW-Authenticate');
    }
  };
}
