import type { Db } from '../../sql/db.js';

/**
 * Make new application sessions of this database default to read-only
 * transactions (passive, fenced), or back to read-write (active). Sessions
 * already open keep their setting: the role check in guard.ts covers them.
 * Needs the database owner or a superuser.
 */
export async function setDatabaseReadOnly(db: Db, readOnly: boolean): Promise<void> {
  // ALTER DATABASE takes no parameters; the only variable part is the database's own name, quoted by format(%I).
  const sql = readOnly
    ? `do $$ begin execute format('alter database %I set default_transaction_read_only = on', current_database()); end $$`
    : `do $$ begin execute format('alter database %I reset default_transaction_read_only', current_database()); end $$`;
  await db.query(sql);
}

/** Whether new sessions of this database default to read-only transactions. */
export async function databaseReadOnly(db: Db): Promise<boolean> {
  const { rows } = await db.query<{ on: boolean }>({
    name: 'tandem_site.databaseReadOnly',
    text: `select exists (
             select 1 from pg_db_role_setting s join pg_database d on d.oid = s.setdatabase
              where d.datname = current_database() and s.setrole = 0
                and 'default_transaction_read_only=on' = any(s.setconfig)) as on`,
  });
  return rows[0]!.on;
}
