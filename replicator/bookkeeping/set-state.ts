import type pg from 'pg';
import { hostname } from 'node:os';
import { replicatorStates, type ReplicatorState } from './states.js';

/** The error a status reader sees: what failed and on which change. */
export interface ReplicationErrorInfo {
  message: string;
  code?: string;
  table?: string;
  key?: Record<string, string | null>;
  change?: string;
  commitLsn?: string;
  xid?: number;
  at: string;
  /**
   * What kind of failure it is (apply-error.ts): `conflict` = the target's data
   * or constraints refuse a valid change; `target_definition` = the target
   * refused a value the source accepted (column definitions differ, or a
   * Tandem bug); `tandem_bug` = a bug or unsupported case in Tandem.
   */
  kind?: 'conflict' | 'target_definition' | 'tandem_bug';
}

const text = `
insert into tandem_site.replication_state (slot_name, state, last_error, pid, host, incarnation, updated_at)
values ($1, $2, $3::jsonb, $4, $5, $6, now())
on conflict (slot_name) do update
   set state = excluded.state,
       last_error = case when excluded.state = 'error' then excluded.last_error else tandem_site.replication_state.last_error end,
       pid = excluded.pid, host = excluded.host, incarnation = excluded.incarnation, updated_at = now()
 where tandem_site.replication_state.incarnation is null
    or tandem_site.replication_state.incarnation < excluded.incarnation
    or (tandem_site.replication_state.incarnation = excluded.incarnation and tandem_site.replication_state.state = any($7::text[]))`;

/**
 * Record the replicator's state (own transaction). A new error replaces the
 * last one; other states keep it for status. The row belongs to the newest
 * incarnation (ensure-schema.ts): a write of an older one changes nothing and
 * returns false (a rejoin's replicator finishing after the site's own
 * replicator started must not show that site as stopped). Within one
 * incarnation the state changes only along the table of states.ts, checked
 * by the same statement: anything else is `illegal_transition`.
 */
export async function setState(client: pg.ClientBase, slot: string, state: ReplicatorState, incarnation: number, error?: ReplicationErrorInfo): Promise<boolean> {
  const r = await client.query({
    name: 'tandem_site.setReplicationState',
    text,
    values: [slot, state, error ? JSON.stringify(error) : null, process.pid, hostname(), incarnation, replicatorStates.sourcesOf(state)],
  });
  if (r.rowCount === 1) return true;
  const cur = await client.query<{ state: string; incarnation: string | null }>({
    name: 'tandem_site.getReplicationStateOf',
    text: 'select state, incarnation::text from tandem_site.replication_state where slot_name = $1',
    values: [slot],
  });
  const row = cur.rows[0];
  if (row && row.incarnation !== null && Number(row.incarnation) === incarnation) throw replicatorStates.illegal(row.state, state);
  return false;
}
