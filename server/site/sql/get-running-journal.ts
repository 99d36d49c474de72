import type { Db } from '../../db/db.js';
import { JOURNAL_COLUMNS, toJournalRow, type JournalRow } from './journal-row.js';

export async function getRunningJournal(db: Db): Promise<JournalRow | null> {
  const { rows } = await db.query({ name: 'tandem_site.getRunningJournal', text: `select ${JOURNAL_COLUMNS} from tandem_site.failover_journal where state = 'running'` });
  return rows[0] ? toJournalRow(rows[0]) : null;
}
