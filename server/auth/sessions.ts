/**
 * Browser sessions. The cookie holds 32 random bytes; the database holds
 * their SHA-256 (in the replicated `tandem` schema, so the same cookie works
 * on a promoted site after a failover). Each session has an idle expiry
 * (pushed forward on use) and an absolute expiry (fixed at login).
 *
 * A login on a site that is not active cannot write the replicated table: its
 * session is kept in this site's own `tandem_site.local_sessions` instead
 * (store `site`), valid on this site only and for reading only (the
 * authenticate middleware refuses every change made with it). Lookups try
 * the replicated table first, then the site's own.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type pg from 'pg';
import type { Config } from '../config/schema.js';
import type { Identity } from './identity.js';
import type { Db } from '../db/db.js';
import { insertSession } from './sql/insert-session.js';
import { getLiveSession, type SessionRecord } from './sql/get-session.js';
import { getLiveLocalSession } from './sql/get-local-session.js';
import { insertLocalSession } from './sql/insert-local-session.js';
import { touchSession } from './sql/touch-session.js';
import { touchLocalSession } from './sql/touch-local-session.js';
import { withSiteLocalWrite } from './sql/transaction.js';
import { isHttps } from './http/request.js';

export const SESSION_COOKIE = 'tandem_session';

export function hashSessionId(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** Where a new session is written: the replicated table (active site), or this site's own table with the role it has now. */
export type SessionPlace = { store: 'replicated' } | { store: 'site'; siteRole: 'draining' | 'passive' | 'fenced' };

export interface CreatedSession {
  cookieValue: string;
  idHash: string;
  csrfToken: string;
}

/** A `replicated` session must be written in the caller's read-write transaction on the active site; a `site` one in withSiteLocalWrite. */
export async function createSession(
  db: Db,
  cfg: Config['auth'],
  identity: Identity,
  clientAddr: string | null,
  place: SessionPlace = { store: 'replicated' },
): Promise<CreatedSession> {
  const cookieValue = randomBytes(32).toString('base64url');
  const csrfToken = randomBytes(24).toString('base64url');
  const idHash = hashSessionId(cookieValue);
  const row = {
    idHash,
    username: identity.user,
    roles: identity.roles,
    groups: identity.groups,
    csrfToken,
    clientAddr,
    absoluteTimeoutMs: cfg.sessionAbsoluteTimeout,
  };
  if (place.store === 'replicated') await insertSession(db, row);
  else await insertLocalSession(db, { ...row, siteRole: place.siteRole });
  return { cookieValue, idHash, csrfToken };
}

/** The live session named by this cookie value: in the replicated table, else in this site's own. */
export async function findSession(db: Db, cfg: Config['auth'], cookieValue: string): Promise<SessionRecord | undefined> {
  if (cookieValue.length > 100) return undefined;
  const idHash = hashSessionId(cookieValue);
  return (await getLiveSession(db, idHash, cfg.sessionIdleTimeout)) ?? (await getLiveLocalSession(db, idHash, cfg.sessionIdleTimeout));
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

/**
 * Push the session's idle expiry forward. A replicated session is touched
 * only where the site may write (the caller wraps this in bookkeepingWrite,
 * which passes `db`, the session that checked the role); a site-local one in
 * its own read-write transaction, on any site.
 */
export async function touchLiveSession(pool: pg.Pool, cfg: Config['auth'], s: SessionRecord, db: Db = pool): Promise<void> {
  if (s.store === 'replicated') await touchSession(db, s.idHash, touchGranularityMs(cfg));
  else await withSiteLocalWrite(pool, (c) => touchLocalSession(c, s.idHash, touchGranularityMs(cfg)));
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
