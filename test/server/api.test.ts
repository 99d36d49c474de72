import t from 'tap';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { startPostgres } from '../harness/postgres.js';
import { readOutput, startTestServer, waitForEnd, yamlHeaders } from './helpers.js';

const fixture = readFileSync(new URL('./fixtures/rundeck-jobs.yaml', import.meta.url), 'utf8');
const DEPLOY = '0b6a8d2e-1111-4c3a-9d7e-5d0f2b7a0001';
const NOTIFY = '0b6a8d2e-2222-4c3a-9d7e-5d0f2b7a0002';

t.test('job server API against real PostgreSQL', async (t) => {
  const pg = await startPostgres(t, { name: 'api' });
  const ts = await startTestServer(t, pg);
  const { api } = ts;

  await t.test('projects', async (t) => {
    const created = await api('POST', '/api/v1/projects', { name: 'web', description: 'Web team' });
    t.equal(created.status, 201);
    t.equal(created.body.name, 'web');
    t.equal((await api('POST', '/api/v1/projects', { name: 'web' })).status, 409, 'duplicate project → 409');
    const bad = await api('POST', '/api/v1/projects', { name: 'no spaces!' });
    t.same([bad.status, bad.body.error.code, bad.body.error.field], [400, 'validation_failed', 'name']);
    const list = await api('GET', '/api/v1/projects');
    t.same(list.body.projects.map((p: any) => p.name), ['web']);
    t.equal((await api('GET', '/api/v1/projects/web')).body.description, 'Web team');
    const missing = await api('GET', '/api/v1/projects/nope');
    t.same([missing.status, missing.body.error.code], [404, 'not_found']);
  });

  await t.test('import a Rundeck YAML export with options, schedules and a job reference; export it back', async (t) => {
    const r = await api('POST', '/api/v1/projects/web/jobs', fixture, yamlHeaders());
    t.equal(r.status, 201, r.text);
    t.equal(r.body.created, 2);
    t.same(r.body.jobs.map((j: any) => j.id).sort(), [DEPLOY, NOTIFY].sort(), 'uuids are kept as ids');
    t.ok(r.body.warnings.length > 0, 'unknown fields are reported as warnings');
    const again = await api('POST', '/api/v1/projects/web/jobs', fixture, yamlHeaders());
    t.same([again.status, again.body.created, again.body.updated], [201, 0, 2], 're-import upserts by uuid');

    const job = await api('GET', `/api/v1/jobs/${DEPLOY}`);
    t.equal(job.status, 200);
    t.same([job.body.name, job.body.group, job.body.project], ['deploy', 'web/deploy', 'web']);
    t.equal(job.body.schedule.timeZone, 'Europe/Berlin');
    t.ok(job.body.schedule.nextFireTime, 'the structured schedule has a next fire time');
    t.equal(job.body.version, 2);

    const exported = await api('GET', `/api/v1/jobs/${DEPLOY}?format=yaml`);
    t.equal(exported.status, 200);
    t.match(exported.headers.get('content-type'), /yaml/);
    const doc = parseYaml(exported.text) as any[];
    t.equal(doc.length, 1);
    const original = (parseYaml(fixture) as any[])[0];
    t.equal(doc[0].uuid, DEPLOY);
    t.same(doc[0].options.map((o: any) => o.name), ['env', 'version', 'password']);
    t.same(doc[0].options[0].values, ['staging', 'production']);
    t.same(doc[0].schedule.time, original.schedule.time, 'structured schedule exported back');
    t.same(doc[0].sequence.commands[2].jobref.name, 'notify', 'job reference exported back');
    t.same(doc[0].plugins, original.plugins, 'unknown field (plugins) kept and exported');
    t.equal(doc[0].timeZone, 'Europe/Berlin');

    const all = await api('GET', '/api/v1/projects/web/jobs?format=json');
    t.equal(JSON.parse(all.text).length, 2, 'the whole project exports as JSON');
    // The exported YAML imports again unchanged.
    const reimport = await api('POST', '/api/v1/projects/web/jobs', exported.text, yamlHeaders());
    t.same([reimport.status, reimport.body.updated], [201, 1]);
    const list = await api('GET', '/api/v1/projects/web/jobs');
    t.same(list.body.jobs.map((j: any) => `${j.group}/${j.name}`), ['web/notify', 'web/deploy/deploy']);
  });

  await t.test('run a job: options validated, secure values masked, jobref runs inline', async (t) => {
    const bad = await api('POST', `/api/v1/jobs/${DEPLOY}/run`, { options: { env: 'qa' } });
    t.same([bad.status, bad.body.error.code, bad.body.error.field], [400, 'invalid_option', 'options.env'], 'enforced values');
    const badRe = await api('POST', `/api/v1/jobs/${DEPLOY}/run`, { options: { version: 'latest' } });
    t.same([badRe.status, badRe.body.error.field], [400, 'options.version'], 'regex');
    const before = await ts.pool.query('select count(*)::int as n from tandem.executions');
    t.equal(before.rows[0].n, 0, 'refused runs wrote nothing');

    const run = await api('POST', `/api/v1/jobs/${DEPLOY}/run`, { options: { env: 'production', version: '2.3.4', password: 'hunter2' } });
    t.equal(run.status, 201, run.text);
    t.ok(['queued', 'running'].includes(run.body.status));
    t.equal(run.body.options.password, '****', 'secure option masked in the execution record');
    const done = await waitForEnd(ts, run.body.id);
    t.equal(done.status, 'succeeded', JSON.stringify(done));
    t.same(done.steps.map((s: any) => [s.step, s.status]), [['1', 'succeeded'], ['2', 'succeeded'], ['3', 'succeeded'], ['3/1', 'succeeded']]);
    const out = await readOutput(ts, run.body.id);
    const texts = out.filter((e) => e.stream === 'stdout').map((e) => e.text);
    t.same(texts, ['deploying 2.3.4 to production', 'script sees production and TANDEM_OPTION_VERSION=2.3.4', 'notify: deployed 2.3.4']);
    t.notOk(JSON.stringify(out).includes('hunter2'), 'the secure value never appears in the log');
    t.match(out[0], { level: 'NORMAL', stream: 'system', node: String, time: /\.\d{6}Z$/ });
    const row = await ts.pool.query('select size, sha256, complete from tandem.log_objects where execution_id = $1', [run.body.id]);
    t.equal(row.rows[0].complete, true, 'the log object is recorded as complete');
    t.match(row.rows[0].sha256, /^[0-9a-f]{64}$/);

    const echoSecret = await api('POST', '/api/v1/projects/web/jobs', [
      { name: 'leak', options: [{ name: 'pw', secure: true }], sequence: { commands: [{ exec: 'echo "pw is ${option.pw}" and $TANDEM_OPTION_PW' }] } },
    ]);
    t.equal(echoSecret.status, 201, echoSecret.text);
    const leak = await api('POST', `/api/v1/jobs/${echoSecret.body.jobs[0].id}/run`, { options: { pw: 'topsecret' } });
    await waitForEnd(ts, leak.body.id);
    const leakOut = await readOutput(ts, leak.body.id);
    t.same(leakOut.filter((e) => e.stream === 'stdout').map((e) => e.text), ['pw is **** and ****'], 'printed secure values are masked');

    // Option values are data, never shell syntax: neither a command line nor script arguments can be injected.
    const inject = await api('POST', '/api/v1/projects/web/jobs', [
      {
        name: 'inject',
        options: [{ name: 'msg' }],
        sequence: {
          commands: [
            { exec: 'echo ${option.msg}' },
            { script: 'printf "arg:%s\\n" "$@"', args: '${option.msg}' },
          ],
        },
      },
    ]);
    t.equal(inject.status, 201, inject.text);
    const hostile = 'hi; echo INJECTED $(echo SUBST) `echo TICK`';
    const injRun = await api('POST', `/api/v1/jobs/${inject.body.jobs[0].id}/run`, { options: { msg: hostile } });
    const injDone = await waitForEnd(ts, injRun.body.id);
    t.equal(injDone.status, 'succeeded', JSON.stringify(injDone));
    const injOut = (await readOutput(ts, injRun.body.id)).filter((e) => e.stream === 'stdout').map((e) => e.text);
    t.same(injOut, [hostile, `arg:${hostile}`], 'the hostile value is printed verbatim as one word, nothing it contains ran');

    const list = await api('GET', '/api/v1/projects/web/executions?status=succeeded&limit=1');
    t.equal(list.status, 200);
    t.equal(list.body.total, 3);
    t.equal(list.body.executions.length, 1);
    const badStatus = await api('GET', '/api/v1/projects/web/executions?status=done');
    t.same([badStatus.status, badStatus.body.error.field], [400, 'status']);
    const badLimit = await api('GET', '/api/v1/projects/web/executions?limit=-1');
    t.same([badLimit.status, badLimit.body.error.field], [400, 'limit']);
  });

  await t.test('error cases', async (t) => {
    const badYaml = await api('POST', '/api/v1/projects/web/jobs', '- name: x\n  sequence: [unclosed\n', yamlHeaders());
    t.equal(badYaml.status, 400);
    t.equal(badYaml.body.error.code, 'invalid_yaml');
    t.match(badYaml.body.error.message, /line \d+, column \d+/);
    const badCron = await api('POST', '/api/v1/projects/web/jobs', '- name: c\n  schedule:\n    crontab: "0 61 * * * ?"\n  sequence:\n    commands:\n    - exec: "true"\n', yamlHeaders());
    t.same([badCron.status, badCron.body.error.code], [400, 'invalid_cron']);
    t.match(badCron.body.error.field, /^jobs\[0\]\.schedule/);
    const count = await ts.pool.query(`select count(*)::int as n from tandem.jobs where name = 'c'`);
    t.equal(count.rows[0].n, 0, 'nothing written');
    // One good and one bad job in the same document: nothing is written.
    const mixed = await api('POST', '/api/v1/projects/web/jobs', [
      { name: 'good', sequence: { commands: [{ exec: 'true' }] } },
      { name: 'bad', schedule: { crontab: 'nonsense' }, sequence: { commands: [{ exec: 'true' }] } },
    ]);
    t.equal(mixed.status, 400);
    t.equal((await ts.pool.query(`select count(*)::int as n from tandem.jobs where name = 'good'`)).rows[0].n, 0, 'the good job of a failed import is not written');

    const big = 'x'.repeat(ts.config.server.bodyLimit + 10);
    const tooBig = await api('POST', '/api/v1/projects/web/jobs', big, yamlHeaders());
    t.same([tooBig.status, tooBig.body.error.code], [413, 'payload_too_large']);
    const wrongType = await api('POST', '/api/v1/projects/web/jobs', 'x', { 'content-type': 'text/plain' });
    t.equal(wrongType.status, 415);
    for (const p of ['/api/v1/jobs/nope', '/api/v1/executions/nope', '/api/v1/executions/00000000-0000-4000-8000-000000000000', '/api/v1/executions/nope/output']) {
      const r = await api('GET', p);
      t.same([r.status, r.body.error.code], [404, 'not_found'], `${p} → 404`);
    }
    t.equal((await api('POST', '/api/v1/jobs/nope/run', {})).status, 404);
    const noToken = await fetch(ts.url + '/api/v1/projects');
    t.equal(noToken.status, 401);
    t.equal(((await noToken.json()) as any).error.code, 'unauthorized');
    const badToken = await fetch(ts.url + '/api/v1/projects', { headers: { authorization: 'Bearer tdm_wrong' } });
    t.equal(badToken.status, 401);
    const badJson = await api('POST', '/api/v1/projects', '{nope', {});
    t.same([badJson.status, badJson.body.error.code], [400, 'bad_request']);
    const badOffset = await api('GET', `/api/v1/executions/00000000-0000-4000-8000-000000000000/output?offset=x`);
    t.equal(badOffset.status, 404, 'unknown execution wins over a bad offset');
  });

  await t.test('update and delete', async (t) => {
    const put = await api('PUT', `/api/v1/jobs/${NOTIFY}`, '- name: notify\n  group: web\n  description: changed\n  options:\n  - name: message\n  sequence:\n    commands:\n    - exec: echo changed\n', yamlHeaders());
    t.equal(put.status, 200, put.text);
    t.equal(put.body.description, 'changed');
    const mismatch = await api('PUT', `/api/v1/jobs/${NOTIFY}`, `- uuid: ${DEPLOY}\n  name: notify\n  sequence:\n    commands:\n    - exec: "true"\n`, yamlHeaders());
    t.equal(mismatch.status, 400);
    t.equal((await api('DELETE', `/api/v1/jobs/${NOTIFY}`)).status, 204);
    t.equal((await api('GET', `/api/v1/jobs/${NOTIFY}`)).status, 404);
    const execs = await api('GET', '/api/v1/projects/web/executions');
    t.ok(execs.body.total >= 2, 'executions stay after their job is deleted');
    t.equal((await api('DELETE', '/api/v1/projects/web')).status, 204);
    t.equal((await api('GET', '/api/v1/projects/web')).status, 404);
  });
});
