import type { Db } from '../../db/db.js';

export async function setJournalFields(
  db: Db,
  id: string,
  f: { drainLsn?: string; appliedLsn?: string; appliedCommitTime?: Date | null; newEpoch?: number },
): Promise<void> {
  await db.query({
    name: 'tandem_site.setJournalFields',
    text: `update tandem_site.failover_journal
              set drain_lsn = coalesce($2::pg_lsn, drain_lsn), applied_lsn = coalesce($3::pg_lsn, applied_lsn),
                  applied_commit_time = coalesce($4::timestamptz, applied_commit_time), new_epoch = coalesce($5::bigint, new_epoch)
            where id = $1`,
    values: [id, f.drainLsn ?? null, f.appliedLsn ?? null, f.appliedCommitTime ?? null, f.newEpoch ?? null],
  });
}
