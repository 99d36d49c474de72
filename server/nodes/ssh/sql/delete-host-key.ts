import type { Db } from '../../../db/db.js';

export async function deleteHostKey(db: Db, project: string, host: string): Promise<boolean> {
  const r = await db.query({
    name: 'tandem.ssh.deleteHostKey',
    text: 'delete from tandem.ssh_host_keys where project = $1::text and host = $2::text',
    values: [project, host],
  });
  return (r.rowCount ?? 0) > 0;
}
