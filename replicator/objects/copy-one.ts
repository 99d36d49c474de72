/**
 * Copies the version of one log object that a replicated record names from
 * the source site's store to this site's store, and verifies it against the
 * record's SHA-256 (the checksum of the bytes, not a metadata field anyone
 * could copy along).
 *
 * GCS to GCS on the same service: server-side rewrite of the exact source
 * generation, then the target's bytes are hashed. Otherwise (another
 * endpoint, filesystem stores, mixed): the bytes are read from the source and
 * written to the target; append-only targets (filesystem) receive only what
 * they lack after checking that what they hold is a prefix.
 *
 * A checkpoint record (execution running) is satisfied by any version at
 * least as long as the record (newest wins); a complete record only by the
 * exact bytes.
 */
import { createHash } from 'node:crypto';
import { parseLines, type LogStore } from '../../server/logs/store.js';
import { GcsLogStore } from '../../server/logs/gcs/store.js';
import type { CopyRequest } from './sql/due-copies.js';

export type CopyOutcome =
  | { kind: 'done'; how: 'rewrite' | 'stream' | 'already' | 'newer' }
  /** Not there yet at the source (the record arrived first): retry, this is "replicating", not an error. */
  | { kind: 'wait'; why: string }
  /** The bytes do not match the record's checksum. */
  | { kind: 'mismatch'; why: string };

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Whole bytes of a log in any store, with whether it is complete; null when missing. */
export async function readVersion(store: LogStore, key: string): Promise<{ data: Buffer; complete: boolean; generation?: string } | null> {
  if (store instanceof GcsLogStore) return store.readVersion(key);
  const info = await store.stat(key);
  if (!info) return null;
  const parts: Buffer[] = [];
  let off = 0;
  while (off < info.size) {
    const b = await store.readRaw(key, off, 1024 * 1024);
    if (!b.length) break;
    parts.push(b);
    off += b.length;
  }
  return { data: Buffer.concat(parts), complete: info.complete };
}

function judge(r: CopyRequest, data: Buffer, sourceComplete: boolean): CopyOutcome | null {
  const sum = sha256(data);
  if (r.complete) {
    if (sum === r.sha256) return null;
    if (sourceComplete) return { kind: 'mismatch', why: `the source's complete log has SHA-256 ${sum}, the record says ${r.sha256}` };
    return { kind: 'wait', why: 'the finished log has not reached the source store yet' };
  }
  if (data.length < r.size) return { kind: 'wait', why: `the source holds ${data.length} of the ${r.size} bytes the record names` };
  return null;
}

export async function copyOne(source: LogStore, target: LogStore, r: CopyRequest): Promise<CopyOutcome> {
  if (source instanceof GcsLogStore && target instanceof GcsLogStore && target.canRewriteFrom(source)) {
    const live = await source.remoteInfo(r.key);
    if (!live) return { kind: 'wait', why: 'no object at the source yet' };
    // Objects written by Tandem carry their SHA-256: judge from it without downloading the source.
    if (live.sha256) {
      if (r.complete && live.sha256 !== r.sha256) {
        return live.complete
          ? { kind: 'mismatch', why: `the source's complete log has SHA-256 ${live.sha256}, the record says ${r.sha256}` }
          : { kind: 'wait', why: 'the finished log has not reached the source store yet' };
      }
      if (!r.complete && live.size < r.size) return { kind: 'wait', why: `the source holds ${live.size} of the ${r.size} bytes the record names` };
      // Three requests per copy: the source's facts, the rewrite, and the copy's bytes to verify
      // (the bytes themselves, not the metadata that came along with them). Rewriting again is harmless.
      const generation = await target.rewriteFrom(source, r.key, live.generation);
      const copied = await target.readGeneration(r.key, generation);
      if (copied === null) return { kind: 'wait', why: 'the copy was replaced while being verified' };
      if (sha256(copied) !== live.sha256) {
        await target.removeVersion(r.key, generation);
        return { kind: 'mismatch', why: "the copied bytes do not match the source object's SHA-256 (copy removed)" };
      }
      return { kind: 'done', how: 'rewrite' };
    }
  }

  const src = await readVersion(source, r.key);
  if (!src) return { kind: 'wait', why: 'no object at the source yet' };
  const verdict = judge(r, src.data, src.complete);
  if (verdict) return verdict;
  const complete = r.complete || src.complete;
  const sum = sha256(src.data);

  if (target instanceof GcsLogStore) {
    const how = await target.writeVersion(r.key, src.data, { complete, sha256: sum });
    return { kind: 'done', how: how === 'written' ? 'stream' : how };
  }

  // Append-only target (filesystem store).
  const have = await readVersion(target, r.key);
  if (have?.complete) {
    return sha256(have.data) === sum ? { kind: 'done', how: 'already' } : { kind: 'mismatch', why: 'the target already holds a different complete log' };
  }
  const held = have?.data.length ?? 0;
  if (held > src.data.length) return { kind: 'done', how: 'newer' };
  if (held > 0 && !src.data.subarray(0, held).equals(have!.data)) {
    return { kind: 'mismatch', why: 'the target holds lines the source does not have' };
  }
  const w = await target.open(r.key);
  for (const e of parseLines(src.data.subarray(held))) w.append(e);
  if (complete) await w.finish();
  else {
    await w.flush();
    // Stores keep a writer open until finish(); release it without sealing the running log.
    await (w as { close?: () => Promise<void> }).close?.();
  }
  const after = await readVersion(target, r.key);
  if (!after || sha256(after.data) !== sum) return { kind: 'mismatch', why: 'the copy in the target store differs from the source' };
  return { kind: 'done', how: 'stream' };
}
