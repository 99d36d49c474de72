import type { Db } from '../../../db/db.js';
import { HOST_KEY_COLUMNS, type HostKeyRow } from './host-key-row.js';

export async function getHostKey(db: Db, project: string, host: string): Promise<HostKeyRow | undefined> {
  const { rows } = await db.query<HostKeyRow>({
    name: 'tandem.ssh.getHostKey',
    text: `select ${HOST_KEY_COLUMNS} from tandem.ssh_host_keys where project = $1::text and host = $2::text`,
    values: [project, host],
  });
  return rows[0];
}
