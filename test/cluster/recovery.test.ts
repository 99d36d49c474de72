/**
 * Recovery of a dead member's work (server/cluster/README.md): three
 * `tandem server` members on one database; one is killed with -9 while it
 * runs 10 executions, another is paused (SIGSTOP) past deadAfter and resumed.
 */
import t from 'tap';
import { once } from 'node:events';
import { startCluster, groupAlive, killGroup, stepPgid, type Member } from './helpers.js';
import { waitFor } from '../server/helpers.js';

t.test('cluster recovery', async (t) => {
  const cluster = await startCluster(t, 'recovery');
  const [m1, m2, m3] = [await cluster.start('m1'), await cluster.start('m2'), await cluster.start('m3')];
  const api = m3.api;
  t.equal((await api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
  const imp = await api('POST', '/api/v1/projects/ops/jobs', [
    { name: 'long', multipleExecutions: true, sequence: { commands: [{ exec: 'echo "pgid $$"; sleep 300' }] } },
    { name: 'retried', multipleExecutions: true, retry: { retry: '1', delay: '0s' }, sequence: { commands: [{ exec: 'echo "pgid $$"; sleep 300' }] } },
    { name: 'short', multipleExecutions: true, sequence: { commands: [{ exec: 'echo "pgid $$"; sleep 4; echo done' }] } },
  ]);
  t.equal(imp.status, 201, 'jobs imported');
  const [longJob, retriedJob, shortJob] = imp.body.jobs.map((j: any) => j.id);
  const pgids: number[] = [];
  t.teardown(() => pgids.forEach(killGroup));

  const members = async () => (await cluster.pool.query('select name, generation, lost_by from tandem_site.members order by name')).rows;

  await t.test('every member registers with generation 1', async (t) => {
    await waitFor('three members', async () => (await members()).length === 3);
    t.same((await members()).map((m) => [m.name, Number(m.generation)]), [['m1', 1], ['m2', 1], ['m3', 1]]);
  });

  await t.test('kill -9 of a member running 10 executions: all closed with the reason, retries started on survivors', async (t) => {
    const runs: { id: string; retried: boolean }[] = [];
    for (let i = 0; i < 10; i++) {
      const retried = i < 2;
      const r = await m1.api('POST', `/api/v1/jobs/${retried ? retriedJob : longJob}/run`, {});
      t.equal(r.status, 201);
      t.equal(r.body.member, 'm1');
      runs.push({ id: r.body.id, retried });
    }
    for (const r of runs) pgids.push(await stepPgid(api, r.id));
    const killedAt = Date.now();
    m1.child.kill('SIGKILL');
    await once(m1.child, 'exit');
    const closed = await waitFor('all 10 executions of m1 closed', async () => {
      const { rows } = await cluster.pool.query(`select id, status, status_reason from tandem.executions where member = 'm1' and status not in ('queued', 'running')`);
      return rows.length === 10 ? rows : undefined;
    });
    const seconds = (Date.now() - killedAt) / 1000;
    t.pass(`closed ${seconds.toFixed(1)} s after the kill (deadAfter 5 s + one heartbeat)`);
    t.ok(closed.every((r) => r.status === 'failed' && r.status_reason === 'member m1 lost'), 'failed, "member m1 lost"');
    const lost = (await members()).find((m) => m.name === 'm1');
    t.ok(['m2', 'm3'].includes(lost.lost_by), `recovered by one survivor (${lost.lost_by})`);

    const one = await api('GET', `/api/v1/executions/${runs[5]!.id}`);
    t.equal(one.body.steps[0].status, 'failed', 'its running step result is closed');
    const out = await waitFor('the log to be sealed', async () => {
      const o = await api('GET', `/api/v1/executions/${runs[5]!.id}/output`);
      return o.body.complete ? o.body : undefined;
    });
    const texts = out.entries.map((e: any) => e.text);
    t.ok(texts.some((x: string) => x.startsWith('pgid ')), 'the lines written before the kill are kept');
    t.equal(texts[texts.length - 1], 'execution failed: member m1 lost', 'the log says why it ends');

    const retries = await waitFor('the two retries to run on survivors', async () => {
      const { rows } = await cluster.pool.query(
        `select id, retry_of, member, status, attempt from tandem.executions where trigger = 'retry' and status = 'running'`,
      );
      return rows.length === 2 ? rows : undefined;
    });
    t.same(retries.map((r) => r.retry_of).sort(), runs.filter((r) => r.retried).map((r) => r.id).sort(), 'the retried jobs, once each');
    t.ok(retries.every((r) => ['m2', 'm3'].includes(r.member) && r.attempt === 2), 'attempt 2 on a live member');
    for (const r of retries) pgids.push(await stepPgid(api, r.id));
    const { rows: others } = await cluster.pool.query(`select count(*)::int as n from tandem.executions where trigger = 'retry'`);
    t.equal(others[0].n, 2, 'no other retry');
    for (const r of retries) await api('POST', `/api/v1/executions/${r.id}/abort`);
  });

  await t.test('a member paused past deadAfter is fenced: its late writes are refused, its steps killed, it joins again', async (t) => {
    const endless = await m2.api('POST', `/api/v1/jobs/${longJob}/run`, {});
    const ending = await m2.api('POST', `/api/v1/jobs/${shortJob}/run`, {});
    const endlessPgid = await stepPgid(api, endless.body.id);
    pgids.push(endlessPgid, await stepPgid(api, ending.body.id));
    m2.child.kill('SIGSTOP');
    const taken = await waitFor('m3 to close m2\'s executions', async () => {
      const { rows } = await cluster.pool.query(`select id, status, status_reason from tandem.executions where id = any($1::uuid[]) and status = 'failed'`, [
        [endless.body.id, ending.body.id],
      ]);
      return rows.length === 2 ? rows : undefined;
    });
    t.ok(taken.every((r) => r.status_reason === 'member m2 lost'));
    const sealed = await waitFor('m3 to seal the log', async () => {
      const r = await cluster.pool.query(`select execution_id, size, sha256, complete from tandem.log_objects where execution_id = $1`, [ending.body.id]);
      return r.rows[0]?.complete ? r : undefined;
    });
    // The short step ends while m2 is stopped: when m2 resumes it tries to record "succeeded".
    await waitFor('the short step to end', async () => !groupAlive(pgids[pgids.length - 1]!));
    m2.child.kill('SIGCONT');
    await waitFor('m2 to see it was fenced and join again', async () => /joined the cluster.*"generation":2|"generation":2.*joined the cluster/.test(m2.output()));
    await waitFor('m2 to kill the steps it still ran', async () => !groupAlive(endlessPgid));
    await waitFor('m2 to give up the end of the short execution', async () =>
      /execution end refused|execution was taken from this member/.test(m2.output()),
    );
    const after = await cluster.pool.query(`select id, status, status_reason from tandem.executions where id = any($1::uuid[])`, [[endless.body.id, ending.body.id]]);
    t.ok(after.rows.every((r) => r.status === 'failed' && r.status_reason === 'member m2 lost'), 'still failed as m3 closed them');
    const logNow = await cluster.pool.query(`select execution_id, size, sha256, complete from tandem.log_objects where execution_id = $1`, [ending.body.id]);
    t.same(logNow.rows, sealed.rows, "the log record m3 sealed is unchanged");
    t.same((await members()).find((m) => m.name === 'm2').generation, '2', 'm2 runs as generation 2');
    const again = await m2.api('POST', `/api/v1/jobs/${shortJob}/run`, {});
    t.equal(again.status, 201, 'm2 takes work again under its new generation');
    pgids.push(await stepPgid(api, again.body.id));
    await waitFor('it to succeed', async () => (await api('GET', `/api/v1/executions/${again.body.id}`)).body.status === 'succeeded', 15_000);
  });

  for (const m of [m2, m3] as Member[]) m.child.kill('SIGTERM');
});
