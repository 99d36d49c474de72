import type { Db } from '../../db/db.js';
import type { JournalStep } from './journal-row.js';

export async function journalStep(db: Db, id: string, s: JournalStep): Promise<void> {
  await db.query({
    name: 'tandem_site.journalStep',
    text: `update tandem_site.failover_journal set steps = steps || jsonb_build_array($2::jsonb) where id = $1`,
    values: [id, JSON.stringify(s)],
  });
}
