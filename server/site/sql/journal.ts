/**
 * Transitional: replicator/failover/ still imports the failover journal's
 * statements from this path, and replicator/ is being changed on another
 * branch, so its imports move in that branch; re-exporting here keeps both
 * branches compiling until then. Import from the statement's own file (or
 * journal-row.ts for the row); delete this file once nothing imports it.
 */
export type { FailoverKind, JournalRow, JournalState, JournalStep } from './journal-row.js';
export { finishJournal } from './finish-journal.js';
export { getRunningJournal } from './get-running-journal.js';
export { journalStep } from './journal-step.js';
export { setJournalFields } from './set-journal-fields.js';
export { startJournal } from './start-journal.js';
