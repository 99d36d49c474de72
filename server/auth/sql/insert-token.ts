import type { Db } from '../../db/db.js';

export interface InsertTokenRow {
  tokenHash: string;
  username: string;
  roles: string[];
  description: string;
  createdBy: string;
  expiresAt: Date | null;
}

export async function insertToken(db: Db, row: InsertTokenRow): Promise<{ id: string; createdAt: Date }> {
  const { rows } = await db.query<{ id: string; created_at: Date }>({
    name: 'tandem.auth.insertToken',
    text: `insert into tandem.api_tokens (token_hash, username, roles, description, created_by, expires_at)
           values ($1, $2, $3::text[], $4, $5, $6)
           returning id, created_at`,
    values: [row.tokenHash, row.username, row.roles, row.description, row.createdBy, row.expiresAt],
  });
  return { id: rows[0]!.id, createdAt: rows[0]!.created_at };
}
