/**
 * Transitional: replicator/failover/ still imports the peer-epoch statements
 * from this path, and replicator/ is being changed on another branch, so its
 * imports move in that branch; re-exporting here keeps both branches
 * compiling until then. Import from the statement's own file; delete this
 * file once nothing imports it.
 */
export { markPeerPresumedLost, PRESUMED_LOST } from './mark-peer-presumed-lost.js';
export { maxKnownEpoch } from './max-known-epoch.js';
export { peersUnseenSinceRestart } from './peers-unseen-since-restart.js';
export { recordPeerEpoch } from './record-peer-epoch.js';
