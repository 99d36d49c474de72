/**
 * `tandem site init`: give a database its site state. An active site starts
 * at epoch 1, a passive one at 0 (its first promotion goes above every epoch
 * it has seen). A passive site's database defaults to read-only transactions.
 * Running it again with the same name and role changes nothing; anything
 * else is refused (roles change only through failover and rejoin).
 */
import { TandemError } from '../errors.js';
import { inReadWriteTransaction, withSite } from './connect.js';
import { guardReplicationTarget } from './sql/guard-replication-target.js';
import { initSite } from './sql/init-site.js';
import { setDatabaseReadOnly } from './sql/set-database-read-only.js';
import { insertSiteEvent } from './sql/site-events.js';
import { SITE_NAME, type SiteRow } from './types.js';

export interface InitSiteInput {
  databaseUrl: string;
  name: string;
  role: 'active' | 'passive';
  /** URL of this site's job server (active) or of the active site (passive), when known. */
  activeSite?: string | null;
  activeUrl?: string | null;
}

export async function initSiteState(i: InitSiteInput): Promise<{ row: SiteRow; created: boolean }> {
  if (!SITE_NAME.test(i.name)) throw new TandemError('usage', `--name "${i.name}": use lower-case letters, digits, - and _ (at most 63)`, { field: 'name' });
  return withSite(i.databaseUrl, async (c) => {
    const has = await c.query<{ ok: boolean }>(`select to_regclass('tandem_site.site') is not null as ok`);
    if (!has.rows[0]!.ok) throw new TandemError('conflict', 'this database has no site tables: run `tandem migrate` first');
    return inReadWriteTransaction(c, async () => {
      const r = await initSite(c, {
        name: i.name,
        role: i.role,
        epoch: i.role === 'active' ? 1 : 0,
        activeSite: i.activeSite ?? (i.role === 'active' ? i.name : null),
        activeUrl: i.activeUrl ?? null,
      });
      if (!r.created) {
        if (r.row.name !== i.name || (r.row.role !== i.role && !(i.role === 'passive' && r.row.role === 'fenced'))) {
          throw new TandemError(
            'conflict',
            `this database is already site "${r.row.name}" (${r.row.role}, epoch ${r.row.epoch}); roles change only through \`tandem failover\` and \`tandem rejoin\``,
          );
        }
        return r;
      }
      await setDatabaseReadOnly(c, i.role !== 'active');
      if (i.role === 'passive') await guardReplicationTarget(c);
      // Replicated: every passive site learns the active site's epoch, so a forced failover goes above it.
      else await insertSiteEvent(c, { kind: 'promoted', site: i.name, epoch: r.row.epoch, details: { by: 'tandem site init' } });
      return r;
    });
  }, { applicationName: 'tandem-site-init' });
}
