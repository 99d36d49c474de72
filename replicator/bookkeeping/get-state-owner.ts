import type pg from 'pg';

/** Who last wrote a replicator's state row on the target: what it was doing, and its process. */
export interface StateOwner {
  state: string;
  pid: number | null;
  host: string | null;
}

/** The state row of `slot` on the target (null: no replicator ran for it, or the bookkeeping is not there yet). */
export async function getStateOwner(client: pg.Pool | pg.ClientBase, slot: string): Promise<StateOwner | null> {
  const has = await client.query<{ ok: boolean }>({
    name: 'tandem_site.replicationStatePresent',
    text: `select to_regclass('tandem_site.replication_state') is not null as ok`,
  });
  if (!has.rows[0]?.ok) return null;
  const { rows } = await client.query<StateOwner>({
    name: 'tandem_site.getReplicatorStateOwner',
    text: 'select state, pid, host from tandem_site.replication_state where slot_name = $1',
    values: [slot],
  });
  return rows[0] ?? null;
}
