/**
 * The policy used when `auth.aclDir` is not set, so that a fresh install (and
 * `make demo`) is usable and still least-privilege: role `admin` may do
 * everything; role `user` may read projects, jobs, executions and nodes, run jobs,
 * read system info and manage its own API tokens; everybody else gets nothing.
 * It is ordinary policy text, parsed by the same parser as files on disk.
 */
export const DEFAULT_POLICY_FILE = '(embedded default policy)';

export const DEFAULT_POLICY = `
description: Administrators may do everything in every project.
context:
  project: '.*'
for:
  job:
    - allow: '*'
  execution:
    - allow: '*'
  node:
    - allow: '*'
by:
  group: admin
---
description: Administrators may do everything at application level.
context:
  application: tandem
for:
  project:
    - allow: '*'
  system:
    - allow: '*'
  token:
    - allow: '*'
  audit:
    - allow: '*'
  storage:
    - allow: '*'
by:
  group: admin
---
description: Users may read and run jobs and read executions in every project.
context:
  project: '.*'
for:
  job:
    - allow: [read, run]
  execution:
    - allow: [read]
  node:
    - allow: [read]
by:
  group: user
---
description: Users may see projects and system information, and manage their own API tokens.
context:
  application: tandem
for:
  project:
    - allow: [read]
  system:
    - allow: [read]
  token:
    - allow: [read, create, delete]
by:
  group: user
`;
