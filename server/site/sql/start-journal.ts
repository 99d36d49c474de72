import type { Db } from '../../db/db.js';
import { JOURNAL_COLUMNS, toJournalRow, type FailoverKind, type JournalRow } from './journal-row.js';

export async function startJournal(db: Db, j: { kind: FailoverKind; fromSite: string; toSite: string }): Promise<JournalRow> {
  const { rows } = await db.query({
    name: 'tandem_site.startJournal',
    text: `insert into tandem_site.failover_journal (kind, from_site, to_site) values ($1, $2, $3) returning ${JOURNAL_COLUMNS}`,
    values: [j.kind, j.fromSite, j.toSite],
  });
  return toJournalRow(rows[0]);
}
