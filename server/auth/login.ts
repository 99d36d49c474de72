/**
 * One login attempt: throttle check, password check (a local user of the
 * users file first — the break-glass account —, else LDAP when configured),
 * throttle bookkeeping and the audit row of a failure. Wrong password and
 * unknown user get the same answer. A success is recorded by `recordLogin`
 * in the same transaction as the new session.
 */
import { TandemError } from '../errors.js';
import { recordAudit } from './audit.js';
import type { LoginFailureReason, LoginSource } from '../metrics/auth.js';
import { secondsSince } from '../metrics/registry.js';
import type { Identity, LoginOutcome } from './identity.js';
import type { AuthService } from './service.js';
import { upsertProfile } from './sql/upsertProfile.js';
import type { Db } from './sql/db.js';

export async function checkLogin(svc: AuthService, username: string, password: string, clientAddr: string | null): Promise<Identity> {
  const started = process.hrtime.bigint();
  const measured = (source: LoginSource, outcome: 'success' | LoginFailureReason) => svc.metrics?.login(source, outcome, secondsSince(started));
  const likelySource: LoginSource = svc.local && (svc.local.has(username) || !svc.ldap) ? 'local' : svc.ldap ? 'ldap' : 'none';
  const userKey = username.normalize('NFC').toLowerCase();
  const addrKey = clientAddr ?? 'unknown';
  const wait = Math.max(svc.throttleUser.retryAfterMs(userKey), svc.throttleAddress.retryAfterMs(addrKey));
  const audit = (outcome: 'success' | 'failure', details: Record<string, unknown>, user = username) =>
    recordAudit(svc.pool, { event: 'login', outcome, username: user, clientAddr, details });
  if (wait > 0) {
    measured(likelySource, 'throttled');
    await audit('failure', { reason: 'throttled' });
    const seconds = Math.ceil(wait / 1000);
    throw new TandemError('too_many_requests', `too many failed logins; try again in ${seconds} s`, { details: { retryAfter: seconds } });
  }
  // No real user name has control characters (and PostgreSQL text cannot even store NUL).
  if (username.length > 256 || password.length > 1024 || /[\u0000-\u001f\u007f]/.test(username)) {
    svc.throttleAddress.fail(addrKey);
    measured(likelySource, 'oversized_credentials');
    await audit('failure', { reason: 'oversized credentials' }, username.slice(0, 256));
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
    await audit('failure', { reason: 'directory unavailable' });
    throw e;
  }

  if (!outcome.ok) {
    svc.throttleUser.fail(userKey);
    svc.throttleAddress.fail(addrKey);
    measured(source as LoginSource, outcome.reason);
    await audit('failure', { reason: outcome.reason, source });
    svc.log.info('login failed', { user: username, clientAddr, reason: outcome.reason, source });
    throw new TandemError('unauthorized', 'wrong user name or password');
  }
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
