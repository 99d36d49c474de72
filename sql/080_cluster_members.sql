-- Cluster members of one site (server/cluster/README.md). Site-local, never
-- replicated: site b's members are other machines on another database.
--
-- One row per member name. Each start of a member (an incarnation) takes the
-- next `generation`; the member's writes to its executions check, in the same
-- statement, that its generation is still the current one and not `lost`, so
-- an incarnation that was declared dead (and its work recovered) and then
-- comes back (a long pause, a partition) has its late writes refused.
-- Liveness is judged on this database's clock only (`heartbeat_at` is written
-- with now() by the database, compared with now() by the database).
create table tandem_site.members (
  name text primary key check (length(name) between 1 and 200),
  generation bigint not null check (generation >= 1),
  url text not null,
  version text not null,
  pid int,
  started_at timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  tags text[] not null default '{}',
  -- 'active': takes new executions and fires schedules; 'passive': neither (running ones finish)
  execution_mode text not null default 'active' check (execution_mode in ('active', 'passive')),
  scheduler boolean not null default true,
  running int not null default 0,
  capacity int not null default 0,
  -- left cleanly (SIGTERM drain finished)
  stopped_at timestamptz,
  -- declared dead and its executions recovered by `lost_by`; this generation is fenced
  lost_at timestamptz,
  lost_by text
);

-- The site-wide execution mode (Rundeck's POST /system/executions/enable|disable).
create table tandem_site.cluster (
  singleton boolean primary key default true check (singleton),
  execution_mode text not null default 'active' check (execution_mode in ('active', 'passive')),
  updated_by text,
  updated_at timestamptz not null default now()
);
insert into tandem_site.cluster (singleton) values (true);

-- Executions handed to another member by the remote execution policy: which
-- member must start it and since when (re-chosen when not started in time).
-- The execution row itself names the member (tandem.executions.member);
-- this table only keeps the time of the hand-over, which other sites do not need.
-- No foreign key to tandem.executions: the site-local schema must never
-- constrain the replicated one (the replicator copies and truncates it);
-- records of executions no longer queued are pruned by the members.
create table tandem_site.handovers (
  execution_id uuid primary key,
  member text not null,
  assigned_at timestamptz not null default now(),
  attempts int not null default 1
);
