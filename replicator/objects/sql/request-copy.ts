import type { Db } from '../../../server/db/db.js';

/**
 * Asks for a copy of the version of a log object that a replicated record
 * names (insert, or newer version of a pending/done copy); the same version
 * named again makes a pending copy due now. The age of the backlog is kept:
 * a copy still pending keeps its first `requested_at`.
 */
export async function requestCopy(db: Db, r: { key: string; executionId: string; size: number; sha256: string; complete: boolean }): Promise<void> {
  await db.query({
    name: 'tandem_site.requestCopy',
    text: `insert into tandem_site.log_object_copies as c (key, execution_id, size, sha256, complete)
           values ($1, $2, $3, $4, $5)
           on conflict (key) do update
              set execution_id = excluded.execution_id, size = excluded.size, sha256 = excluded.sha256, complete = excluded.complete,
                  state = 'pending', attempts = 0, mismatches = 0, next_attempt_at = now(), last_error = null, updated_at = now(),
                  requested_at = case when c.state = 'pending' then c.requested_at else now() end
            where (c.size, c.sha256, c.complete) is distinct from (excluded.size, excluded.sha256, excluded.complete)
               -- the same version again (its object just landed at the source): try a pending copy now
               or c.state = 'pending'`,
    values: [r.key, r.executionId, r.size, r.sha256, r.complete],
  });
}
