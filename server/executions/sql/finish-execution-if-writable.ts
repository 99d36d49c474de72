import { memberFenceSql, type WriterFence } from '../../cluster/sql/fence.js';
import type { Db } from '../../db/db.js';
import { closableFrom } from '../status.js';
import type { ExecutionStatus } from './executions.js';

/**
 * The end of an execution in one statement: the site's role read `for
 * share` (as `assertWritable(c, 'finish')` reads it, so a failover waits for
 * this transaction), the execution closed if still queued or running, and
 * its log object recorded complete — both only when the role lets running
 * work be recorded (`active` or `draining`). Returns the role found (no row
 * in tandem_site.site: a single active site) and whether the execution was
 * closed here.
 *
 * A read-only transaction fails with SQLSTATE 25006 before the role is
 * read, and a database without tandem_site.site with 42P01: the caller then
 * asks the site guard, which tells these apart.
 */
export async function finishExecutionIfWritable(
  db: Db,
  f: { id: string; status: ExecutionStatus; reason: string | null; log: { store: string; key: string; size: number; sha256: string; complete: boolean }; fence?: WriterFence },
): Promise<{ role: string; activeUrl: string | null; finished: boolean; fenced: boolean }> {
  const { rows } = await db.query<{ role: string; activeUrl: string | null; finished: boolean; fenced: boolean }>({
    name: 'tandem.finishExecutionIfWritable',
    text: `with site as (select role, active_url from tandem_site.site for share),
           gate as (select coalesce((select role from site), 'active') as role, (select active_url from site) as active_url),
           fence as (select ${memberFenceSql('$9', '$10')} as ok),
           e as (
             update tandem.executions set status = $2, status_reason = $3, ended_at = now()
             where id = $1 and status = any($11::text[]) and (select role from gate) in ('active', 'draining') and (select ok from fence)
             returning id),
           l as (
             insert into tandem.log_objects (execution_id, store, key, size, sha256, complete)
             select $1, $4, $5, $6, $7, $8 from gate where gate.role in ('active', 'draining') and (select ok from fence)
             on conflict (execution_id) do update set store = excluded.store, key = excluded.key, size = excluded.size,
               sha256 = excluded.sha256, complete = excluded.complete, updated_at = now())
           select gate.role, gate.active_url as "activeUrl", exists (select 1 from e) as finished,
             not (select ok from fence) as fenced from gate`,
    values: [f.id, f.status, f.reason, f.log.store, f.log.key, f.log.size, f.log.sha256, f.log.complete, f.fence?.member ?? null, f.fence?.generation ?? null, closableFrom(f.status)],
  });
  return rows[0]!;
}
