import type { Db } from '../../db/db.js';

export async function getProfileRoles(db: Db, username: string): Promise<string[] | undefined> {
  const { rows } = await db.query<{ roles: string[] }>({
    name: 'tandem.auth.getProfileRoles',
    text: 'select roles from tandem.user_profiles where username = $1',
    values: [username],
  });
  return rows[0]?.roles;
}
