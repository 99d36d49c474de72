/**
 * `--reverse`: after a planned switchover the old active follows the new one
 * without a new initial copy. Both sites hold the same data at the drain
 * point, so it is enough to create, on the target and BEFORE it takes any
 * write, the publication and a logical slot for the source, and to record on
 * the source that replication resumes at the slot's start. The replicator
 * then started at the old active (source = new active) streams from there.
 *
 * The old forward slot (on the old active, for the target) is dropped: its
 * replicator would otherwise send the changes the old active now receives
 * back where they came from, and the slot would hold WAL back for ever.
 */
import type pg from 'pg';
import { inReadWriteTransaction } from '../../server/site/connect.js';
import { ensureBookkeeping } from '../bookkeeping/ensure-schema.js';
import { startProgress } from '../bookkeeping/start-progress.js';
import { parseLsn } from '../lsn.js';
import { ensurePublication } from '../setup/source.js';
import { dropSlot, slotInfo } from '../setup/slot.js';
import { defaultSlotName } from '../slot-name.js';
import type { SiteView } from '../../server/site/inspect.js';
import type { FailoverOptions } from './options.js';
import { SQLSTATE, sqlstateOf } from '../../server/db/sqlstate.js';

/** Terminate whatever holds the slot, then drop it (no-op when absent). */
export async function dropSlotIfPresent(c: pg.ClientBase, slot: string): Promise<boolean> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const info = await slotInfo(c, slot);
    if (!info) return attempt > 0;
    if (info.active && info.activePid !== null) {
      await c.query({ name: 'tandem.terminateSlotHolder', text: 'select pg_terminate_backend($1)', values: [info.activePid] });
      await new Promise((r) => setTimeout(r, 100));
      continue;
    }
    try {
      await dropSlot(c, slot);
      return true;
    } catch (e) {
      // 55006: the replicator reconnected in between; terminate it again.
      if (sqlstateOf(e) !== SQLSTATE.OBJECT_IN_USE) throw e;
    }
  }
  throw new Error(`replication slot "${slot}" stays in use; stop the replicator that holds it and re-run`);
}

export async function prepareReverse(s: pg.Client, t: pg.Client, sv: SiteView, tv: SiteView, o: FailoverOptions): Promise<{ slot: string; startLsn: string }> {
  await dropSlotIfPresent(s, defaultSlotName(tv.databaseUrl));
  await inReadWriteTransaction(t, () => ensurePublication(t, o.publication, o.schemas, o.log));
  const slot = defaultSlotName(sv.databaseUrl);
  await dropSlotIfPresent(t, slot);
  const created = await t.query<{ lsn: string }>({
    name: 'tandem.createReverseSlot',
    text: `select lsn::text as lsn from pg_create_logical_replication_slot($1, 'pgoutput')`,
    values: [slot],
  });
  const startLsn = created.rows[0]!.lsn;
  await ensureBookkeeping(s);
  await inReadWriteTransaction(s, async () => {
    // Progress left by an earlier time this site was a target of the same slot name is replaced.
    await startProgress(s, slot, parseLsn(startLsn));
  });
  return { slot, startLsn };
}
