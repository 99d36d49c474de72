import type { Db } from '../../db/db.js';

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
