import type { Db } from '../../../db/db.js';
import { HOST_KEY_COLUMNS, type HostKeyRow } from './host-key-row.js';

export async function listHostKeys(db: Db, project: string): Promise<HostKeyRow[]> {
  const { rows } = await db.query<HostKeyRow>({
    name: 'tandem.ssh.listHostKeys',
    text: `select ${HOST_KEY_COLUMNS} from tandem.ssh_host_keys where project = $1::text order by host`,
    values: [project],
  });
  return rows;
}
