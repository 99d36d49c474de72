/**
 * One log held in this member's spool, with its upload bookkeeping. Shared by
 * the writer (which appends), the uploader (which checkpoints) and the store
 * (which reads the freshest lines from it).
 */
import type { SpoolFile } from './spool.js';

export interface AttemptedVersion {
  size: number;
  sha256: string;
  complete: boolean;
}

export interface SpooledLog {
  readonly key: string;
  readonly spool: SpoolFile;
  /** A writer of this member appends to it. */
  writing: boolean;
  /** An upload is in flight. */
  uploading: boolean;
  /** Consecutive failed uploads (drives the backoff), reset on success. */
  failures: number;
  nextAttemptAt: number;
  lastUploadAt: number;
  lastError: string | null;
  /**
   * Uploads that failed without an answer (connection reset, timeout): the
   * bucket may have stored them anyway. A later 412 whose live object is one
   * of these is our own write, not another writer's.
   */
  maybeUploaded: AttemptedVersion[];
  /** Removed from the spool (its final version is in the bucket). */
  removed: boolean;
}

export function newSpooledLog(spool: SpoolFile, now: number): SpooledLog {
  return {
    key: spool.state.key,
    spool,
    writing: false,
    uploading: false,
    failures: 0,
    nextAttemptAt: 0,
    lastUploadAt: now,
    lastError: null,
    maybeUploaded: [],
    removed: false,
  };
}

/** Whether the bucket lacks something the spool has. */
export function hasPendingUpload(l: SpooledLog): boolean {
  const up = l.spool.state.uploaded;
  if (l.spool.state.conflict) return false;
  if (!up) return true;
  return up.size < l.spool.size || (l.spool.state.sealed && !up.complete);
}
