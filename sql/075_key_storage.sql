-- Key Storage (Rundeck's /storage/keys): private keys, public keys and
-- passwords that node executors use, in the replicated `tandem` schema so a
-- promoted site has the same keys. Every row's content is encrypted with
-- AES-256-GCM under a master key from the configuration
-- (keyStorage.masterKey); `master_key_id` names which master key (a hash of
-- it, never the key) so that `tandem keys rotate` can re-encrypt row by row
-- while servers decrypt with either key. The path is the additional
-- authenticated data: a ciphertext copied onto another row does not decrypt.
create table tandem.storage_keys (
  -- full path, "keys/project/ops/id_rsa"
  path text primary key check (path like 'keys/%'),
  key_type text not null check (key_type in ('private', 'public', 'password')),
  content_type text not null,
  content_size integer not null,
  master_key_id text not null,
  iv bytea not null,
  ciphertext bytea not null,
  auth_tag bytea not null,
  created_by text not null,
  created_at timestamptz not null default now(),
  modified_by text not null,
  modified_at timestamptz not null default now()
);
create index storage_keys_master_key_id on tandem.storage_keys (master_key_id);

-- SSH host keys the SSH node executor has accepted, per project and
-- endpoint (hostname:port). With the default policy `accept-new` the first
-- key seen is recorded here; a different key later is refused until an
-- operator removes this row (API: /api/v1/projects/P/ssh/host-keys).
create table tandem.ssh_host_keys (
  project text not null,
  host text not null,
  key_type text not null,
  -- "SHA256:..." as OpenSSH prints it
  fingerprint text not null,
  public_key bytea not null,
  node text not null,
  first_seen_at timestamptz not null default now(),
  first_seen_execution text,
  primary key (project, host)
);
