/**
 * Everything authentication needs at run time, built once per set of
 * dependencies: the ACL policies, the login throttles and the user sources.
 * `authenticate(deps)` and `authRoutes(deps)` are given the same `deps`
 * object by the app and so share one service (the memo below is keyed by
 * that object, which keeps no global state of its own).
 */
import type pg from 'pg';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { LoginMetrics } from '../metrics/auth.js';
import { loadPolicies } from './acl/load.js';
import type { PolicySet } from './acl/evaluate.js';
import { LdapAuthenticator } from './ldap/ldap-authenticator.js';
import { LocalAuthenticator } from './local/local-authenticator.js';
import { Throttle } from './throttle.js';
import { deleteExpiredSessions } from './sql/delete-expired-sessions.js';
import { deleteExpiredLocalSessions } from './sql/delete-expired-local-sessions.js';
import { withSiteLocalWrite } from './sql/transaction.js';
import type { SessionStore } from './sql/get-session.js';

export interface AuthDeps {
  pool: pg.Pool;
  config: Config;
  log: Logger;
  /** Policies to use instead of loading `auth.aclDir` (tests, benchmarks). */
  policies?: PolicySet;
  /** Login latency and failures (`tandem_login_*`). */
  metrics?: LoginMetrics;
}

export interface AuthService {
  pool: pg.Pool;
  config: Config;
  log: Logger;
  policies: PolicySet;
  /** Failures of one user name from one address: that pair is refused for a while (429). */
  throttleUserAddress: Throttle;
  /** Failures from one address, any user name: that address is refused for a while (429). */
  throttleAddress: Throttle;
  /** Failures of one user name from anywhere: far higher limit, and only slows attempts down (never refuses). */
  throttleUser: Throttle;
  local?: LocalAuthenticator;
  ldap?: LdapAuthenticator;
  metrics?: LoginMetrics;
  /** When expired sessions were last deleted (ms since epoch); see cleanupSessions. */
  sessionsCleanedAt: number;
}

const services = new WeakMap<AuthDeps, AuthService>();

export function authService(deps: AuthDeps): AuthService {
  let svc = services.get(deps);
  if (!svc) {
    svc = createAuthService(deps);
    services.set(deps, svc);
  }
  return svc;
}

function createAuthService(deps: AuthDeps): AuthService {
  const a = deps.config.auth;
  const log = deps.log.child({ component: 'auth' });
  const throttle = (maxFailures: number) =>
    new Throttle({ maxFailures, windowMs: a.throttle.window, baseBlockMs: a.throttle.baseDelay, maxBlockMs: a.throttle.maxDelay });
  const ldap = a.ldap.urls && a.ldap.urls.length ? new LdapAuthenticator(a.ldap, log) : undefined;
  const local = a.usersFile ? new LocalAuthenticator(a.usersFile) : undefined;
  const policies = deps.policies ?? loadPolicies(a.aclDir);
  log.info('authentication ready', {
    ldap: ldap ? a.ldap.urls : null,
    usersFile: a.usersFile ?? null,
    policies: a.aclDir ?? 'embedded default',
    policyCount: policies.policies.length,
  });
  return { pool: deps.pool, config: deps.config, log, policies, throttleUserAddress: throttle(a.throttle.maxFailuresPerUserAddress), throttleAddress: throttle(a.throttle.maxFailuresPerAddress), throttleUser: throttle(a.throttle.maxFailuresPerUser), local, ldap, metrics: deps.metrics, sessionsCleanedAt: 0 };
}

/**
 * Delete expired sessions, at most once a minute per member, on the login
 * path (no timer to stop): keeps the tables small without a scan per login.
 * `store` is where the login just wrote: the replicated table is cleaned only
 * on the active site (`replicated`); this site's own table everywhere.
 */
export async function cleanupSessions(svc: AuthService, store: SessionStore = 'replicated'): Promise<void> {
  const now = Date.now();
  if (now - svc.sessionsCleanedAt < 60_000) return;
  svc.sessionsCleanedAt = now;
  const idle = svc.config.auth.sessionIdleTimeout;
  const replicated = store === 'replicated' ? await deleteExpiredSessions(svc.pool, idle) : 0;
  const local = await withSiteLocalWrite(svc.pool, (c) => deleteExpiredLocalSessions(c, idle));
  if (replicated || local) svc.log.debug('expired sessions deleted', { count: replicated, siteLocal: local });
}
