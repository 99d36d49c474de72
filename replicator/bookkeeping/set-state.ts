import type pg from 'pg';
import { hostname } from 'node:os';

export type ReplicatorState = 'initial_sync' | 'streaming' | 'stopped' | 'error';

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
}

const text = `
insert into tandem_site.replication_state (slot_name, state, last_error, pid, host, updated_at)
values ($1, $2, $3::jsonb, $4, $5, now())
on conflict (slot_name) do update
   set state = excluded.state,
       last_error = case when excluded.state = 'error' then excluded.last_error else tandem_site.replication_state.last_error end,
       pid = excluded.pid, host = excluded.host, updated_at = now()`;

/** Record the replicator's state (own transaction). A new error replaces the last one; other states keep it for status. */
export async function setState(client: pg.ClientBase, slot: string, state: ReplicatorState, error?: ReplicationErrorInfo): Promise<void> {
  await client.query({
    name: 'tandem_site.setReplicationState',
    text,
    values: [slot, state, error ? JSON.stringify(error) : null, process.pid, hostname()],
  });
}
