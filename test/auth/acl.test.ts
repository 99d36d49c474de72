import t from 'tap';
import { parseAclText, formatProblem } from '../../server/auth/acl/parse.js';
import { PolicySet } from '../../server/auth/acl/evaluate.js';
import { loadPolicies } from '../../server/auth/acl/load.js';
import { Throttle } from '../../server/auth/throttle.js';
import { parseRoleMap, rolesFor } from '../../server/auth/ldap/role-map.js';

function policies(text: string): PolicySet {
  const { policies, problems } = parseAclText(text, 'test.aclpolicy');
  if (problems.length) throw new Error(problems.map(formatProblem).join('\n'));
  return new PolicySet(policies);
}

t.test('validation errors point at the line and column', async (t) => {
  const cases: [string, RegExp][] = [
    ['context:\n  project: ops\nfor:\n  job:\n    - allow: [read, rn]\nby:\n  group: dev\n', /^f:5:21: for\.job\[0\]\.allow\[1\]: unknown action "rn"/],
    ['context:\n  project: "ops("\nfor:\n  job:\n    - allow: read\nby:\n  group: dev\n', /^f:2:12: context\.project: not a valid regular expression/],
    ['context:\n  project: ops\nfor:\n  jobs:\n    - allow: read\nby:\n  group: dev\n', /^f:4:3: for\.jobs: unknown key \(expected one of project, job, execution, system, token, audit, node, storage\)/],
    ['context:\n  project: ops\nfor:\n  job:\n    - equals: { name: x }\nby:\n  group: dev\n', /^f:5:7: for\.job\[0\]: a rule needs allow or deny/],
    ['context:\n  project: ops\nfor:\n  system:\n    - allow: read\nby:\n  group: dev\n', /^f:5:5: for\.system: "system" rules belong in a policy with context application: tandem/],
    ['context:\n  project: ops\nfor:\n  job:\n    - allow: read\n', /^f:1:1: document 1: missing "by"/],
    ['context:\n  project: ops\nfor:\n  job:\n    - allow: read\n      equals: { colour: red }\nby:\n  group: dev\n', /^f:6:17: for\.job\[0\]\.equals\.colour: unknown key/],
    ['a: [unclosed\n', /^f:\d+:\d+: invalid YAML/],
    ['context:\n  application: tandem\nfor:\n  project:\n    - allow: read\nby:\n  group: dev\n---\ncontext:\n  application: other\nfor:\n  system:\n    - allow: read\nby:\n  group: dev\n', /^f:10:16: context\.application: expected "tandem"/],
  ];
  for (const [text, re] of cases) {
    const { problems } = parseAclText(text, 'f');
    t.ok(problems.length >= 1, `problem found for ${re}`);
    t.match(formatProblem(problems[0]!), re);
  }
});

t.test('decisions: allow, deny wins, default deny, contexts, by user or role, regex and equals', async (t) => {
  const p = policies(`
context:
  project: 'ops|web'
for:
  job:
    - allow: [read, run]
    - equals: { group: prod }
      deny: [run]
    - match: { name: 'deploy-.*' }
      allow: [update]
  execution:
    - allow: [read]
by:
  group: [dev, qa]
---
context:
  project: '.*'
for:
  job:
    - allow: '*'
by:
  username: root
---
context:
  application: tandem
for:
  project:
    - equals: { name: ops }
      allow: [read]
by:
  group: dev
`);
  const dev = { user: 'd', roles: ['dev'] };
  const job = (project: string, name: string, group = '') => ({ type: 'job' as const, project, job: { name, group } });
  t.equal(p.decide(dev, 'run', job('ops', 'x')).allowed, true, 'allowed');
  t.equal(p.decide({ user: 'q', roles: ['qa'] }, 'run', job('web', 'x')).allowed, true, 'any listed role');
  const denied = p.decide(dev, 'run', job('ops', 'x', 'prod'));
  t.equal(denied.allowed, false, 'deny wins over allow');
  t.match(denied.reason, /denied by test\.aclpolicy:\d+/);
  t.equal(p.decide(dev, 'read', job('ops', 'x', 'prod')).allowed, true, 'deny only covers its actions');
  t.equal(p.decide(dev, 'update', job('ops', 'deploy-web')).allowed, true, 'regex match');
  t.equal(p.decide(dev, 'update', job('ops', 'xdeploy-web')).allowed, false, 'regex is anchored');
  t.equal(p.decide(dev, 'delete', job('ops', 'x')).allowed, false, 'no rule: denied');
  t.equal(p.decide(dev, 'read', job('opsx', 'x')).allowed, false, 'project regex is anchored');
  t.equal(p.decide(dev, 'read', job('other', 'x')).allowed, false, 'other project');
  t.equal(p.decide({ user: 'root', roles: [] }, 'delete', job('any', 'x')).allowed, true, 'by username');
  t.equal(p.decide({ user: 'root2', roles: [] }, 'delete', job('any', 'x')).allowed, false, 'username is exact');
  t.equal(p.decide(dev, 'read', { type: 'project', project: 'ops' }).allowed, true, 'application context');
  t.equal(p.decide(dev, 'read', { type: 'project', project: 'web' }).allowed, false);
  t.equal(p.decide(dev, 'read', { type: 'system' }).allowed, false);
  t.equal(p.decide({ user: 'x', roles: [] }, 'read', job('ops', 'x')).allowed, false, 'nobody');
});

