-- Job server core: projects, jobs, schedule firings, executions, per-node
-- step results and the records of execution log objects. All in schema
-- `tandem` (replicated to passive sites); every table has a primary key.
--
-- Ids are UUIDs (gen_random_uuid(), core since PostgreSQL 13) rather than
-- identity columns: a promoted passive site keeps inserting with no risk of
-- colliding with ids the old active site handed out but had not replicated
-- yet, and nothing depends on sequences being moved forward at failover.
-- Jobs keep Rundeck's own `uuid` as their id (text: Rundeck accepts any string).

create table tandem.projects (
  id uuid primary key default gen_random_uuid(),
  name text not null unique check (name ~ '^[A-Za-z0-9_.-]{1,100}$'),
  description text not null default '',
  created_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);

create table tandem.jobs (
  id text primary key check (length(id) between 1 and 200),
  project_id uuid not null references tandem.projects(id) on delete cascade,
  group_path text not null default '',
  name text not null check (length(name) between 1 and 500),
  description text not null default '',
  -- the parsed JobDefinition (server/jobs/definition.ts), as JSON
  definition jsonb not null,
  schedule_enabled boolean not null default true,
  execution_enabled boolean not null default true,
  multiple_executions boolean not null default false,
  -- null when the job has no schedule; the scheduler only reads scheduled jobs
  schedule jsonb,
  version int not null default 1,
  created_by text,
  updated_by text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (project_id, group_path, name)
);
create index jobs_scheduled on tandem.jobs (project_id) where schedule is not null;

create table tandem.executions (
  id uuid primary key default gen_random_uuid(),
  project_id uuid not null references tandem.projects(id) on delete cascade,
  job_id text references tandem.jobs(id) on delete set null,
  -- snapshot of what runs, so editing the job does not change a running execution
  job_name text not null,
  job_group text not null default '',
  definition jsonb not null,
  status text not null default 'queued'
    check (status in ('queued', 'running', 'succeeded', 'failed', 'aborted', 'timedout')),
  status_reason text,
  -- option values with secure values replaced by a mask (never stored in clear)
  options jsonb not null default '{}',
  trigger text not null check (trigger in ('user', 'schedule', 'retry')),
  user_name text,
  -- member (job-server process) that runs it; restart recovery closes its own leftovers
  member text,
  -- true when the job refused concurrent runs at the time: see executions_one_active
  exclusive boolean not null default false,
  attempt int not null default 1,
  retry_of uuid references tandem.executions(id) on delete set null,
  scheduled_time timestamptz,
  abort_requested_at timestamptz,
  abort_requested_by text,
  created_at timestamptz not null default now(),
  started_at timestamptz,
  ended_at timestamptz
);
-- multipleExecutions: false, enforced by the database across members and
-- concurrent requests: at most one queued/running execution per exclusive job.
create unique index executions_one_active on tandem.executions (job_id)
  where exclusive and status in ('queued', 'running');
create index executions_project_created on tandem.executions (project_id, created_at desc);
create index executions_job_created on tandem.executions (job_id, created_at desc);
create index executions_active_member on tandem.executions (member) where status in ('queued', 'running');

-- One row per firing of a schedule: the unique (job, scheduled time) key
-- makes a firing happen at most once even when scheduler loops race.
create table tandem.schedule_firings (
  job_id text not null references tandem.jobs(id) on delete cascade,
  scheduled_time timestamptz not null,
  fired_at timestamptz not null default now(),
  member text,
  outcome text not null check (outcome in ('started', 'skipped_misfire', 'skipped_running', 'skipped_disabled', 'failed')),
  execution_id uuid references tandem.executions(id) on delete set null,
  message text,
  primary key (job_id, scheduled_time)
);

-- Per step and node result of an execution (step is `1`, or `2/1` inside a job reference).
create table tandem.step_results (
  execution_id uuid not null references tandem.executions(id) on delete cascade,
  step text not null,
  node text not null,
  status text not null check (status in ('running', 'succeeded', 'failed', 'aborted', 'timedout')),
  exit_code int,
  message text,
  started_at timestamptz not null default now(),
  ended_at timestamptz,
  primary key (execution_id, step, node)
);

-- Names every execution log object so other sites can find and copy it.
create table tandem.log_objects (
  execution_id uuid primary key references tandem.executions(id) on delete cascade,
  store text not null,
  key text not null unique,
  size bigint not null default 0,
  sha256 text,
  complete boolean not null default false,
  updated_at timestamptz not null default now()
);
