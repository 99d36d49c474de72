/** A row of tandem.api_tokens as the rest of the code sees it (never the hash). */
export interface TokenRecord {
  id: string;
  username: string;
  roles: string[];
  description: string;
  createdBy: string;
  createdAt: Date;
  expiresAt: Date | null;
  revokedAt: Date | null;
  revokedBy: string | null;
  lastUsedAt: Date | null;
}

export const TOKEN_COLUMNS =
  'id, username, roles, description, created_by, created_at, expires_at, revoked_at, revoked_by, last_used_at';

export interface TokenDbRow {
  id: string;
  username: string;
  roles: string[];
  description: string;
  created_by: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  revoked_by: string | null;
  last_used_at: Date | null;
}

export function toTokenRecord(r: TokenDbRow): TokenRecord {
  return {
    id: r.id,
    username: r.username,
    roles: r.roles,
    description: r.description,
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    revokedBy: r.revoked_by,
    lastUsedAt: r.last_used_at,
  };
}
