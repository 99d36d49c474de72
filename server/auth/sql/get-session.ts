import type { Db } from '../../db/db.js';

/**
 * Where a session lives: `replicated` (tandem.sessions, opened on the active
 * site, valid on every site) or `site` (tandem_site.local_sessions, opened
 * while this site was not active; only here, and only for reading).
 */
export type SessionStore = 'replicated' | 'site';

export interface SessionRecord {
  idHash: string;
  store: SessionStore;
  username: string;
  roles: string[];
  groups: string[];
  csrfToken: string;
  createdAt: Date;
  lastSeenAt: Date;
  expiresAt: Date;
}

export interface SessionDbRow {
  id_hash: string;
  username: string;
  roles: string[];
  groups: string[];
  csrf_token: string;
  created_at: Date;
  last_seen_at: Date;
  expires_at: Date;
}

export function toSessionRecord(r: SessionDbRow, store: SessionStore): SessionRecord {
  return {
    idHash: r.id_hash,
    store,
    username: r.username,
    roles: r.roles,
    groups: r.groups,
    csrfToken: r.csrf_token,
    createdAt: r.created_at,
    lastSeenAt: r.last_seen_at,
    expiresAt: r.expires_at,
  };
}

/**
 * A live session: not past its absolute expiry and used within the idle
 * timeout. Expired rows are simply not found (and cleaned up later).
 */
export async function getLiveSession(db: Db, idHash: string, idleTimeoutMs: number): Promise<SessionRecord | undefined> {
  const { rows } = await db.query<SessionDbRow>({
    name: 'tandem.auth.getLiveSession',
    text: `select id_hash, username, roles, groups, csrf_token, created_at, last_seen_at, expires_at
           from tandem.sessions
           where id_hash = $1 and expires_at > now()
             and last_seen_at > now() - $2::bigint * interval '1 millisecond'`,
    values: [idHash, idleTimeoutMs],
  });
  return rows[0] ? toSessionRecord(rows[0], 'replicated') : undefined;
}
