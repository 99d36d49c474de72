import type { Db } from '../../../server/db/db.js';

export interface CopyRequest {
  key: string;
  executionId: string;
  size: number;
  sha256: string;
  complete: boolean;
  attempts: number;
  mismatches: number;
}

/** Pending copies whose next attempt is due, oldest request first. */
export async function dueCopies(db: Db, limit: number): Promise<CopyRequest[]> {
  const r = await db.query<CopyRequest & { size: string }>({
    name: 'tandem_site.dueCopies',
    text: `select key, execution_id as "executionId", size, sha256, complete, attempts, mismatches
             from tandem_site.log_object_copies
            where state = 'pending' and next_attempt_at <= now()
            order by requested_at, key
            limit $1`,
    values: [limit],
  });
  return r.rows.map((x) => ({ ...x, size: Number(x.size) }));
}
