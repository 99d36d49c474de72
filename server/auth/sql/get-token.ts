import type { Db } from '../../db/db.js';
import { TOKEN_COLUMNS, toTokenRecord, type TokenDbRow, type TokenRecord } from './token-row.js';

export async function getToken(db: Db, id: string): Promise<TokenRecord | undefined> {
  const { rows } = await db.query<TokenDbRow>({
    name: 'tandem.auth.getToken',
    text: `select ${TOKEN_COLUMNS} from tandem.api_tokens where id = $1::uuid`,
    values: [id],
  });
  return rows[0] ? toTokenRecord(rows[0]) : undefined;
}
