import type { Db } from '../../db/db.js';

export interface ProfileRow {
  username: string;
  displayName: string | null;
  email: string | null;
  source: 'ldap' | 'local';
  groups: string[];
  roles: string[];
}

/** Remember what a login told us about the user (insert on first login, refresh afterwards). */
export async function upsertProfile(db: Db, p: ProfileRow): Promise<void> {
  await db.query({
    name: 'tandem.auth.upsertProfile',
    text: `insert into tandem.user_profiles (username, display_name, email, source, groups, roles)
           values ($1, $2, $3, $4, $5::text[], $6::text[])
           on conflict (username) do update set
             display_name = excluded.display_name, email = excluded.email, source = excluded.source,
             groups = excluded.groups, roles = excluded.roles, last_login_at = now()`,
    values: [p.username, p.displayName, p.email, p.source, p.groups, p.roles],
  });
}
