/** `tandem replication status`: where a passive site's replica stands. */
import { requireKeys } from '../../server/config/load.js';
import type { Command } from '../../server/cli/command.js';
import { defaultSlotName } from '../slot-name.js';
import { replicationStatus, type ReplicationStatus } from '../status/status.js';
import { formatCopyBacklog, objectCopyBacklog } from '../objects/backlog.js';

function bytes(n: number | null): string {
  if (n === null) return '?';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
import { EXIT_CODES } from '../../server/errors.js';

export function formatStatus(s: ReplicationStatus): string[] {
  const lines = [
    `slot:              ${s.slot}`,
    `state:             ${s.state.replace('_', ' ')}${s.running === null ? '' : s.running ? ' (replicator connected)' : ' (no replicator connected)'}`,
    `applied up to:     ${s.appliedLsn ?? '-'}${s.commitTime ? ` (source commit at ${s.commitTime})` : ''}`,
    `transactions:      ${s.appliedTxns} applied since the initial copy`,
    `lag:               ${s.lagBytes === null ? '?' : bytes(s.lagBytes)}, ${s.lagSeconds === null ? '?' : `${s.lagSeconds.toFixed(1)} s`}`,
    `slot on source:    ${s.slotExists === null ? '?' : s.slotExists ? `wal_status ${s.walStatus ?? '-'}, retains ${bytes(s.retainedWalBytes)} of WAL` : 'MISSING (run tandem replicate --resync)'}`,
  ];
  if (s.sourceError) lines.push(`source:            not reachable (${s.sourceError})`);
  if (s.lastError) {
    lines.push(`last error:        ${s.lastError.message}`);
    lines.push(`  at:              ${s.lastError.at}`);
  }
  if (s.skipped.length) {
    lines.push(`skipped:           ${s.skipped.length} source transaction(s) by operator request; their changes are NOT on this site:`);
    for (const k of s.skipped) {
      lines.push(`  commit LSN ${k.commitLsn} (xid ${k.xid}, ${k.changes} change(s)) skipped at ${k.at} by ${k.by}`);
      if (k.error) lines.push(`    after: ${k.error.length > 300 ? k.error.slice(0, 300) + '…' : k.error}`);
    }
  }
  return lines;
}

export const replicationStatusCommand: Command = {
  help: `
Usage: tandem replication status --target URL [--source URL] [--slot NAME] [--json]

Reads the replicator's bookkeeping on the target (state, last applied source
transaction and its commit time, last error with the change that caused it)
and, with --source, the slot on the source (lag in bytes and seconds, WAL
retained, wal_status), the source transactions an operator skipped
(tandem replicate --skip-transaction), and the log objects still to copy into this site's
store (backlog, oldest waiting copy, failures). Exit status 0, or 1 when the
replicator stopped on an error, its slot is missing or lost, or a log object
copy failed its checksum.

Flags:
  --target URL   this (passive) site's database
  --source URL   active site's database (optional; adds lag and slot health)
  --slot NAME    slot name (default: the only one on the target, else tandem_<site>)
  --json         one JSON object instead of text

Example:
  tandem replication status --source postgres://replicator@db-a/tandem --target postgres://tandem@db-b/tandem --json
`,
  flags: { json: { type: 'boolean' } },
  configFlags: { source: 'replication.source', target: 'replication.target', slot: 'replication.slot' },
  async run(ctx) {
    const cfg = ctx.config();
    requireKeys(cfg, ['replication.target']);
    const r = cfg.replication;
    const slot = r.slot ?? (cfg.site ? defaultSlotName(r.target!, cfg.site) : undefined);
    const s = await replicationStatus({ targetUrl: r.target!, sourceUrl: r.source, slot });
    // Log objects the replicated rows name and this site's store does not have yet.
    const objects = await objectCopyBacklog(r.target!);
    if (ctx.values.json) ctx.out(JSON.stringify({ ...s, objects }));
    else for (const l of [...formatStatus(s), ...formatCopyBacklog(objects)]) ctx.out(l);
    const bad = s.state === 'error' || s.slotExists === false || s.walStatus === 'lost' || (objects?.failed ?? 0) > 0;
    return bad ? EXIT_CODES.failed : EXIT_CODES.ok;
  },
};
