/**
 * Browser sessions. The cookie holds 32 random bytes; the database holds
 * their SHA-256 (in the replicated `tandem` schema, so the same cookie works
 * on a promoted site after a failover). Each session has an idle expiry
 * (pushed forward on use) and an absolute expiry (fixed at login).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Config } from '../config/schema.js';
import type { Identity } from './identity.js';
import type { Db } from './sql/db.js';
import { insertSession } from './sql/insertSession.js';
import { getLiveSession, type SessionRecord } from './sql/getSession.js';
import { touchSession } from './sql/touchSession.js';
import { isHttps } from './http/request.js';

export const SESSION_COOKIE = 'tandem_session';

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

export async function createSession(
  db: Db,
  cfg: Config['auth'],
  identity: Identity,
  clientAddr: string | null,
): Promise<{ cookieValue: string; idHash: string; csrfToken: string }> {
  const cookieValue = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const idHash = hashSessionId(cookieValue);
  await insertSession(db, {
    idHash,
    username: identity.user,
    roles: identity.roles,
    groups: identity.groups,
    csrfToken,
    clientAddr,
    absoluteTimeoutMs: cfg.sessionAbsoluteTimeout,
  });
  return { cookieValue, idHash, csrfToken };
}

/** The live session named by this cookie value. */
export async function findSession(db: Db, cfg: Config['auth'], cookieValue: string): Promise<SessionRecord | undefined> {
  if (cookieValue.length > 100) return undefined;
  return getLiveSession(db, hashSessionId(cookieValue), cfg.sessionIdleTimeout);
}

/**
 * How stale `last_seen_at` may get before a request pushes it forward: at
 * most once a minute (a page's many requests cause one replicated write),
 * and often enough that idle expiry stays accurate for short timeouts.
 */
export function touchGranularityMs(cfg: Config['auth']): number {
  return Math.min(60_000, Math.floor(cfg.sessionIdleTimeout / 10));
}

export function sessionNeedsTouch(s: SessionRecord, cfg: Config['auth']): boolean {
  return Date.now() - s.lastSeenAt.getTime() >= touchGranularityMs(cfg);
}

/** Push the session's idle expiry forward. */
export async function touchLiveSession(db: Db, cfg: Config['auth'], s: SessionRecord): Promise<void> {
  await touchSession(db, s.idHash, touchGranularityMs(cfg));
}

export function csrfMatches(expected: string, given: string | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Set or clear the session cookie. Written by hand rather than with
 * ctx.cookies: `Secure` must follow our own trusted-proxy setting, and Koa's
 * cookie helper refuses Secure cookies unless the app itself trusts proxies.
 */
export function setSessionCookie(ctx: Koa.Context, cfg: Config, value: string | null): void {
  const parts = [
    `${SESSION_COOKIE}=${value ?? ''}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Lax',
    `Max-Age=${value === null ? 0 : Math.floor(cfg.auth.sessionAbsoluteTimeout / 1000)}`,
  ];
  if (isHttps(ctx, cfg.server.trustProxy)) parts.push('Secure');
  ctx.append('Set-Cookie', parts.join('; '));
}
