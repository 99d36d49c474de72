import type { Db } from '../../db/db.js';

/** `max_slot_wal_keep_size` in bytes; -1 when unlimited (the default). */
export async function maxSlotWalKeepSize(db: Db): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>({
    name: 'tandem_site.metricsMaxSlotWalKeepSize',
    // The setting is in megabytes; -1 means no limit.
    text: `select case when setting::bigint < 0 then -1 else setting::bigint * 1024 * 1024 end::text as bytes
             from pg_catalog.pg_settings where name = 'max_slot_wal_keep_size'`,
  });
  return rows[0] ? Number(rows[0].bytes) : -1;
}
