/**
 * Cluster figures (server/cluster/README.md), real `tandem server` members
 * on one harness PostgreSQL database:
 *
 * - cluster.heartbeat_db_load: transactions per second (each autocommit
 *   statement counts as one) that 10 idle members cost the database with the
 *   default 1 s heartbeat (heartbeat, dead-member check, hand-over check),
 *   from pg_stat_database.xact_commit over 10 s; schedulers off.
 * - cluster.forward_p50_ms / _p99_ms: a run request sent to member m1 with
 *   policy preset m2, from the request leaving the client to the execution
 *   marked running on m2 (its started_at, same host clock); 100 sequential runs.
 * - cluster.recovery_s: from kill -9 of a member running 10 executions to
 *   all 10 closed as "member NAME lost" (retries of jobs with retry start in
 *   the same pass). Defaults: deadAfter 5 s, heartbeat 1 s.
 *
 * Targets: recovery < 10 s (Rundeck's documented settings: ~360 s),
 * forward p50 < 25 ms; heartbeat load reported.
 */
import { once } from 'node:events';
import { startCluster, killGroup, stepPgid, type Member } from '../cluster/helpers.js';
import { waitFor } from '../server/helpers.js';
import { percentile, type BenchGroup } from './report.js';

const bench: BenchGroup = async (report) => {
  const fns: (() => unknown)[] = [];
  const t = { teardown: (fn: () => unknown) => void fns.push(fn) };
  const pgids: number[] = [];
  try {
    report.progress('starting PostgreSQL and 10 members');
    const cluster = await startCluster(t, 'bench-cluster', {
      TANDEM_SCHEDULER_ENABLED: 'false',
      TANDEM_LOG_LEVEL: 'warn',
      TANDEM_CLUSTER_REMOTE_EXECUTION_PROFILES: JSON.stringify({ fwd: { projects: ['fwd'], policy: 'preset', preset: 'm2' } }),
    });
    const members: Member[] = [];
    for (let i = 1; i <= 10; i++) members.push(await cluster.start(`m${i}`));
    const [m1, m2] = members as [Member, Member];
    const db = (await cluster.pool.query('select current_database() as d')).rows[0].d as string;
    const commits = async () => Number((await cluster.pool.query('select xact_commit from pg_stat_database where datname = $1', [db])).rows[0].xact_commit);
    await new Promise((r) => setTimeout(r, 2000));
    const c0 = await commits();
    const t0 = Date.now();
    await new Promise((r) => setTimeout(r, 10_000));
    const perSecond = ((await commits()) - c0 - 1) / ((Date.now() - t0) / 1000);
    report.figure('cluster.heartbeat_db_load', Math.round(perSecond * 10) / 10, 'transactions/s that 10 idle members cost the database (1 s heartbeat)');
    report.progress(`heartbeat load: ${perSecond.toFixed(1)} transactions/s for 10 members`);
    for (const m of members.slice(3)) m.child.kill('SIGTERM');
    await Promise.all(members.slice(3).map((m) => (m.child.exitCode === null ? once(m.child, 'exit') : undefined)));

    for (const p of ['ops', 'fwd']) await m1.api('POST', '/api/v1/projects', { name: p });
    const fwd = await m1.api('POST', '/api/v1/projects/fwd/jobs', [{ name: 'quick', multipleExecutions: true, sequence: { commands: [{ exec: 'true' }] } }]);
    const localJob = await m1.api('POST', '/api/v1/projects/ops/jobs', [{ name: 'quick', multipleExecutions: true, sequence: { commands: [{ exec: 'true' }] } }]);
    const ops = await m1.api('POST', '/api/v1/projects/ops/jobs', [
      { name: 'long', multipleExecutions: true, sequence: { commands: [{ exec: 'echo "pgid $$"; sleep 300' }] } },
    ]);
    const startLatencies = async (jobId: string, member: string): Promise<number[]> => {
      const lat: number[] = [];
      for (let i = 0; i < 100; i++) {
        const sent = Date.now();
        const r = await m1.api('POST', `/api/v1/jobs/${jobId}/run`, {});
        if (r.status !== 201 || r.body.member !== member) throw new Error(`run not for ${member}: ${r.status} ${JSON.stringify(r.body)}`);
        const started = await waitFor(`the run to start on ${member}`, async () => {
          const q = await cluster.pool.query(`select started_at, member from tandem.executions where id = $1 and started_at is not null`, [r.body.id]);
          return q.rows[0];
        }, 20_000, 2);
        if (started.member !== member) throw new Error(`ran on ${started.member}`);
        lat.push(started.started_at.getTime() - sent);
      }
      return lat.sort((a, b) => a - b);
    };
    report.progress('100 runs on m1 that m1 runs itself (policy none), as the baseline');
    const local = await startLatencies(localJob.body.jobs[0].id, 'm1');
    report.figure('cluster.local_start_p50_ms', percentile(local, 50), 'baseline: run request on m1 → running on m1 itself (policy none), median of 100');
    report.progress('forwarding 100 runs from m1 to m2');
    const lat = await startLatencies(fwd.body.jobs[0].id, 'm2');
    report.figure('cluster.forward_p50_ms', percentile(lat, 50), 'run request on m1 → execution running on m2 (policy preset), median of 100');
    report.figure('cluster.forward_p99_ms', percentile(lat, 99), 'same, 99th percentile');
    report.progress(`forward p50 ${percentile(lat, 50)} ms, p99 ${percentile(lat, 99)} ms (local p50 ${percentile(local, 50)} ms)`);

    report.progress('10 executions on m1, then kill -9 of m1');
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await m1.api('POST', `/api/v1/jobs/${ops.body.jobs[0].id}/run`, {})).body.id);
    for (const id of ids) pgids.push(await stepPgid(m2.api, id));
    const killed = Date.now();
    m1.child.kill('SIGKILL');
    await once(m1.child, 'exit');
    await waitFor('all 10 closed', async () => {
      const q = await cluster.pool.query(`select count(*)::int as n from tandem.executions where id = any($1::uuid[]) and status = 'failed' and status_reason = 'member m1 lost'`, [ids]);
      return q.rows[0].n === 10;
    }, 60_000, 20);
    const seconds = (Date.now() - killed) / 1000;
    report.figure('cluster.recovery_s', Math.round(seconds * 10) / 10, 'kill -9 of a member running 10 executions → all closed as "member NAME lost" (deadAfter 5 s)');
    report.note(
      'cluster: members are separate `tandem server` processes on one machine (2 cores shared with the database); heartbeat load counts every transaction of the idle members (heartbeat, dead-member check, hand-over check) with schedulers off; forward latency uses the database\'s started_at and the client clock of the same host.',
    );
    for (const m of members.slice(1, 3)) m.child.kill('SIGTERM');
    await Promise.all(members.slice(1, 3).map((m) => (m.child.exitCode === null ? once(m.child, 'exit') : undefined)));
  } finally {
    pgids.forEach(killGroup);
    for (const fn of fns.reverse()) await fn();
  }
};

export default bench;
