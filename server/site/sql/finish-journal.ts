import type { Db } from '../../db/db.js';
import type { JournalState } from './journal-row.js';

export async function finishJournal(db: Db, id: string, state: Exclude<JournalState, 'running'>, error: string | null = null): Promise<void> {
  await db.query({
    name: 'tandem_site.finishJournal',
    text: `update tandem_site.failover_journal set state = $2, error = $3, finished_at = now() where id = $1`,
    values: [id, state, error],
  });
}
