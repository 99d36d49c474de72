/**
 * Wiring of this member into its site's cluster (see README.md): the
 * membership (registration, heartbeats, fencing of its own incarnation), and
 * on each heartbeat tick the duties every live member shares: recovering
 * dead members and re-handing executions that their chosen member did not
 * start in time.
 */
import type pg from 'pg';
import { productVersion } from '../app/version.js';
import type { Config } from '../config/schema.js';
import { TandemError } from '../errors.js';
import type { EngineFence, ExecutionEngine } from '../executions/engine.js';
import type { Logger } from '../log.js';
import type { LogStore } from '../logs/store.js';
import { Membership } from './membership.js';
import { recoverDeadMembers } from './recover-dead.js';

/** The engine's view of the membership, usable before the membership exists (the engine is built first). */
export class LateFence implements EngineFence {
  membership: Membership | null = null;
  generation(): number | null {
    return this.membership?.generation() ?? null;
  }
  confirm(generation: number): Promise<void> {
    if (!this.membership) return Promise.resolve();
    return this.membership.confirm(generation);
  }
}

export function checkClusterConfig(config: Config): void {
  const c = config.cluster;
  if (!(c.heartbeatInterval < c.inactiveAfter && c.inactiveAfter < c.deadAfter)) {
    throw new TandemError(
      'invalid_config',
      `cluster: expected heartbeatInterval < inactiveAfter < deadAfter (got ${c.heartbeatInterval} ms, ${c.inactiveAfter} ms, ${c.deadAfter} ms)`,
      { field: 'cluster.deadAfter' },
    );
  }
}

export interface ClusterMemberDeps {
  pool: pg.Pool;
  config: Config;
  log: Logger;
  store: LogStore;
  engine: ExecutionEngine;
  member: string;
  url: string;
  fence: LateFence;
  schedulerOn(): boolean;
  /** Executions closed by recovering a dead member (metrics). */
  closed?(n: number): void;
  /** Extra duty on each tick (hand-overs). */
  onTick?(): Promise<void>;
}

export async function joinCluster(d: ClusterMemberDeps): Promise<Membership> {
  const c = d.config.cluster;
  const membership = new Membership({
    pool: d.pool,
    log: d.log,
    registration: {
      name: d.member,
      url: d.url,
      version: productVersion(),
      pid: process.pid,
      tags: d.config.server.tags,
      scheduler: d.schedulerOn(),
      capacity: c.capacity,
    },
    heartbeatIntervalMs: c.heartbeatInterval,
    deadAfterMs: c.deadAfter,
    running: () => d.engine.runningIds().length,
    schedulerOn: d.schedulerOn,
    onFenced: (generation) => d.engine.fenced(generation),
    onTick: async () => {
      await recoverDeadMembers({ pool: d.pool, store: d.store, log: d.log, engine: d.engine, member: d.member, deadAfterMs: c.deadAfter, closed: d.closed });
      await d.onTick?.();
    },
  });
  d.fence.membership = membership;
  await membership.start();
  return membership;
}
