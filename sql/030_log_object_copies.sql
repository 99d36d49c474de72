-- Log object replication: which log objects this site still has to copy from
-- the active site's store into its own. Filled by the replicator's apply hook
-- on `tandem.log_objects` in the same transaction as the row itself, so a
-- record that arrived is never forgotten; emptied by the object copier.
-- Per site (`tandem_site`): never replicated.
create table tandem_site.log_object_copies (
  key text primary key,
  execution_id uuid not null unique,
  -- the version the record names (a checkpoint while the execution runs)
  size bigint not null,
  sha256 text not null,
  complete boolean not null,
  -- pending: to copy (retried with backoff); done: the target store has it;
  -- failed: the copy never matched the record's checksum (reported, not accepted)
  state text not null default 'pending' check (state in ('pending', 'done', 'failed')),
  -- when the oldest version still not copied was requested (backlog age)
  requested_at timestamptz not null default now(),
  attempts int not null default 0,
  mismatches int not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  copied_at timestamptz,
  updated_at timestamptz not null default now()
);
create index log_object_copies_due on tandem_site.log_object_copies (next_attempt_at) where state = 'pending';
