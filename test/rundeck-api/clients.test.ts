/**
 * Rundeck clients this project did not write, against a real Tandem:
 *
 * - pyrundeck (Debian package python3-pyrundeck, installed by `make install`):
 *   fixtures/pyrundeck-driver.py lists projects, runs a job with options,
 *   follows its output to the end, aborts a run, queries executions, and
 *   logs in with a password (j_security_check + JSESSIONID). The test FAILS
 *   when the package is missing (the import error ends the driver).
 * - rundeck-cli's request sequence (fixtures/rd-cli-sequence.json, read
 *   from rundeck-cli's sources: no rundeck-cli package exists in the npm or
 *   Debian registries): projects, jobs load, jobs list, run, follow, kill,
 *   query, export, at rd's default API version 29 after a version downgrade.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ensureLocalUser } from '../../server/auth/local/bootstrap.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { startTestServer, waitFor } from '../server/helpers.js';
import { rundeckClient } from './helpers.js';
import { mismatches, shapeOf } from './shape.js';

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url);
const JOBS = readFileSync(fixture('jobs.yaml'), 'utf8');
const HELLO = '7d0c9a1e-0001-4c3a-9d7e-000000000001';
const SLEEPER = '7d0c9a1e-0002-4c3a-9d7e-000000000002';
// Debian's interpreter: python3-pyrundeck installs into its dist-packages.
const PYTHON = '/usr/bin/python3';

function at(v: any, p: string): any {
  return p.split('.').reduce((o, k) => (o == null ? undefined : o[k]), v);
}

t.test('Rundeck clients against a real Tandem', async (t) => {
  const pg = await startPostgres(t, { name: 'rdclients' });
  const dir = await tempDir(t, 'rdclients-users');
  const usersFile = path.join(dir, 'users.yaml');
  const bob = await ensureLocalUser(usersFile, 'bob', ['admin']);
  const ts = await startTestServer(t, pg, { overrides: { 'auth.usersFile': usersFile } });
  const rd = rundeckClient(ts);
  t.equal((await rd('POST', '/projects', { body: { name: 'py' } })).status, 201);
  t.equal((await rd('POST', '/projects', { body: { name: 'cli' } })).status, 201);
  t.equal((await rd('POST', '/project/py/jobs/import', { body: JOBS.replaceAll('7d0c9a1e-', '8d0c9a1e-'), type: 'application/yaml' })).body.succeeded.length, 3);

  await t.test('pyrundeck (python3-pyrundeck)', async (t) => {
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      RD_URL: ts.url,
      RD_TOKEN: ts.token,
      RD_USER: 'bob',
      RD_PASSWORD: bob.password!,
      RD_PROJECT: 'py',
      RD_HELLO: HELLO.replace('7d0c9a1e-', '8d0c9a1e-'),
      RD_SLEEPER: SLEEPER.replace('7d0c9a1e-', '8d0c9a1e-'),
    };
    const child = spawn(PYTHON, [new URL(fixture('pyrundeck-driver.py')).pathname], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    t.equal(code, 0, `the pyrundeck driver ran to the end (stderr: ${err.slice(-2000)})`);
    const steps = Object.fromEntries(out.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((s) => [s.step, s]));
    t.match(steps.system_info, { apiversion: 59, mode: 'active' });
    t.same(steps.list_projects?.names, ['cli', 'py']);
    t.match(steps.get_job, { id: env.RD_HELLO, group: 'ops/greet', href: `${ts.url}/api/18/job/${env.RD_HELLO}` });
    t.match(steps.run_job, { status: 'running', argstring: '-who pyrundeck -token **** -mood calm' });
    t.ok(steps.output?.logs.includes('hello pyrundeck'), 'the options reached the job');
    t.notOk(out.includes('py-s3cret'), 'the secure option value never came back');
    t.match(steps.execution_info, { status: 'succeeded', ended: true });
    t.match(steps.execution_state, { completed: true, executionState: 'SUCCEEDED' });
    t.same(steps.running?.ids, [steps.running?.expected]);
    t.match(steps.abort?.status, /^(pending|aborted)$/);
    t.same(steps.query_executions?.ids, [steps.running?.expected]);
    t.equal(steps.executions_for_job?.total, 1);
    t.same(steps.password_login?.names, ['cli', 'py'], 'password login through /j_security_check');
    t.ok(steps.session_run?.logs.includes('hello session'), 'a run through the session');
    t.equal(steps.session_run?.user, 'bob');
  });

  await t.test("rundeck-cli's request sequence (fixtures/rd-cli-sequence.json)", async (t) => {
    const seq = JSON.parse(readFileSync(fixture('rd-cli-sequence.json'), 'utf8'));
    // rd asks with its configured version; an unsupported one answers the newest, which rd then uses.
    const probe = await rd('GET', '/api/60/system/info');
    t.equal(probe.status, 400);
    t.equal(probe.body.apiversion, 59, 'rd reads apiversion from the error to downgrade');
    const vars: Record<string, string> = {};
    const fill = (s: string) => s.replace(/\{(\w+)\}/g, (_, k) => vars[k] ?? `{${k}}`);
    for (const step of seq.steps) {
      const url = `/api/${seq.version}${fill(step.path)}`;
      const send = async () => {
        const headers: Record<string, string> = { 'X-Rundeck-Auth-Token': ts.token, ...step.headers };
        const body = step.bodyFile ? readFileSync(fixture(step.bodyFile), 'utf8') : step.body ? JSON.stringify(step.body) : undefined;
        const res = await fetch(ts.url + url, { method: step.method, headers, body });
        const text = await res.text();
        let json: any;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        return { status: res.status, text, json, type: res.headers.get('content-type') ?? '' };
      };
      let r = await send();
      const logs: string[] = [];
      if (step.follow) {
        // rd executions follow: offset/lastmod from each answer until execCompleted && completed.
        let u = url;
        r = await waitFor(step.name, async () => {
          const res = await fetch(ts.url + u, { headers: { 'X-Rundeck-Auth-Token': ts.token, Accept: 'application/json' } });
          const json: any = await res.json();
          logs.push(...json.entries.map((e: any) => e.log));
          u = url.replace(/offset=\d+/, `offset=${json.offset}`).replace(/lastmod=\d+/, `lastmod=${json.lastModified}`);
          return json.execCompleted && json.completed ? { status: res.status, text: JSON.stringify(json), json, type: '' } : undefined;
        });
      } else if (step.until) {
        r = await waitFor(step.name, async () => {
          const x = await send();
          return at(x.json, step.until) ? x : undefined;
        });
      }
      const e = step.expect;
      t.equal(r.status, e.status, `${step.name}: status (${r.text.slice(0, 300)})`);
      if (e.shape) t.same(mismatches(r.json, shapeOf(e.shape)), [], `${step.name}: ${e.shape} shape`);
      if (e.list) for (const item of r.json ?? []) t.same(mismatches(item, shapeOf(e.list)), [], `${step.name}: ${e.list} shape`);
      for (const [k, v] of Object.entries(e.fields ?? {})) {
        const want = fill(v as string);
        if (want.startsWith('^')) t.match(String(at(r.json, k)), new RegExp(want), `${step.name}: ${k}`);
        else t.equal(String(at(r.json, k)), want, `${step.name}: ${k}`);
      }
      for (const [k, n] of Object.entries(e.count ?? {})) t.equal(r.json?.[k]?.length, n, `${step.name}: ${k} count`);
      if (e.some) t.ok((r.json ?? []).some((x: any) => Object.entries(e.some).every(([k, v]) => x[k] === v)), `${step.name}: has ${JSON.stringify(e.some)}`);
      for (const l of e.logs ?? []) t.ok(logs.includes(l), `${step.name}: log line ${l}`);
      if (e.absent) t.notOk(logs.join('\n').includes(e.absent) || r.text.includes(e.absent), `${step.name}: ${e.absent} absent`);
      if (e.contentType) t.match(r.type, e.contentType, `${step.name}: content type`);
      if (e.yamlJobs) t.equal((parseYaml(r.text) as any[]).length, e.yamlJobs, `${step.name}: jobs in the export`);
      for (const [k, p] of Object.entries(e.capture ?? {})) vars[k] = at(r.json, p as string);
    }
  });
});
