import type { Db } from '../../db/db.js';

/**
 * Attach tandem_site.refuse_apply_on_active (sql/040_sites.sql) to the
 * replicator's progress table, when that table exists, as an ALWAYS trigger:
 * no replicated change can then commit into this site while it is active.
 * Idempotent. Returns whether the trigger is in place.
 */
export async function guardReplicationTarget(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>({
    name: 'tandem_site.progressTablePresent',
    text: `select to_regclass('tandem_site.replication_progress') is not null as ok`,
  });
  if (!rows[0]?.ok) return false;
  await db.query(`
    do $$ begin
      if not exists (select 1 from pg_trigger where tgname = 'refuse_apply_on_active' and tgrelid = 'tandem_site.replication_progress'::regclass) then
        create trigger refuse_apply_on_active before insert or update on tandem_site.replication_progress
          for each row execute function tandem_site.refuse_apply_on_active();
        alter table tandem_site.replication_progress enable always trigger refuse_apply_on_active;
      end if;
    end $$`);
  return true;
}
