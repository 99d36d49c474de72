import type { Db } from '../../db/db.js';
import { TOKEN_COLUMNS, toTokenRecord, type TokenDbRow, type TokenRecord } from './token-row.js';

/** Tokens of one user (or of everybody when `username` is null), newest first. */
export async function listTokens(db: Db, username: string | null): Promise<TokenRecord[]> {
  const { rows } = await db.query<TokenDbRow>({
    name: 'tandem.auth.listTokens',
    text: `select ${TOKEN_COLUMNS} from tandem.api_tokens
           where $1::text is null or username = $1
           order by created_at desc, id`,
    values: [username],
  });
  return rows.map(toTokenRecord);
}
