/**
 * The Cluster Manager (server/cluster/README.md): GET /api/v1/system/members,
 * `tandem members`, per-member and per-site execution mode (audited, ACL
 * system admin), member counts in /api/v1/system/info and /metrics.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { createToken } from '../../server/auth/tokens.js';
import { startCluster, client } from './helpers.js';
import { waitFor } from '../server/helpers.js';

const run = promisify(execFile);
const tandem = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/tandem.js');

t.test('cluster manager', async (t) => {
  const cluster = await startCluster(t, 'manager');
  const a = await cluster.start('alpha', { TANDEM_SERVER_TAGS: 'linux,prod' });
  const b = await cluster.start('beta');
  await a.api('POST', '/api/v1/projects', { name: 'ops' });
  const imp = await a.api('POST', '/api/v1/projects/ops/jobs', [{ name: 'wait', multipleExecutions: true, sequence: { commands: [{ exec: 'sleep 60' }] } }]);
  const jobId = imp.body.jobs[0].id;
  const cli = (...args: string[]) => run(process.execPath, [tandem, ...args, '--database-url', cluster.dbUrl], { env: { ...process.env, USER: 'ops1' } });

  await t.test('GET /api/v1/system/members lists every member with its state and load', async (t) => {
    const running = await a.api('POST', `/api/v1/jobs/${jobId}/run`, {});
    await waitFor('running', async () => (await a.api('GET', `/api/v1/executions/${running.body.id}`)).body.status === 'running');
    const r = await b.api('GET', '/api/v1/system/members');
    t.equal(r.status, 200);
    t.same(r.body.counts, { active: 2, inactive: 0, dead: 0, stopped: 0 });
    const alpha = r.body.members.find((m: any) => m.name === 'alpha');
    t.match(alpha, { url: a.url, state: 'active', executionMode: 'active', tags: ['linux', 'prod'], runningExecutions: 1, capacity: 10, load: 0.1, generation: 1 });
    t.ok(alpha.heartbeatAgeMs >= 0 && alpha.heartbeatAgeMs < 3000, 'heartbeat age from the database clock');
    t.ok(alpha.uptimeMs > 0 && typeof alpha.version === 'string');
    t.equal(alpha.scheduler, true, 'scheduler on');
    await a.api('POST', `/api/v1/executions/${running.body.id}/abort`);
    const { stdout } = await cli('members');
    t.match(stdout, /^NAME\s+STATE\s+HEARTBEAT/m);
    t.match(stdout, /^alpha\s+active\s+\S+ ago\s+enabled/m);
    t.match(stdout, /members: 2 active, 0 inactive, 0 dead, 0 stopped; site executions enabled/);
    const json = JSON.parse((await cli('members', '--json')).stdout);
    t.same(json.members.map((m: any) => m.name), ['alpha', 'beta']);
  });

  await t.test('a disabled member takes no new runs, audited; ACL system admin', async (t) => {
    const { token: userToken } = await createToken(cluster.pool, { user: 'bob', roles: ['user'] });
    const denied = await client(a.url, userToken)('POST', '/api/v1/system/members/beta/executions/disable');
    t.equal(denied.status, 403, 'not without admin on system');
    const unknown = await a.api('POST', '/api/v1/system/members/nobody/executions/disable');
    t.same([unknown.status, unknown.body.error.code], [404, 'not_found']);
    const off = await a.api('POST', '/api/v1/system/members/beta/executions/disable');
    t.same([off.status, off.body], [200, { member: 'beta', executionMode: 'passive' }]);
    const refused = await waitFor('beta to refuse runs', async () => {
      const r = await b.api('POST', `/api/v1/jobs/${jobId}/run`, {});
      // Taken before beta's next heartbeat brought the change (at most one interval): not wanted here.
      if (r.status === 201) await b.api('POST', `/api/v1/executions/${r.body.id}/abort`);
      return r.status === 503 ? r : undefined;
    });
    t.match(refused.body.error.message, /executions are disabled on member beta/);
    t.equal((await b.api('GET', '/api/v1/system/executions/status?passiveAs503=true')).status, 503);
    const listed = (await a.api('GET', '/api/v1/system/members')).body.members.find((m: any) => m.name === 'beta');
    t.same([listed.executionMode, listed.scheduler], ['passive', false]);
    const audit = await cluster.pool.query(`select event, username, target from tandem.audit_events where event like 'cluster.%' order by at`);
    t.same(audit.rows, [{ event: 'cluster.executions.disabled', username: 'admin', target: 'member beta' }]);

    const { stdout } = await cli('members', 'enable', 'beta');
    t.match(stdout, /member beta: executions enabled/);
    await waitFor('beta to take runs again', async () => {
      const r = await b.api('POST', `/api/v1/jobs/${jobId}/run`, {});
      if (r.status === 201) await b.api('POST', `/api/v1/executions/${r.body.id}/abort`);
      return r.status === 201;
    });
    const cliAudit = await cluster.pool.query(`select username, target from tandem.audit_events where event = 'cluster.executions.enabled'`);
    t.same(cliAudit.rows, [{ username: 'cli:ops1', target: 'member beta' }]);
    await t.rejects(cli('members', 'disable'), /name one member, or --site/, 'a usage error without a name');
  });

  await t.test('the whole site disabled and enabled; counts in system info and metrics', async (t) => {
    t.same((await a.api('POST', '/api/v1/system/executions/disable')).body, { executionMode: 'passive' });
    await waitFor('both members to refuse runs', async () => {
      const answers = await Promise.all([a, b].map((m) => m.api('POST', `/api/v1/jobs/${jobId}/run`, {})));
      // Runs taken before a member's next heartbeat brought the change: abort them so that beta's drain below is quick.
      for (const r of answers) if (r.status === 201) await a.api('POST', `/api/v1/executions/${r.body.id}/abort`);
      return answers.every((r) => r.status === 503);
    });
    await a.api('POST', '/api/v1/system/executions/enable');
    await waitFor('alpha to take runs again', async () => (await a.api('GET', '/api/v1/system/info')).body.executionsEnabled === true);
    const info = await a.api('GET', '/api/v1/system/info');
    t.same(info.body.members, { active: 2, inactive: 0, dead: 0, stopped: 0 });
    const metrics = await (await fetch(`${a.url}/metrics`, { headers: { authorization: `Bearer ${cluster.token}` } })).text();
    t.match(metrics, /tandem_cluster_members\{state="active"[^}]*\} 2/);
    t.match(metrics, /tandem_cluster_executions_enabled\{[^}]*\} 1/);
    await waitFor('the aborted runs to end', async () =>
      (await cluster.pool.query(`select count(*)::int as n from tandem.executions where status in ('queued', 'running')`)).rows[0].n === 0,
    );
    b.child.kill('SIGTERM');
    await waitFor('beta to show as stopped', async () => (await a.api('GET', '/api/v1/system/info')).body.members.stopped === 1);
  });
  a.child.kill('SIGTERM');
});

t.test("a member reports its scheduler as soon as its site is confirmed active, not at its next heartbeat", async (t) => {
  // One member whose heartbeats are 30 s apart: it registers with its scheduler off (its site monitor has not
  // looked yet); the monitor's first check starts the scheduler, and the member writes a heartbeat right then.
  const cluster = await startCluster(t, 'report', {
    TANDEM_CLUSTER_HEARTBEAT_INTERVAL: '30000',
    TANDEM_CLUSTER_INACTIVE_AFTER: '60000',
    TANDEM_CLUSTER_DEAD_AFTER: '90000',
  });
  const started = Date.now();
  const solo = await cluster.start('solo');
  const listed = await waitFor(
    'solo to be listed with its scheduler on',
    async () => (await solo.api('GET', '/api/v1/system/members')).body.members.find((m: any) => m.name === 'solo' && m.scheduler),
    15_000,
  );
  t.match(listed, { name: 'solo', state: 'active', scheduler: true, generation: 1 }, 'scheduler on');
  t.ok(Date.now() - started < 30_000, 'listed so before its first periodic heartbeat was due');
  solo.child.kill('SIGTERM');
});

