/**
 * Security findings, execution side: each finding's reproduction, against one real job
 * server (PostgreSQL, HTTP, local executor) with ACL policy files:
 *  2. job references across projects need `run` on the referenced job, at
 *     import and again at run time, and reveal nothing about projects the
 *     user may not read;
 *  3. steps get a clean environment (options, RD_* context, PATH, HOME, LANG);
 *  4. user-supplied patterns run in linear time; RE2-inexpressible ones are
 *     refused where they are written;
 *  6. job reference arguments are split before substitution;
 *  7. error messages built from user data are masked;
 *  8. a long line is masked before it is cut.
 */
import t from 'tap';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { parseAclText } from '../../server/auth/acl/parse.js';
import { createToken } from '../../server/auth/tokens.js';
import { ADMIN_POLICY, aclDir } from '../harness/acl.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { readOutput, startTestServer, waitForEnd } from '../server/helpers.js';

/** alpha-team: everything on jobs of project alpha and nothing else; beta-viewer: runs in alpha, only reads beta. */
const POLICIES = `
description: the alpha team works in project alpha only
context:
  project: alpha
for:
  job:
    - allow: [read, run, create, update]
  execution:
    - allow: [read]
by:
  group: alpha-team
---
context:
  application: tandem
for:
  project:
    - equals: { name: alpha }
      allow: [read]
by:
  group: alpha-team
---
description: beta viewers run jobs in alpha and may only look at beta
context:
  project: '(alpha|beta)'
for:
  job:
    - match: { name: '.*' }
      allow: [read]
    - equals: { name: caller }
      allow: [run, create, update]
  execution:
    - allow: [read]
by:
  group: beta-viewer
---
context:
  application: tandem
for:
  project:
    - match: { name: '(alpha|beta)' }
      allow: [read]
by:
  group: beta-viewer
`;

/** The secure fixture values contain "secure-option-fixture": test/scan-secrets.mjs fails the run if a log line holds one. */
const QUOTED_SECRET = 'Sec"ret-secure-option-fixture-QQ9';
const LONG_SECRET = 'secure-option-fixture-cut-here-0123456789';

