/**
 * How a job server answers requests that came through the load balancer.
 *
 * The load balancer sends traffic to the members whose `/health/active`
 * answers 200, but it learns of a failover only at its next checks: for a
 * second or two it keeps sending requests to the old active site. Writes
 * there are refused by the guard (503 site_passive, nothing written), but a
 * passive site serves reads on purpose, for people and tools that go to it
 * directly, so those reads would be answered 200 from the passive site's
 * replicated data: a user who just wrote on the new active site could read
 * an older state through the same URL.
 *
 * So the load balancer marks every request it forwards with
 * `X-Tandem-Require-Active` (HAProxy `http-request set-header`, nginx
 * `proxy_set_header`; both overwrite what a client sent, so no client can
 * opt out through the load balancer). On a marked request, a member whose
 * site is not active right now (read from its database, not from a cache)
 * answers 503 `site_passive`, reads included, with nothing done; the load
 * balancer retries it on another member (HAProxy `retry-on 503`, nginx
 * `proxy_next_upstream http_503`), so the client gets the active site's
 * answer, or a 503, but never a success from a passive site. Requests
 * without the header (direct access to a member) are served as before.
 *
 * Served on a marked request: an `active` site that its site monitor has
 * confirmed (the same condition as `/health/active`), and a `draining` site
 * (a planned switchover has begun: it is still the newest copy and no other
 * site is active; the guard refuses anything new it is asked to start).
 * Refused: `passive`, `fenced`, and an `active` site that has not yet
 * compared epochs with its peers since it lost its database (it may be an
 * old active site whose successor was promoted by a forced failover).
 *
 * Every answer names its site in `X-Tandem-Site`, and answers to marked
 * requests carry the role the decision was taken on in `X-Tandem-Role`, so
 * that an operator (or a test) can tell which site answered a request sent
 * through the load balancer.
 *
 * The header name is fixed, not configured: the load balancer turns the
 * behaviour on by sending it, and a fixed name cannot differ between the
 * balancer's and the job servers' configuration. Health endpoints are
 * mounted before this middleware and are never refused.
 */
import type Koa from 'koa';
import { TandemError, errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { Db } from '../db/db.js';
import { knownRole, type SiteRole } from './roles.js';
import { getSiteRole, type SiteRoleRow } from './sql/get-site-role.js';

/** Set by the load balancer on every request it forwards (any value; presence counts). */
export const REQUIRE_ACTIVE_HEADER = 'X-Tandem-Require-Active';
/** Name of the site that answered. */
export const SITE_HEADER = 'X-Tandem-Site';
/** Role of the answering site when it decided on a marked request. */
export const ROLE_HEADER = 'X-Tandem-Role';

export interface BalancerGateDeps {
  pool: Db;
  /** This site's name from the configuration (null: a single unnamed site). */
  siteName: string | null;
  /** The site monitor's view (absent: single site, always confirmed). */
  monitor?: { confirmedActive(): boolean; databaseFailed(): void };
  log: Logger;
}

/** Whether a site in this role answers requests forwarded by the load balancer. */
export function servesBalancer(role: SiteRole, confirmedActive: boolean): boolean {
  return (role === 'active' && confirmedActive) || role === 'draining';
}

export function balancerGate(deps: BalancerGateDeps): Koa.Middleware {
  return async (ctx, next) => {
    if (deps.siteName) ctx.set(SITE_HEADER, deps.siteName);
    if (ctx.headers[REQUIRE_ACTIVE_HEADER.toLowerCase()] === undefined) return next();

    let row: SiteRoleRow | null;
    try {
      row = await getSiteRole(deps.pool);
    } catch (e) {
      // Nothing was done: the load balancer may retry elsewhere. Until the
      // monitor's next complete check this site does not claim to be active.
      deps.monitor?.databaseFailed();
      deps.log.warn('cannot read the site role for a request from the load balancer', { error: errorMessage(e) });
      throw new TandemError('unavailable', 'this member cannot reach its database; try again shortly', { details: { retryable: true } });
    }
    const role: SiteRole = row === null ? 'active' : knownRole(row.role);
    ctx.set(ROLE_HEADER, role);
    if (row?.name && !deps.siteName) ctx.set(SITE_HEADER, row.name);
    const confirmed = deps.monitor ? deps.monitor.confirmedActive() : true;
    if (servesBalancer(role, confirmed)) return next();

    const why = role === 'active' ? 'this site has not yet confirmed with its peers that it is still the active one' : `this site is ${role}`;
    const where = row?.activeUrl ? `; the active site is ${row.activeUrl}` : '';
    throw new TandemError('site_passive', `${why}: requests through the load balancer are answered by the active site only${where}`, {
      details: { activeSite: row?.activeUrl ?? null, role },
    });
  };
}
