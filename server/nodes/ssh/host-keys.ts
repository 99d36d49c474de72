/**
 * SSH host key verification, which Rundeck's default (StrictHostKeyChecking=no)
 * skips. Known keys live in the replicated `tandem.ssh_host_keys`, per project
 * and endpoint (hostname:port). Policies:
 *   strict      the key must already be known (an operator records it first);
 *   accept-new  (default) the first key seen is recorded; a different key
 *               later is refused, naming the node and both fingerprints.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { deleteHostKey } from './sql/delete-host-key.js';
import { getHostKey } from './sql/get-host-key.js';
import type { HostKeyRow } from './sql/host-key-row.js';
import { insertHostKey } from './sql/insert-host-key.js';
import { listHostKeys } from './sql/list-host-keys.js';

export const HOST_KEY_POLICIES = Object.freeze(['strict', 'accept-new'] as const);
export type HostKeyPolicy = (typeof HOST_KEY_POLICIES)[number];

/** OpenSSH's fingerprint of a public key blob: `SHA256:` + unpadded base64. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The algorithm name at the start of an SSH public key blob (`ssh-ed25519`, ...). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const n = blob.readUInt32BE(0);
  return n > 0 && n < 64 && blob.length >= 4 + n ? blob.subarray(4, 4 + n).toString('latin1') : 'unknown';
}

export type HostKeyVerdict = { ok: true; recorded: boolean } | { ok: false; reason: string };

export class HostKeys {
  constructor(private readonly pool: pg.Pool) {}

  async verify(o: { project: string; host: string; node: string; executionId: string; blob: Buffer; policy: HostKeyPolicy }): Promise<HostKeyVerdict> {
    const seen = fingerprint(o.blob);
    const known = await getHostKey(this.pool, o.project, o.host);
    if (known) return this.compare(o.node, o.host, known, seen, o.blob);
    if (o.policy === 'strict') {
      return { ok: false, reason: `host key of node ${o.node} (${o.host}) is not known and ssh-host-key-policy is strict: offered ${keyTypeOf(o.blob)} ${seen}` };
    }
    const row = await insertHostKey(this.pool, {
      project: o.project, host: o.host, keyType: keyTypeOf(o.blob), fingerprint: seen, publicKey: o.blob, node: o.node, firstSeenExecution: o.executionId,
    });
    // Another execution may have recorded a key for this endpoint a moment earlier: compare with what is stored now.
    const verdict = this.compare(o.node, o.host, row, seen, o.blob);
    return verdict.ok ? { ok: true, recorded: row.firstSeenExecution === o.executionId } : verdict;
  }

  private compare(node: string, host: string, known: HostKeyRow, seen: string, blob: Buffer): HostKeyVerdict {
    if (known.publicKey.equals(blob)) return { ok: true, recorded: false };
    return {
      ok: false,
      reason: `host key of node ${node} (${host}) has changed: known ${known.keyType} ${known.fingerprint}, offered ${keyTypeOf(blob)} ${seen}; ` +
        'if the host was rebuilt, remove the known key (DELETE /api/v1/projects/PROJECT/ssh/host-keys/HOST) and run again',
    };
  }

  list(project: string): Promise<HostKeyRow[]> {
    return listHostKeys(this.pool, project);
  }

  remove(project: string, host: string): Promise<boolean> {
    return deleteHostKey(this.pool, project, host);
  }
}
