import type { Db } from '../../db/db.js';

/** Mark a token revoked; false when it does not exist or was already revoked. */
export async function revokeToken(db: Db, id: string, revokedBy: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'tandem.auth.revokeToken',
    text: `update tandem.api_tokens set revoked_at = now(), revoked_by = $2
           where id = $1::uuid and revoked_at is null`,
    values: [id, revokedBy],
  });
  return rowCount === 1;
}
