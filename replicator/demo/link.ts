/**
 * One replication link of the demo, active site X → passive site Y, run in
 * this process: the replicator (`runReplicator`, as `tandem replicate` runs
 * it) with the log-object apply hook, and the copier that copies the
 * execution logs the replicated rows name from X's filesystem log store into
 * Y's, verified by checksum (the filesystem store supports it:
 * replicator/objects/copy-one.ts streams between any two stores).
 */
import pg from 'pg';
import { runReplicator, type ReplicatorResult } from '../index.js';
import { defaultSlotName } from '../slot-name.js';
import { errorMessage } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { FsLogStore } from '../../server/logs/fs-store.js';
import { LogObjectCopier } from '../objects/copier.js';
import { logObjectCopyHook } from '../objects/hook.js';
import { writableUrl } from '../../server/site/connect.js';
import { logIdleConnectionError } from '../../server/db/sqlstate.js';

export interface LinkEnd {
  name: string;
  dbUrl: string;
  logsDir: string;
}

export interface ReplicationLink {
  readonly from: string;
  readonly to: string;
  readonly slot: string;
  /** Resolves when the replicator ended: its result, or the error it stopped with. */
  readonly done: Promise<ReplicatorResult | Error>;
  /** True once the replicator ended (stopped, or failed). */
  ended(): boolean;
  stop(): Promise<void>;
}

/**
 * The slot a passive site's replicator uses on the active site: the default
 * one, derived from the passive site's database URL, as `tandem failover
 * --reverse` and `tandem rejoin` derive it.
 */
export function slotFor(target: LinkEnd): string {
  return defaultSlotName(target.dbUrl);
}

export function startLink(from: LinkEnd, to: LinkEnd, log: Logger): ReplicationLink {
  const ac = new AbortController();
  const rlog = log.child({ component: `replicator ${from.name}→${to.name}` });
  // Y is passive: its database defaults to read-only transactions; the copier's session turns that off for itself.
  const pool = new pg.Pool({ connectionString: writableUrl(to.dbUrl), max: 4, application_name: 'tandem-demo-log-copier' });
  pool.on('error', logIdleConnectionError(rlog, 'idle database connection of the log copier'));
  const source = new FsLogStore({ dir: from.logsDir });
  const target = new FsLogStore({ dir: to.logsDir });
  const copier = new LogObjectCopier({ pool, source, target, log: rlog.child({ component: 'log-object-copier' }), concurrency: 4 });
  copier.start();
  const slot = slotFor(to);
  let ended = false;
  const done = runReplicator({
    sourceUrl: from.dbUrl,
    targetUrl: writableUrl(to.dbUrl),
    slot,
    hooks: [logObjectCopyHook()],
    log: rlog,
    signal: ac.signal,
    retryDelayMs: 500,
    sequenceSyncIntervalMs: 5000,
    slotCheckIntervalMs: 2000,
    // Copy the logs of what was just applied without waiting for the copier's next poll.
    onProgress: () => copier.poke(),
  })
    .catch((e: unknown) => (e instanceof Error ? e : new Error(errorMessage(e))))
    .finally(() => {
      ended = true;
    });
  let stopping: Promise<void> | undefined;
  return {
    from: from.name,
    to: to.name,
    slot,
    done,
    ended: () => ended,
    stop() {
      stopping ??= (async () => {
        ac.abort();
        await done;
        await copier.stop();
        await Promise.all([source.close(), target.close()]);
        await pool.end();
      })();
      return stopping;
    },
  };
}
