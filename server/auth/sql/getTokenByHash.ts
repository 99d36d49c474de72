import type { Db } from './db.js';
import { TOKEN_COLUMNS, toTokenRecord, type TokenDbRow, type TokenRecord } from './tokenRow.js';

/** The token with this SHA-256, whatever its state (the caller checks expiry and revocation). */
export async function getTokenByHash(db: Db, tokenHash: string): Promise<TokenRecord | undefined> {
  const { rows } = await db.query<TokenDbRow>({
    name: 'tandem.auth.getTokenByHash',
    text: `select ${TOKEN_COLUMNS} from tandem.api_tokens where token_hash = $1`,
    values: [tokenHash],
  });
  return rows[0] ? toTokenRecord(rows[0]) : undefined;
}
