/**
 * One login attempt: throttle check, password check (a local user of the
 * users file first — the break-glass account —, else LDAP when configured),
 * throttle bookkeeping and the audit row of a failure. Wrong password and
 * unknown user get the same answer. A success opens a session (`openSession`):
 * on the active site recorded by `recordLogin` in the same transaction as the
 * new session; on a site that is not active a site-local, read-only session
 * whose audit event goes to the server log.
 */
import { auditToDb, auditToLog, recordAudit, type AuditSink } from './audit.js';
import type { LoginFailureReason, LoginSource } from '../metrics/auth.js';
import { secondsSince } from '../metrics/registry.js';
import type { Identity, LoginOutcome } from './identity.js';
import type { AuthService } from './service.js';
import { upsertProfile } from './sql/upsert-profile.js';
import type { Db } from '../db/db.js';
import { withSiteLocalWrite, withTransaction } from './sql/transaction.js';
import { createSession, type CreatedSession, type SessionPlace } from './sessions.js';
import { assertWritable } from '../site/guard.js';
import { loginPlace } from './site-writes.js';
import { cleanupSessions } from './service.js';
import { isTandemError, TandemError } from '../errors.js';

/** `audit`: where failures are recorded (the replicated table; the server log on a site that is not active). */
export async function checkLogin(
  svc: AuthService,
  username: string,
  password: string,
  clientAddr: string | null,
  audit: AuditSink = auditToDb(svc.pool),
): Promise<Identity> {
  const started = process.hrtime.bigint();
  const measured = (source: LoginSource, outcome: 'success' | LoginFailureReason) => svc.metrics?.login(source, outcome, secondsSince(started));
  const likelySource: LoginSource = svc.local && (svc.local.has(username) || !svc.ldap) ? 'local' : svc.ldap ? 'ldap' : 'none';
  const userKey = username.normalize('NFC').toLowerCase();
  const addrKey = clientAddr ?? 'unknown';
  const pairKey = `${userKey}\u0000${addrKey}`;
  const failed = (details: Record<string, unknown>, user = username) => audit({ event: 'login', outcome: 'failure', username: user, clientAddr, details });
  // Refused: this address, or this user name from this address, failed too often. Never the user name alone: anyone
  // could otherwise lock anyone out by failing on purpose, and the right password from a clean address must work.
  const addrWait = svc.throttleAddress.retryAfterMs(addrKey);
  const pairWait = svc.throttleUserAddress.retryAfterMs(pairKey);
  if (addrWait > 0 || pairWait > 0) {
    measured(likelySource, 'throttled');
    const [throttle, key] = addrWait > 0 ? [svc.throttleAddress, addrKey] : [svc.throttleUserAddress, pairKey];
    const attempts = throttle.refused(key);
    if (attempts > 0) await failed({ reason: 'throttled', attempts, by: addrWait > 0 ? 'address' : 'user and address' });
    const seconds = Math.ceil(Math.max(addrWait, pairWait) / 1000);
    throw new TandemError('too_many_requests', `too many failed logins; try again in ${seconds} s`, { details: { retryAfter: seconds } });
  }
  // A user name failing from many addresses (a distributed guess) is slowed down, not refused.
  if (svc.throttleUser.retryAfterMs(userKey) > 0) await new Promise((r) => setTimeout(r, svc.config.auth.throttle.userSlowDown));
  // No real user name has control characters (and PostgreSQL text cannot even store NUL).
  if (username.length > 256 || password.length > 1024 || /[\u0000-\u001f\u007f]/.test(username)) {
    svc.throttleAddress.fail(addrKey);
    measured(likelySource, 'oversized_credentials');
    await failed({ reason: 'oversized credentials' }, username.slice(0, 256));
    throw new TandemError('unauthorized', 'wrong user name or password');
  }

  let outcome: LoginOutcome;
  let source: string;
  try {
    if (svc.local && (svc.local.has(username) || !svc.ldap)) {
      source = 'local';
      outcome = password === '' ? { ok: false, reason: 'bad_credentials' } : await svc.local.authenticate(username, password);
    } else if (svc.ldap) {
      source = 'ldap';
      outcome = await svc.ldap.authenticate(username, password);
    } else {
      source = 'none';
      outcome = { ok: false, reason: 'unknown_user' };
    }
  } catch (e) {
    // Directory down: not the user's fault, so not counted against them.
    measured(likelySource, 'directory_unavailable');
    await failed({ reason: 'directory unavailable' });
    throw e;
  }

  if (!outcome.ok) {
    svc.throttleUserAddress.fail(pairKey);
    svc.throttleUser.fail(userKey);
    svc.throttleAddress.fail(addrKey);
    measured(source as LoginSource, outcome.reason);
    await failed({ reason: outcome.reason, source });
    svc.log.info('login failed', { user: username, clientAddr, reason: outcome.reason, source });
    throw new TandemError('unauthorized', 'wrong user name or password');
  }
  svc.throttleUserAddress.succeed(pairKey);
  svc.throttleUser.succeed(userKey);
  measured(outcome.identity.source, 'success');
  return outcome.identity;
}

