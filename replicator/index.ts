/**
 * The replicator's public API, used by the `tandem replicate` and
 * `tandem replication status` commands, the failover command and tests.
 */
export { runReplicator, type ReplicatorOptions, type ReplicatorResult } from './run.js';
export { syncSequences, type SequenceSyncResult } from './sequences/sync.js';
export { appliedPosition, replicationStatus, type ReplicationStatus } from './status/status.js';
export type { ApplyHook, AppliedChange } from './apply/hooks.js';
export { defaultSlotName } from './slot-name.js';
export { formatLsn, parseLsn, type Lsn } from './lsn.js';
