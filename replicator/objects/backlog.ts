/**
 * The log object copy backlog of a passive site, for `tandem replication
 * status` (and a planned switchover, which waits for `pending` to reach 0).
 */
import pg from 'pg';
import { copyBacklog, type CopyBacklog } from './sql/copy-backlog.js';

/** Null when the site's database has no copy table (migrations older than 030). */
export async function objectCopyBacklog(targetUrl: string): Promise<CopyBacklog | null> {
  const c = new pg.Client({ connectionString: targetUrl, application_name: 'tandem-status' });
  // A connection lost between queries is reported by the next query; unhandled, node-pg's 'error' event would crash the process.
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query<{ ok: boolean }>(`select to_regclass('tandem_site.log_object_copies') is not null as ok`);
    if (!r.rows[0]?.ok) return null;
    return await copyBacklog(c);
  } finally {
    await c.end();
  }
}

export function formatCopyBacklog(b: CopyBacklog | null): string[] {
  if (!b) return [];
  const lines = [
    `log objects:       ${b.pending === 0 ? 'all copied' : `${b.pending} to copy (oldest waiting ${(b.oldestPendingMs / 1000).toFixed(1)} s)`}${b.failed ? `, ${b.failed} FAILED` : ''}`,
  ];
  for (const p of b.problems.slice(0, 5)) lines.push(`  ${p.state === 'failed' ? 'failed' : 'retrying'}:      ${p.key} after ${p.attempts} attempt(s): ${p.lastError ?? '-'}`);
  return lines;
}