/** The writes of a successful login besides the session: profile and audit row (in the caller's transaction). */
export async function recordLogin(db: Db, svc: AuthService, id: Identity, clientAddr: string | null): Promise<void> {
  await upsertProfile(db, { username: id.user, displayName: id.displayName, email: id.email, source: id.source, groups: id.groups, roles: id.roles });
  await recordAudit(db, { event: 'login', outcome: 'success', username: id.user, clientAddr, details: { source: id.source, roles: id.roles, groups: id.groups } });
  svc.log.info('login', { user: id.user, clientAddr, source: id.source, roles: id.roles });
}

/**
 * The record of a successful login on a site that is not active: its session
 * is site-local, the user's profile (replicated) is left as the active site
 * knows it, and the audit event goes to `audit` (the server log).
 */
export async function recordSiteLogin(svc: AuthService, id: Identity, clientAddr: string | null, audit: AuditSink, siteRole: string): Promise<void> {
  await audit({ event: 'login', outcome: 'success', username: id.user, clientAddr, details: { source: id.source, roles: id.roles, groups: id.groups, session: 'site-local (read-only)' } });
  svc.log.info('login on a site that is not active: read-only session kept on this site', { user: id.user, clientAddr, source: id.source, roles: id.roles, siteRole });
}

/** Where the audit events of a login or logout go, given where its session lives (see audit.ts). */
export function auditFor(svc: AuthService, place: SessionPlace): AuditSink {
  return place.store === 'replicated' ? auditToDb(svc.pool) : auditToLog(svc.log, place.siteRole);
}

/**
 * The session of a successful login, where `place` says (loginPlace). On the
 * active site: session, profile and audit row in one transaction (one
 * commit, never a session without its audit row), the role checked inside it;
 * when the site was demoted since `place` was decided, the login still
 * succeeds with a site-local session. Elsewhere: a site-local session, its
 * audit event in the server log. Returns where the session went.
 */
export async function openSession(
  svc: AuthService,
  identity: Identity,
  clientAddr: string | null,
  place: SessionPlace,
): Promise<CreatedSession & { place: SessionPlace }> {
  if (place.store === 'replicated') {
    try {
      const created = await withTransaction(svc.pool, svc.log, async (tx) => {
        await assertWritable(tx);
        const s = await createSession(tx, svc.config.auth, identity, clientAddr, place);
        await recordLogin(tx, svc, identity, clientAddr);
        return s;
      });
      return { ...created, place };
    } catch (e) {
      if (!isTandemError(e) || e.code !== 'site_passive') throw e;
      const role = e.details?.role;
      place = { store: 'site', siteRole: role === 'draining' || role === 'fenced' ? role : 'passive' };
    }
  }
  const site = place;
  const created = await withSiteLocalWrite(svc.pool, (c) => createSession(c, svc.config.auth, identity, clientAddr, site));
  await recordSiteLogin(svc, identity, clientAddr, auditFor(svc, site), site.siteRole);
  return { ...created, place };
}

/**
 * A whole password login, as the login form and Rundeck's `/j_security_check`
 * do it: where the session goes (the replicated table on the active site, a
 * site-local read-only one elsewhere), the checked login, the session, and
 * the clean-up of expired sessions. Throws the login's TandemError on failure.
 */
export async function passwordLogin(
  svc: AuthService,
  username: string,
  password: string,
  clientAddr: string | null,
): Promise<{ identity: Identity; session: CreatedSession & { place: SessionPlace } }> {
  const place = await loginPlace(svc.pool);
  const identity = await checkLogin(svc, username, password, clientAddr, auditFor(svc, place));
  const session = await openSession(svc, identity, clientAddr, place);
  await cleanupSessions(svc, session.place.store);
  return { identity, session };
}
