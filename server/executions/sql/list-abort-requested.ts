import type { Db } from '../../db/db.js';

/** Running executions of a member with an abort request (a request made through another member). */
export async function listAbortRequested(db: Db, member: string): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>({
    name: 'tandem.listAbortRequested',
    text: `select id from tandem.executions where member = $1 and status = 'running' and abort_requested_at is not null`,
    values: [member],
  });
  return rows.map((r) => r.id);
}
