import type { Db } from '../../db/db.js';
import type { ExecutionMode } from '../states.js';

/** One member's execution mode; false when there is no member of that name. */
export async function setMemberExecutionMode(db: Db, name: string, mode: ExecutionMode): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.cluster.setMemberExecutionMode',
    text: `update tandem_site.members set execution_mode = $2 where name = $1`,
    values: [name, mode],
  });
  return (r.rowCount ?? 0) > 0;
}

/** The whole site's execution mode (every member follows it on its next heartbeat). */
export async function setSiteExecutionMode(db: Db, mode: ExecutionMode, by: string): Promise<void> {
  await db.query({
    name: 'tandem.cluster.setSiteExecutionMode',
    text: `insert into tandem_site.cluster (singleton, execution_mode, updated_by) values (true, $1, $2)
           on conflict (singleton) do update set execution_mode = excluded.execution_mode, updated_by = excluded.updated_by, updated_at = now()`,
    values: [mode, by],
  });
}

export async function getSiteExecutionMode(db: Db): Promise<ExecutionMode> {
  const { rows } = await db.query<{ mode: ExecutionMode }>({
    name: 'tandem.cluster.getSiteExecutionMode',
    text: `select coalesce((select execution_mode from tandem_site.cluster), 'active') as mode`,
  });
  return rows[0]!.mode;
}
