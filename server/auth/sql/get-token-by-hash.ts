import type { Db } from '../../db/db.js';
import { toTokenRecord, type TokenDbRow, type TokenRecord } from './token-row.js';

export interface TokenWithOwner {
  token: TokenRecord;
  /** The owner's roles at their last login (null when the owner never logged in). */
  ownerRoles: string[] | null;
  ownerGroups: string[] | null;
}

/** The token with this SHA-256, whatever its state (the caller checks expiry and revocation), with what we know of its owner. */
export async function getTokenByHash(db: Db, tokenHash: string): Promise<TokenWithOwner | undefined> {
  const { rows } = await db.query<TokenDbRow & { owner_roles: string[] | null; owner_groups: string[] | null }>({
    name: 'tandem.auth.getTokenByHash',
    text: `select t.id, t.username, t.roles, t.description, t.created_by, t.created_at, t.expires_at, t.revoked_at, t.revoked_by, t.last_used_at,
                  p.roles as owner_roles, p.groups as owner_groups
           from tandem.api_tokens t
           left join tandem.user_profiles p on p.username = t.username
           where t.token_hash = $1`,
    values: [tokenHash],
  });
  const r = rows[0];
  return r ? { token: toTokenRecord(r), ownerRoles: r.owner_roles, ownerGroups: r.owner_groups } : undefined;
}
