/**
 * Where a session starts streaming: from the position the target recorded
 * (the slot must still exist, be healthy and free), or, on a target that has
 * not replicated yet or with --resync, from a new slot's snapshot after an
 * initial copy. Also checks --skip-transaction against that position.
 */
import type pg from 'pg';
import { TandemError } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import type { Progress } from '../bookkeeping/get-progress.js';
import { setState } from '../bookkeeping/set-state.js';
import { initialCopy } from '../copy/initial-copy.js';
import { formatLsn, type Lsn } from '../lsn.js';
import type { ReplicationConnection } from '../stream/connection.js';
import { dropSlot, type SlotInfo } from './slot.js';
import type { PublishedTable } from './source.js';

export function slotLost(slot: string, why: string): TandemError {
  return new TandemError(
    'replication_slot_lost',
    `replication slot "${slot}" ${why} on the source: changes since the target's last position are gone from the source's WAL. ` +
      'Run `tandem replicate ... --resync` to rebuild the target tables from a new snapshot',
  );
}

export interface StartPositionInput {
  /** The source's control connection (drops a slot left behind). */
  source: pg.Client;
  /** The target's control connection (records the state). */
  control: pg.Client;
  /** The session's target connection (the initial copy writes through it). */
  target: pg.Client;
  repl: ReplicationConnection;
  sourceUrl: string;
  slot: string;
  tables: PublishedTable[];
  incarnation: number;
  log: Logger;
  /** The target's recorded position (null: it has not replicated yet). */
  progress: Progress | null;
  /** The slot on the source (null: there is none). */
  existing: SlotInfo | null;
  /** --skip-transaction's commit LSN, until it is skipped. */
  skip: Lsn | null;
  resync: boolean;
  /** Binary transfer: the initial copy copies in binary where both sites' column types allow (initial-copy.ts). */
  binary: boolean;
}

/** `copied`: an initial copy ran (a resync is then done). */
export async function startPosition(i: StartPositionInput): Promise<{ startAt: Lsn; copied: boolean }> {
  const { slot, existing, progress, skip } = i;
  if (skip !== null && (i.resync || !progress))
    throw new TandemError('invalid_option', '--skip-transaction: this target has not replicated yet (its initial copy is to come); nothing to skip', { field: 'skip-transaction' });
  if (i.resync || !progress) {
    if (existing) {
      // Left by an interrupted initial copy (no progress recorded) or lost: start over from a new snapshot.
      if (existing.active) throw new TandemError('replication_setup', `replication slot "${slot}" is in use by another process (pid ${existing.activePid}) on the source`);
      await dropSlot(i.source, slot);
      i.log.info('dropped the old replication slot before a new initial copy', { slot });
    }
    await setState(i.control, slot, 'initial_sync', i.incarnation);
    const startAt = await initialCopy({ repl: i.repl, sourceUrl: i.sourceUrl, target: i.target, slot, tables: i.tables, log: i.log, binary: i.binary });
    return { startAt, copied: true };
  }
  if (!existing) throw slotLost(slot, 'does not exist (it was dropped)');
  if (existing.walStatus === 'lost') throw slotLost(slot, 'is lost (wal_status = lost: the WAL it needed was removed)');
  if (existing.active) throw new TandemError('replication_setup', `replication slot "${slot}" is in use by another process (pid ${existing.activePid}) on the source`);
  const startAt = progress.endLsn;
  if (skip !== null && skip < startAt)
    throw new TandemError(
      'invalid_option',
      `--skip-transaction ${formatLsn(skip)}: the target already holds every source transaction that committed before ${formatLsn(startAt)}; nothing to skip`,
      { field: 'skip-transaction' },
    );
  return { startAt, copied: false };
}
