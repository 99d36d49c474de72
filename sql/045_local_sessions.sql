-- Browser sessions opened on a site that is not active (passive, fenced,
-- draining). Such a site cannot write the replicated `tandem.sessions` (its
-- database defaults to read-only transactions and anything written there
-- would diverge from the active site), yet a user must still be able to log
-- in and look. These sessions live in the per-site schema, are never
-- replicated, and only ever read: the job server refuses every change made
-- with one of them. Same shape as tandem.sessions; only the SHA-256 of the
-- cookie value is stored.
create table tandem_site.local_sessions (
  id_hash text primary key,
  username text not null,
  roles text[] not null default '{}',
  groups text[] not null default '{}',
  csrf_token text not null,
  client_addr text,
  -- the role of the site when the session was opened (for operators)
  site_role text not null check (site_role in ('draining', 'passive', 'fenced')),
  created_at timestamptz not null default now(),
  last_seen_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index local_sessions_expires_at on tandem_site.local_sessions (expires_at);
