import type { Db } from '../../../db/db.js';
import { HOST_KEY_COLUMNS, type HostKeyRow } from './host-key-row.js';

/** Record a first-seen key; when another execution recorded one first, that row is returned unchanged. */
export async function insertHostKey(db: Db, k: Omit<HostKeyRow, 'firstSeenAt'>): Promise<HostKeyRow> {
  const { rows } = await db.query<HostKeyRow>({
    name: 'tandem.ssh.insertHostKey',
    text: `with ins as (
             insert into tandem.ssh_host_keys (project, host, key_type, fingerprint, public_key, node, first_seen_execution)
             values ($1::text, $2::text, $3::text, $4::text, $5::bytea, $6::text, $7::text)
             on conflict (project, host) do nothing
             returning ${HOST_KEY_COLUMNS})
           select * from ins
           union all
           select ${HOST_KEY_COLUMNS} from tandem.ssh_host_keys where project = $1::text and host = $2::text and not exists (select 1 from ins)`,
    values: [k.project, k.host, k.keyType, k.fingerprint, k.publicKey, k.node, k.firstSeenExecution],
  });
  return rows[0]!;
}
