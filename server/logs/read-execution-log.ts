/**
 * Reading an execution's log for the output endpoint, on any site.
 *
 * On a passive site the execution's rows arrive through the database
 * replicator and its log object through the object copier
 * (replicator/objects/), in that order: for a while the record that
 * names the object is here and the object is not (or only an older
 * checkpoint of it). That is not an error: the read answers `replicating`
 * with whatever part of the log has arrived, never `complete`, so a client
 * tailing with `nextOffset` simply keeps polling until the copy is done and
 * then reads on normally. A copy that FAILED (its bytes never matched the
 * record's checksum) is an error that says so, with the copier's last error
 * and where the original can be read. When changing this, read
 * replicator/docs/object-copy.md.
 */
import { TandemError } from '../errors.js';
import { siteRoleInfo } from '../site/guard.js';
import type { Db } from '../db/db.js';
import { copyStateOf } from './sql/copy-state-of.js';
import type { LogReadOptions, LogReadResult, LogStore } from './store.js';

export interface ReplicationProgress {
  /** Since when this site has been waiting for (the newest version of) the object. */
  since: Date;
  /** Copy attempts so far. */
  attempts: number;
  /** Why the last attempt did not finish (`replicating: …` while the object has not reached the source store). */
  lastError: string | null;
}

export type ExecutionLogRead =
  | ({ logState: 'available' } & LogReadResult)
  | ({ logState: 'replicating'; replication: ReplicationProgress } & LogReadResult & { complete: false });

/** How long a tailing client should wait before asking again while a log is replicating. */
export const REPLICATING_RETRY_S = 1;

export async function readExecutionLog(db: Db, store: LogStore, exec: { id: string; logKey: string }, offset: number, opts: LogReadOptions = {}): Promise<ExecutionLogRead> {
  // One indexed lookup in this site's own table (empty on a site that never followed another).
  const copy = await copyStateOf(db, exec.id);
  if (copy?.state === 'failed') {
    const site = await siteRoleInfo(db as Parameters<typeof siteRoleInfo>[0]);
    const where = site.activeUrl ? `; read it on the active site ${site.activeUrl}` : '';
    throw new TandemError(
      'log_replication_failed',
      `the log of execution ${exec.id} could not be replicated to this site: ${copy.lastError ?? 'the copy never matched its record'}${where}`,
      { details: { executionId: exec.id, lastError: copy.lastError, attempts: copy.attempts, activeSite: site.activeUrl } },
    );
  }
  const r = await store.read(exec.logKey, offset, opts);
  if (copy?.state !== 'pending') return { logState: 'available', ...r };
  // What has arrived so far (an earlier checkpoint, or nothing) is served, but never as complete:
  // the version the record names is not here, or not verified yet.
  return {
    logState: 'replicating',
    entries: r.entries,
    nextOffset: r.nextOffset,
    complete: false,
    replication: { since: copy.requestedAt, attempts: copy.attempts, lastError: copy.lastError },
  };
}
