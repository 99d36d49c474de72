-- Authentication and authorization state. Everything here lives in the
-- replicated `tandem` schema so that, after a failover, the promoted site
-- knows the same API tokens, the same sessions (a logged-in user stays logged
-- in) and the whole audit trail. Ids are random UUIDs: either site can mint
-- them without a shared sequence, so a promoted site never collides with rows
-- it received from the old active site.

-- API tokens. Only the SHA-256 of a token is stored; the token itself is
-- shown once when it is created.
create table tandem.api_tokens (
  id uuid primary key default gen_random_uuid(),
  token_hash text not null unique,
  username text not null,
  roles text[] not null default '{}',
  description text not null default '',
  created_by text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  revoked_by text,
  last_used_at timestamptz
);
create index api_tokens_username on tandem.api_tokens (username);

-- Browser sessions. The primary key is the SHA-256 of the cookie value, so a
-- copy of this table does not let anyone log in.
create table tandem.sessions (
  id_hash text primary key,
  username text not null,
  roles text[] not null default '{}',
  groups text[] not null default '{}',
  csrf_token text not null,
  client_addr text,
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index sessions_expires_at on tandem.sessions (expires_at);

-- What the server last learned about a user at login (directory groups,
-- roles, display name), for /api/v1/me-style lookups and for administrators.
create table tandem.user_profiles (
  username text primary key,
  display_name text,
  email text,
  source text not null check (source in ('ldap', 'local')),
  groups text[] not null default '{}',
  roles text[] not null default '{}',
  first_login_at timestamptz not null default now(),
  last_login_at timestamptz not null default now()
);

-- Append-only audit trail: logins (never passwords), tokens, jobs,
-- executions, ACL denials.
create table tandem.audit_events (
  id uuid primary key default gen_random_uuid(),
  at timestamptz not null default clock_timestamp(),
  event text not null,
  outcome text not null check (outcome in ('success', 'failure', 'denied')),
  username text,
  client_addr text,
  target text,
  details jsonb not null default '{}'
);
create index audit_events_at on tandem.audit_events (at desc, id);
create index audit_events_username_at on tandem.audit_events (username, at desc);

-- Append-only means append-only: changing or deleting audit rows is refused.
-- (Replication apply runs with session_replication_role = replica, where
-- ordinary triggers do not fire, and it only inserts anyway.)
create function tandem.audit_events_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'tandem.audit_events is append-only (% refused)', tg_op;
end
$$;
create trigger audit_events_append_only
  before update or delete on tandem.audit_events
  for each row execute function tandem.audit_events_append_only();
create trigger audit_events_no_truncate
  before truncate on tandem.audit_events
  for each statement execute function tandem.audit_events_append_only();
