-- A project's SSH settings (server/nodes/ssh/README.md): the `ssh-*` values
-- that apply to every node of the project that does not set them itself
-- (Rundeck's order: node attribute, then project, then the server's
-- configuration). One row per project; removed with the project.
create table tandem.project_ssh_settings (
  project_id uuid primary key references tandem.projects(id) on delete cascade,
  settings jsonb not null default '{}' check (jsonb_typeof(settings) = 'object'),
  updated_by text not null,
  updated_at timestamptz not null default now()
);