t.test('security: execution', async (t) => {
  const pg = await startPostgres(t, { name: 'secexec' });
  const scratch = await tempDir(t, 'scratch');
  const ts = await startTestServer(t, pg, { overrides: { 'auth.aclDir': await aclDir(t, ADMIN_POLICY, POLICIES) } });
  const tokenFor = async (user: string, roles: string[]) => (await createToken(ts.pool, { user, roles })).token;
  const alice = await tokenFor('alice', ['alpha-team']);
  const viewer = await tokenFor('vera', ['beta-viewer']);
  const as = (token: string) => (method: string, p: string, body?: unknown) => ts.api(method, p, body, { authorization: `Bearer ${token}` });
  const importInto = async (project: string, jobs: unknown[], token = ts.token) => {
    const r = await as(token)('POST', `/api/v1/projects/${project}/jobs`, jobs);
    return r;
  };
  const mustImport = async (project: string, jobs: unknown[], token = ts.token): Promise<string[]> => {
    const r = await importInto(project, jobs, token);
    if (r.status !== 201) throw new Error(`import into ${project} failed: ${r.status} ${r.text}`);
    return r.body.jobs.map((j: { id: string }) => j.id);
  };
  for (const name of ['alpha', 'beta']) t.equal((await ts.api('POST', '/api/v1/projects', { name })).status, 201);

  // beta's job: its secure default must never reach a step started by someone who may not run it.
  const betaMarker = path.join(scratch, 'beta-ran');
  const [betaDeploy] = await mustImport('beta', [
    {
      name: 'deploy',
      options: [{ name: 'token', secure: true, value: 'secure-option-fixture-beta-default' }],
      sequence: { commands: [{ exec: `touch ${betaMarker}; echo "beta ran with $TANDEM_OPTION_TOKEN"` }] },
    },
  ]);

  await t.test('2. a reference naming a project the user may not read is refused at import, revealing nothing', async (t) => {
    const byName = await importInto('alpha', [{ name: 'sneaky', sequence: { commands: [{ jobref: { project: 'beta', name: 'deploy' } }] } }], alice);
    t.equal(byName.status, 403, byName.text);
    t.equal(byName.body.error.field, 'jobs[0].sequence.commands[0].jobref.project');
    const nowhere = await importInto('alpha', [{ name: 'sneaky', sequence: { commands: [{ jobref: { project: 'gamma', name: 'nothing' } }] } }], alice);
    t.equal(nowhere.status, 403, 'a project that does not exist is refused the same way');
    t.equal(nowhere.body.error.message.replace('gamma', 'beta'), byName.body.error.message, 'the same words whether or not it exists');
    t.notMatch(byName.body.error.message, /deploy|exists|not found/, 'nothing is said about what the project holds');
  });

  await t.test('2. a reference by uuid into such a project does not run it, and reads like a reference to nothing', async (t) => {
    const [sneaky, dangling] = await mustImport(
      'alpha',
      [
        { name: 'by-uuid', sequence: { commands: [{ jobref: { uuid: betaDeploy } }] } },
        { name: 'to-nothing', sequence: { commands: [{ jobref: { uuid: '00000000-0000-4000-8000-000000000000' } }] } },
      ],
      alice,
    );
    const run = await as(alice)('POST', `/api/v1/jobs/${sneaky}/run`, {});
    t.equal(run.status, 201, run.text);
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'failed');
    t.notOk(existsSync(betaMarker), "beta's step did not run");
    const other = await waitForEnd(ts, (await as(alice)('POST', `/api/v1/jobs/${dangling}/run`, {})).body.id);
    t.equal(done.statusReason.replace(betaDeploy, 'ID'), other.statusReason.replace('00000000-0000-4000-8000-000000000000', 'ID'), 'same answer as for a job that does not exist');
    t.match(done.statusReason, /not found/);
  });

  await t.test('2. run time: a reference imported by an admin does not let a user run what they may not', async (t) => {
    const [caller] = await mustImport('alpha', [{ name: 'caller-of-beta', sequence: { commands: [{ jobref: { project: 'beta', name: 'deploy' } }] } }]);
    const run = await as(alice)('POST', `/api/v1/jobs/${caller}/run`, {});
    t.equal(run.status, 201, run.text);
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'failed');
    t.match(done.statusReason, /referenced job .*deploy not found/);
    t.notOk(existsSync(betaMarker), "beta's step did not run");
    // The admin may: the same job runs beta's step for them.
    const adminRun = await waitForEnd(ts, (await ts.api('POST', `/api/v1/jobs/${caller}/run`, {})).body.id);
    t.equal(adminRun.status, 'succeeded', JSON.stringify(adminRun));
    t.ok(existsSync(betaMarker), "beta's step ran for the admin");
    const out = await readOutput(ts, adminRun.id);
    t.ok(out.some((e) => e.text === 'beta ran with ****'), 'the referenced secure default is masked');
  });

  await t.test('2. a user who may read but not run the referenced job gets a clear error at import and at run time', async (t) => {
    const r = await importInto('alpha', [{ name: 'caller', sequence: { commands: [{ jobref: { project: 'beta', name: 'deploy' } }] } }], viewer);
    t.equal(r.status, 403, r.text);
    t.equal(r.body.error.field, 'jobs[0].sequence.commands[0].jobref');
    t.match(r.body.error.message, /may not run the referenced job beta\/deploy/);
    const [caller] = await mustImport('alpha', [{ name: 'caller', sequence: { commands: [{ jobref: { project: 'beta', name: 'deploy' } }] } }]);
    const done = await waitForEnd(ts, (await as(viewer)('POST', `/api/v1/jobs/${caller}/run`, {})).body.id);
    t.equal(done.status, 'failed');
    t.match(done.statusReason, /vera may not run the referenced job beta\/deploy/);
  });

  await t.test('3. a step sees options, the RD_* context, PATH, HOME and LANG, and nothing of the server', async (t) => {
    const saved = { url: process.env.TANDEM_DATABASE_URL, file: process.env.TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE };
    // The server runs in this process: what is set here is the server's environment.
    process.env.TANDEM_DATABASE_URL = ts.dbUrl;
    process.env.TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE = path.join(scratch, 'bind-password');
    t.teardown(() => {
      for (const [k, v] of [['TANDEM_DATABASE_URL', saved.url], ['TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE', saved.file]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    // Names of every variable, values of the step's own (single-line) ones: a value may span lines.
    const probe = `awk 'BEGIN { for (k in ENVIRON) if (k ~ /^(PATH|HOME|LANG|RD_|TANDEM_|NODE_OPTIONS$)/) print k "=" ENVIRON[k]; else print k "=(other)" }'; env | grep -c 'postgres://' || true`;
    const [id] = await mustImport('alpha', [{ name: 'env', group: 'probe', options: [{ name: 'my-opt', value: 'v1' }], sequence: { commands: [{ exec: probe }] } }]);
    const done = await waitForEnd(ts, (await ts.api('POST', `/api/v1/jobs/${id}/run`, {})).body.id);
    t.equal(done.status, 'succeeded');
    const lines = (await readOutput(ts, done.id)).filter((e) => e.stream === 'stdout').map((e) => e.text as string);
    t.equal(lines.pop(), '0', 'no database URL anywhere in the environment');
    const env = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    const own = (k: string) => /^(PATH|HOME|LANG|RD_[A-Z0-9_]+|TANDEM_OPTION_[A-Z0-9_]+|TANDEM_EXECUTION_ID|TANDEM_PROJECT|TANDEM_STEP|TANDEM_NODE)$/.test(k);
    // What sh itself adds to what it was given.
    const shell = (k: string) => ['PWD', 'OLDPWD', 'SHLVL', '_'].includes(k);
    // Under tap (only), its process-info hook wraps child_process.spawn in every process, the spawn helper included,
    // and adds its own variables to every child: they come from the test runner, not from the server's environment.
    const tap = (k: string) => k.startsWith('_TAPJS_PROCESSINFO_') || (k === 'NODE_OPTIONS' && /@tapjs\/processinfo/.test(env[k] ?? ''));
    t.same(Object.keys(env).filter((k) => !own(k) && !shell(k) && !tap(k)), [], 'no variable of the server');
    t.notOk(Object.keys(env).some((k) => k.endsWith('_FILE') || k.startsWith('TANDEM_DATABASE')), 'no _FILE path, no database setting');
    t.equal(env.PATH, '/usr/local/bin:/usr/bin:/bin');
    t.ok(env.HOME && env.LANG, 'HOME and LANG are set');
    t.match(env, {
      RD_JOB_NAME: 'env',
      RD_JOB_GROUP: 'probe',
      RD_JOB_PROJECT: 'alpha',
      RD_JOB_ID: id,
      RD_JOB_EXECID: done.id,
      RD_JOB_USERNAME: 'admin',
      RD_OPTION_MY_OPT: 'v1',
      TANDEM_OPTION_MY_OPT: 'v1',
      RD_NODE_NAME: String,
    });
  });

  await t.test('4. an adversarial option regex answers at once and blocks nobody', async (t) => {
    const [id] = await mustImport('alpha', [{ name: 'redos', options: [{ name: 'v', regex: '^(a+)+$' }], sequence: { commands: [{ exec: 'true' }] } }]);
    const health = ts.api('GET', '/health/live');
    const bad = await ts.api('POST', `/api/v1/jobs/${id}/run`, { options: { v: 'a'.repeat(30) + 'b' } });
    t.same([bad.status, bad.body.error.code, bad.body.error.field], [400, 'invalid_option', 'options.v']);
    t.equal((await health).status, 200, 'the member kept answering');
    const good = await ts.api('POST', `/api/v1/jobs/${id}/run`, { options: { v: 'aaaa' } });
    t.equal(good.status, 201, 'a matching value runs');
    await waitForEnd(ts, good.body.id);
    // 100,000 characters: linear time, still one short request.
    const long = await ts.api('POST', `/api/v1/jobs/${id}/run`, { options: { v: 'a'.repeat(100_000) + 'b' } });
    t.equal(long.status, 400);
  });

  await t.test('4. patterns RE2 cannot express are refused at import and at policy load', async (t) => {
    for (const regex of ['(a)\\1', '(?=a)a', 'x(?<!y)']) {
      const r = await importInto('alpha', [{ name: 'backref', options: [{ name: 'v', regex }], sequence: { commands: [{ exec: 'true' }] } }]);
      t.equal(r.status, 400, `${regex}: ${r.text}`);
      t.equal(r.body.error.field, 'jobs[0].options[0].regex');
      t.match(r.body.error.message, /not a supported regular expression .*RE2/);
    }
    const policy = parseAclText(`context:\n  project: '(?!secret).*'\nfor:\n  job:\n    - match: { name: '(\\w)\\1' }\n      allow: [read]\nby:\n  group: x\n`, 'lookaround.aclpolicy');
    t.same(
      policy.problems.map((p) => [p.line, p.path]),
      [
        [2, 'context.project'],
        [5, 'for.job[0].match.name'],
      ],
    );
    t.match(policy.problems[0]!.message, /not a supported regular expression .*RE2/);
    // Ordinary patterns keep their meaning: whole-value match.
    const ok = parseAclText(`context:\n  project: 'team-[0-9]+'\nfor:\n  job:\n    - match: { group: 'prod/.*' }\n      allow: [read]\nby:\n  group: x\n`, 'ok.aclpolicy');
    t.same(ok.problems, []);
    const ctx = ok.policies[0]!.context;
    t.ok(ctx.kind === 'project' && ctx.project.test('team-12') && !ctx.project.test('xteam-12') && !ctx.project.test('team-12x'));
  });

  await t.test('6. job reference arguments are split before options are substituted', async (t) => {
    await mustImport('alpha', [
      {
        name: 'child',
        options: [{ name: 'msg' }, { name: 'env', value: 'dev' }],
        sequence: { commands: [{ exec: 'echo "msg=[$TANDEM_OPTION_MSG] env=[$TANDEM_OPTION_ENV]"' }] },
      },
    ]);
    const [parent] = await mustImport('alpha', [
      { name: 'parent', options: [{ name: 'msg' }], sequence: { commands: [{ jobref: { name: 'child', args: '-msg ${option.msg}' } }] } },
    ]);
    const done = await waitForEnd(ts, (await ts.api('POST', `/api/v1/jobs/${parent}/run`, { options: { msg: 'x -env prod' } })).body.id);
    t.equal(done.status, 'succeeded', JSON.stringify(done));
    const out = (await readOutput(ts, done.id)).filter((e) => e.stream === 'stdout').map((e) => e.text);
    t.same(out, ['msg=[x -env prod] env=[dev]'], 'the value stayed one argument; env kept its default');
  });

  await t.test('7. an error message built from a secure value is masked everywhere', async (t) => {
    await mustImport('alpha', [{ name: 'strict-child', options: [{ name: 'msg', regex: '[a-z]+' }], sequence: { commands: [{ exec: 'true' }] } }]);
    const [parent] = await mustImport('alpha', [
      {
        name: 'quoting-parent',
        options: [{ name: 'pw', secure: true }],
        sequence: { commands: [{ jobref: { name: 'strict-child', args: '-msg ${option.pw}' } }] },
      },
    ]);
    const done = await waitForEnd(ts, (await ts.api('POST', `/api/v1/jobs/${parent}/run`, { options: { pw: QUOTED_SECRET } })).body.id);
    t.equal(done.status, 'failed');
    const out = await readOutput(ts, done.id);
    const everything = JSON.stringify({ done, out });
    t.notOk(everything.includes('secure-option-fixture'), 'the secure value is in no step result, reason or log line');
    t.match(done.steps[0].message, /option "msg": "\*\*\*\*" does not match \[a-z\]\+/, 'the message still says what is wrong');
  });

  await t.test('8. a secure value across the 64 KiB cut of a long line is masked', async (t) => {
    // The value starts 5 characters before the cut, and the line goes on far past it (its end is read later).
    const [id] = await mustImport('alpha', [
      {
        name: 'long-line',
        options: [{ name: 'pw', secure: true }],
        sequence: {
          commands: [{ exec: `head -c ${64 * 1024 - 5} /dev/zero | tr '\\0' x; printf '%s' "$TANDEM_OPTION_PW"; head -c 70000 /dev/zero | tr '\\0' y; echo` }],
        },
      },
    ]);
    const done = await waitForEnd(ts, (await ts.api('POST', `/api/v1/jobs/${id}/run`, { options: { pw: LONG_SECRET } })).body.id);
    t.equal(done.status, 'succeeded');
    const pieces = (await readOutput(ts, done.id)).filter((e) => e.stream === 'stdout').map((e) => e.text as string);
    t.ok(pieces.length >= 2, 'the line was cut');
    t.ok(pieces.every((p) => p.length <= 64 * 1024), 'no piece is longer than 64 KiB');
    const joined = pieces.join('');
    t.notOk(joined.includes(LONG_SECRET.slice(0, 5)) || joined.includes(LONG_SECRET.slice(5)), 'no part of the value is left');
    t.ok(joined.includes('x****y'), 'the value is masked whole');
    t.equal(joined.length, 64 * 1024 - 5 + 4 + 70000, 'nothing else is lost');
  });
});

