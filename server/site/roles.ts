/**
 * Site roles and the transitions between them: the one list of roles
 * (sql/040_sites.sql checks the same four) and the one table of changes that
 * setSiteRole (sql/set-site-role.ts) lets through. What each role may do is
 * decided in guard.ts; who changes it, here:
 *
 *   active   → draining   switchover, step drain (nothing new starts)
 *   active   → fenced     site monitor: a peer has a higher epoch
 *   draining → fenced     switchover, step fence; or the site monitor as above
 *   passive  → active     switchover or forced failover, step promote (new epoch)
 *   draining → active    `failover --abort` before the promotion
 *   fenced   → active    `failover --abort` after the fence; a forced failover to it
 *   fenced   → passive   `failover --reverse` (old active follows the new one); `rejoin`
 *   active   → passive   `rejoin` of an old active that never fenced itself (lower epoch)
 *   draining → passive   `rejoin` of an old active left draining
 *   X        → X         re-recording the same role: the site monitor points a
 *                        passive or fenced site at the current active site,
 *                        a re-run rejoin, an abort of a switchover that had not drained
 *
 * Never: passive → draining or fenced (a passive site has nothing to drain or
 * fence; it becomes active only through a promotion), fenced → draining.
 * `tandem site init` creates the row and changes no role.
 */
import { stateMachine } from '../state-machine.js';

export type SiteRole = 'active' | 'draining' | 'passive' | 'fenced';

/** Every role, in the order metrics list them. */
export const SITE_ROLES: readonly SiteRole[] = Object.freeze(['active', 'draining', 'passive', 'fenced'] as const);

export const siteRoles = stateMachine<SiteRole>('site role', SITE_ROLES, {
  active: ['active', 'draining', 'fenced', 'passive'],
  draining: ['draining', 'fenced', 'active', 'passive'],
  passive: ['passive', 'active'],
  fenced: ['fenced', 'active', 'passive'],
});

/** A role as read from tandem_site.site: anything unknown is taken as fenced (never as allowed to write). */
export function knownRole(role: string): SiteRole {
  return (SITE_ROLES as readonly string[]).includes(role) ? (role as SiteRole) : 'fenced';
}
