-- Nodes (server/nodes/README.md). Both tables are in the replicated schema:
-- a passive site has the same resource model configuration and the same
-- per-node outcome of every execution after a failover.

-- A project's ordered list of node sources (server/nodes/sources.ts), one
-- JSON array: the API replaces the whole list at once, and order matters
-- (later sources win for the same node name).
create table tandem.node_sources (
  project_id uuid primary key references tandem.projects(id) on delete cascade,
  sources jsonb not null default '[]' check (jsonb_typeof(sources) = 'array'),
  version int not null default 1,
  updated_by text,
  updated_at timestamptz not null default now()
);

-- The nodes an execution targets, in dispatch order, and how each ended:
-- the source of Rundeck's successfulNodes / failedNodes.
create table tandem.execution_nodes (
  execution_id uuid not null references tandem.executions(id) on delete cascade,
  node text not null,
  position int not null,
  status text not null default 'pending' check (status in ('pending', 'running', 'succeeded', 'failed', 'aborted', 'timedout')),
  primary key (execution_id, node)
);
