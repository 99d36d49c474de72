/**
 * PolicySet.jobScope, pure: when may a job list be paged in SQL ('all'),
 * answered empty ('none'), or must each job be decided ('some')?
 */
import t from 'tap';
import { parseAclOrThrow } from '../../server/auth/acl/parse.js';
import { PolicySet } from '../../server/auth/acl/evaluate.js';

const policies = new PolicySet(
  parseAclOrThrow(
    `
description: ops reads every job of ops
context: { project: 'ops' }
for:
  job: [{ allow: [read, run] }]
by: { group: ops }
---
description: dev reads jobs of ops but not the secret ones
context: { project: 'ops' }
for:
  job:
    - allow: [read]
    - match: { name: 'secret-.*' }
      deny: [read]
by: { group: dev }
---
description: a rule about run with a name does not make read per job
context: { project: 'ops' }
for:
  job:
    - allow: [read]
    - equals: { name: deploy }
      allow: [run]
by: { group: runner }
---
description: banned reads nothing
context: { project: 'ops' }
for:
  job:
    - allow: [read]
    - deny: [read]
by: { group: banned }
`,
    'test.aclpolicy',
  ),
);

const who = (role: string) => ({ user: 'u', roles: [role] });

t.equal(policies.jobScope(who('ops'), 'read', 'ops'), 'all', 'allowed for every job');
t.equal(policies.jobScope(who('ops'), 'read', 'other'), 'none', 'no rule in another project');
t.equal(policies.jobScope(who('dev'), 'read', 'ops'), 'some', 'a deny matching names: job by job');
t.equal(policies.jobScope(who('runner'), 'read', 'ops'), 'all', 'a named rule about another action does not count');
t.equal(policies.jobScope(who('runner'), 'run', 'ops'), 'some', 'but does for its own action');
t.equal(policies.jobScope(who('banned'), 'read', 'ops'), 'none', 'a deny for every job wins');
t.equal(policies.jobScope(who('nobody'), 'read', 'ops'), 'none', 'no policy names the subject');
