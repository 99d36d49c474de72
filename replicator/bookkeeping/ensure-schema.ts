/**
 * The replicator's own bookkeeping on the target, in the per-site schema
 * `tandem_site` (never replicated). Created here, idempotently, so that a
 * target only needs `tandem migrate` for the replicated tables.
 */
import type pg from 'pg';

const DDL = `
create schema if not exists tandem_site;
-- One row per slot: the last source transaction committed on this target.
-- Written in the same target transaction as the changes it describes, so
-- after a crash it says exactly which source transactions are already applied.
create table if not exists tandem_site.replication_progress (
  slot_name text primary key,
  source_commit_lsn pg_lsn not null,
  -- where streaming resumes; also what is acknowledged to the source
  source_end_lsn pg_lsn not null,
  source_commit_time timestamptz,
  applied_txns bigint not null default 0,
  initial_sync_lsn pg_lsn not null,
  initial_sync_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- What the replicator is doing, and the last error with the change that caused it.
create table if not exists tandem_site.replication_state (
  slot_name text primary key,
  state text not null check (state in ('initial_sync', 'streaming', 'stopped', 'error')),
  last_error jsonb,
  pid integer,
  host text,
  updated_at timestamptz not null default now()
);
-- Each start of a replicator takes a number (its incarnation); the state row belongs to the newest
-- one: an older incarnation that stops later (a rejoin's own replicator finishing after the site's
-- replicator took over) does not overwrite it (set-state.ts).
create sequence if not exists tandem_site.replicator_incarnation;
alter table tandem_site.replication_state add column if not exists incarnation bigint;
-- Source transactions an operator chose to skip (tandem replicate --skip-transaction LSN): their
-- changes are not on this site. Written in the target transaction that records the progress past them.
create table if not exists tandem_site.replication_skips (
  slot_name text not null,
  commit_lsn pg_lsn not null,
  xid bigint not null,
  changes bigint not null,
  -- the error the replicator stopped on, when it was about this transaction
  last_error jsonb,
  pid integer,
  host text,
  os_user text,
  skipped_at timestamptz not null default now(),
  primary key (slot_name, commit_lsn)
);
`;

export async function ensureBookkeeping(client: pg.ClientBase): Promise<void> {
  // Already there (every start but the first): one read instead of locked DDL.
  const exists = await client.query<{ ok: boolean }>(
    "select to_regclass('tandem_site.replication_progress') is not null and to_regclass('tandem_site.replication_state') is not null " +
      "and to_regclass('tandem_site.replication_skips') is not null and to_regclass('tandem_site.replicator_incarnation') is not null as ok",
  );
  if (exists.rows[0]!.ok) return;
  // Several replicators may start at once against one target: serialise the DDL.
  await client.query('begin');
  try {
    await client.query("select pg_advisory_xact_lock(hashtext('tandem_site.replication_bookkeeping'))");
    await client.query(DDL);
    await client.query('commit');
  } catch (e) {
    await client.query('rollback').catch(() => undefined);
    throw e;
  }
}

/** A new incarnation number for a replicator that starts (set-state.ts). */
export async function newIncarnation(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ n: string }>("select nextval('tandem_site.replicator_incarnation')::text as n");
  return Number(r.rows[0]!.n);
}
