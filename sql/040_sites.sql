-- Sites and failover.
--
-- `tandem_site.site` (never replicated): this database's site name, its role
-- and its epoch. The epoch only grows; each promotion takes a new epoch higher
-- than any this site has seen, so that a returning old active site finds a
-- higher epoch at a peer and fences itself.
create table tandem_site.site (
  -- one row per database
  singleton boolean primary key default true check (singleton),
  name text not null check (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
  role text not null check (role in ('active', 'draining', 'passive', 'fenced')),
  epoch bigint not null check (epoch >= 0),
  -- where writes should go when this site is not active (the 503 answer names it)
  active_site text,
  active_url text,
  reason text,
  updated_at timestamptz not null default now()
);

create function tandem_site.site_epoch_only_grows() returns trigger
language plpgsql as $$
begin
  if new.epoch < old.epoch then
    raise exception 'tandem_site.site.epoch only grows (% -> % refused)', old.epoch, new.epoch;
  end if;
  return new;
end
$$;
create trigger site_epoch_only_grows
  before update on tandem_site.site
  for each row execute function tandem_site.site_epoch_only_grows();

-- The epochs this site has seen at its peers (written by the site monitor and
-- the failover command). A forced failover takes a new epoch above all of them.
create table tandem_site.peer_epochs (
  site text primary key,
  epoch bigint not null,
  role text,
  seen_at timestamptz not null default now()
);

-- The failover journal: one row per `tandem failover` run, kept on the target
-- site's database (the one being promoted, reachable in both modes). A re-run
-- reads it to resume (the drain point, the new epoch) and to print history.
create table tandem_site.failover_journal (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('switchover', 'forced')),
  from_site text not null,
  to_site text not null,
  state text not null default 'running' check (state in ('running', 'done', 'undone', 'failed')),
  -- finished steps: [{step, ms, at, detail}]
  steps jsonb not null default '[]',
  drain_lsn pg_lsn,
  applied_lsn pg_lsn,
  applied_commit_time timestamptz,
  new_epoch bigint,
  error text,
  started_at timestamptz not null default now(),
  finished_at timestamptz
);
create unique index failover_journal_one_running on tandem_site.failover_journal ((true)) where state = 'running';

-- Replicated site events: drain points written by the old active after it is
-- fenced (their arrival at the target proves everything before them arrived:
-- replication applies in commit order), and promotions with their epoch (so a
-- passive site knows the latest epoch of the active it follows).
create table tandem.site_events (
  id uuid primary key default gen_random_uuid(),
  kind text not null check (kind in ('drain_point', 'promoted', 'forced_promoted')),
  site text not null,
  epoch bigint not null,
  details jsonb not null default '{}',
  at timestamptz not null default clock_timestamp()
);
create index site_events_epoch on tandem.site_events (epoch desc);

-- Fencing in depth on the replication path: a replicator still running into
-- a site that has been promoted (e.g. the old active came back after a
-- forced failover) must not apply anything there. The failover command and
-- `tandem site init` attach this function as an ALWAYS trigger (it fires
-- under session_replication_role = replica too) to the replicator's progress
-- table, which is written in the same transaction as every applied change.
create function tandem_site.refuse_apply_on_active() returns trigger
language plpgsql as $$
begin
  if exists (select 1 from tandem_site.site where role = 'active') then
    raise exception 'this site is active: replication into it is refused (site_active)'
      using hint = 'a promoted site does not take changes from its old source; rebuild the old site with `tandem rejoin`';
  end if;
  return new;
end
$$;