t.test('the embedded default policy', async (t) => {
  const p = loadPolicies(undefined);
  const admin = { user: 'a', roles: ['admin'] };
  const user = { user: 'u', roles: ['user'] };
  const job = { type: 'job' as const, project: 'p', job: { name: 'j' } };
  for (const a of ['read', 'run', 'create', 'update', 'delete', 'kill', 'admin'] as const) t.ok(p.decide(admin, a, job).allowed, `admin may ${a}`);
  t.ok(p.decide(admin, 'read', { type: 'audit' }).allowed);
  t.ok(p.decide(user, 'read', job).allowed);
  t.ok(p.decide(user, 'run', job).allowed);
  t.notOk(p.decide(user, 'delete', job).allowed);
  t.notOk(p.decide(user, 'kill', { type: 'execution', project: 'p' }).allowed);
  t.notOk(p.decide(user, 'read', { type: 'audit' }).allowed);
  t.notOk(p.decide({ user: 'x', roles: ['other'] }, 'read', job).allowed);
});

t.test('loading a directory refuses a bad file', async (t) => {
  t.throws(() => loadPolicies('/nonexistent-dir-for-test'), { code: 'invalid_config' });
});

t.test('throttle: delays double and are capped; success clears; the window forgets', async (t) => {
  let now = 0;
  const th = new Throttle({ maxFailures: 2, windowMs: 10_000, baseBlockMs: 1000, maxBlockMs: 4000, now: () => now });
  th.fail('u');
  t.equal(th.retryAfterMs('u'), 0, 'below the limit');
  th.fail('u');
  t.equal(th.retryAfterMs('u'), 1000);
  th.fail('u');
  t.equal(th.retryAfterMs('u'), 2000, 'doubles');
  th.fail('u');
  th.fail('u');
  th.fail('u');
  t.equal(th.retryAfterMs('u'), 4000, 'capped');
  now = 20_000;
  t.equal(th.retryAfterMs('u'), 0, 'forgotten after the window once no longer blocking');
  th.fail('v');
  th.fail('v');
  th.succeed('v');
  t.equal(th.retryAfterMs('v'), 0, 'success clears');
  const small = new Throttle({ maxFailures: 1, windowMs: 10_000, baseBlockMs: 1000, maxBlockMs: 1000, maxKeys: 3, now: () => now });
  for (const k of ['a', 'b', 'c', 'd']) small.fail(k);
  t.equal(small.retryAfterMs('a'), 0, 'the oldest key is dropped when full');
  t.equal(small.retryAfterMs('d'), 1000);
});

t.test('role map', async (t) => {
  const m = parseRoleMap('ops=admin, devs=user,Ops=auditor');
  t.same(rolesFor(['OPS', 'devs', 'other'], m, ['everyone']), ['admin', 'auditor', 'everyone', 'user']);
  t.same(rolesFor(['ops', 'devs'], new Map(), []), ['devs', 'ops'], 'empty map: group names are roles');
  t.throws(() => parseRoleMap('ops'), { code: 'invalid_config' });
  t.throws(() => parseRoleMap('=admin'), { code: 'invalid_config' });
});
