import type { Db } from '../../db/db.js';

export interface InsertSessionRow {
  idHash: string;
  username: string;
  roles: string[];
  groups: string[];
  csrfToken: string;
  clientAddr: string | null;
  absoluteTimeoutMs: number;
}

export async function insertSession(db: Db, row: InsertSessionRow): Promise<void> {
  await db.query({
    name: 'tandem.auth.insertSession',
    text: `insert into tandem.sessions (id_hash, username, roles, groups, csrf_token, client_addr, expires_at)
           values ($1, $2, $3::text[], $4::text[], $5, $6, now() + $7::bigint * interval '1 millisecond')`,
    values: [row.idHash, row.username, row.roles, row.groups, row.csrfToken, row.clientAddr, row.absoluteTimeoutMs],
  });
}
