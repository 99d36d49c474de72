import t from 'tap';
import pg from 'pg';
import { startPostgres } from '../harness/postgres.js';
import { tempDir, type Teardown } from '../harness/tmp.js';
import { migrate } from '../../server/db/migrate.js';

import { FsLogStore } from '../../server/logs/fs-store.js';
import { ExecutionEngine } from '../../server/executions/engine.js';
import { loadPolicies } from '../../server/auth/acl/load.js';
import { LocalExecutor } from '../../server/executions/local-executor.js';
import { Scheduler } from '../../server/schedule/scheduler.js';
import { decideFiring } from '../../server/schedule/misfire.js';
import { importJobs } from '../../server/app/job-import.js';
import { parseJobs } from '../../server/jobs/rundeck-format.js';
import { insertProject } from '../../server/projects/sql/insert-project.js';
import { withTransaction } from '../../server/db/tx.js';
import type { MisfirePolicy } from '../../server/schedule/misfire.js';
import { waitFor } from './helpers.js';
import { testLog } from '../harness/log.js';

interface Member {
  engine: ExecutionEngine;
  scheduler: Scheduler;
}

t.test('scheduler', async (t) => {
  const server = await startPostgres(t, { name: 'sched' });
  let n = 0;

  async function setup(t: Teardown, jobYaml: string, opts: { members: number; policy?: MisfirePolicy }) {
    const url = await server.createDatabase(`sched_${++n}`);
    await migrate(url);
    const pool = new pg.Pool({ connectionString: url, max: 20 });
    pool.on('error', (e) => process.stderr.write(`scheduler test pool: an idle session was ended by the server: ${e.message}\n`));
    const dir = await tempDir(t, 'sched-logs');
    const store = new FsLogStore({ dir });
    const members: (Member & { executor: LocalExecutor })[] = [];
    // One teardown, in dependency order: loops, then engines, then the store and the pool they use.
    t.teardown(async () => {
      for (const m of members) await m.scheduler.stop();
      for (const m of members) await m.engine.drain(5000);
      for (const m of members) await m.executor.close();
      await store.close();
      await pool.end();
    });
    for (let i = 0; i < opts.members; i++) {
      const executor = new LocalExecutor({ log: testLog });
      const engine = new ExecutionEngine({ policies: loadPolicies(undefined), pool, store, executor, log: testLog, member: `m${i}`, pathTemplate: '${project}/${executionId}.log' });
      const scheduler = new Scheduler({ pool, engine, log: testLog, member: `m${i}`, misfireGraceMs: 60_000, misfirePolicy: opts.policy ?? 'runOnce' });
      members.push({ engine, scheduler, executor });
    }
    const { jobs } = parseJobs(jobYaml, 'yaml');
    const imported = await withTransaction(pool, async (c) => {
      const p = await insertProject(c, { name: 'p', description: '', createdBy: 'test' });
      return importJobs(c, p, jobs, 'test');
    });
    return { pool, members, jobId: imported[0]!.id };
  }

  const everyMinute = `- name: tick\n  schedule:\n    crontab: '0 * * ? * * *'\n  multipleExecutions: true\n  sequence:\n    commands:\n    - exec: echo tick\n`;

  await t.test('two scheduler loops racing on the same schedule: exactly one execution per firing', async (t) => {
    const { pool, members, jobId } = await setup(t, everyMinute, { members: 2 });
    // Pretend the job was saved at 10:00:30 and both members tick at the same instants.
    const base = Date.UTC(2030, 0, 1, 10, 0, 30);
    await pool.query('update tandem.jobs set updated_at = $1', [new Date(base)]);
    const started: string[] = [];
    for (let minute = 1; minute <= 5; minute++) {
      const now = new Date(base + minute * 60_000 - 29_000); // hh:mm:01, one second after each firing
      const [a, b] = await Promise.all(members.map((m) => m.scheduler.tick(now)));
      const outcomes = [...a!, ...b!].map((f) => f.outcome);
      // The loser either lost the insert race, or (when it read the firings after the winner committed) saw nothing due.
      t.equal(outcomes.filter((o) => o === 'started').length, 1, `firing ${minute}: exactly one loop starts it`);
      t.ok(outcomes.every((o) => o === 'started' || o === 'lost_race'), `firing ${minute}: the other loop starts nothing`);
      started.push(...[...a!, ...b!].filter((f) => f.outcome === 'started').map((f) => f.executionId!));
      // A second tick of both loops at the same instant fires nothing more.
      const again = await Promise.all(members.map((m) => m.scheduler.tick(now)));
      t.same(again.flat(), [], 'ticking again does not fire the same firing twice');
    }
    const firings = await pool.query('select scheduled_time, outcome, execution_id from tandem.schedule_firings where job_id = $1 order by scheduled_time', [jobId]);
    t.equal(firings.rows.length, 5);
    t.same(firings.rows.map((r) => r.scheduled_time.toISOString().slice(11, 19)), ['10:01:00', '10:02:00', '10:03:00', '10:04:00', '10:05:00']);
    const execs = await pool.query(`select id, trigger, scheduled_time from tandem.executions where job_id = $1`, [jobId]);
    t.equal(execs.rows.length, 5, 'five firings, five executions');
    t.same(new Set(execs.rows.map((r) => r.id)), new Set(started));
    t.ok(execs.rows.every((r) => r.trigger === 'schedule'));
    await waitFor('the scheduled executions to finish', async () => {
      const r = await pool.query(`select count(*)::int as n from tandem.executions where status = 'succeeded'`);
      return r.rows[0].n === 5;
    });
    t.pass('every scheduled execution ran and succeeded');
  });

  await t.test('many loops with their own timers race for real', async (t) => {
    const { pool, members, jobId } = await setup(t, `- name: fast\n  schedule:\n    crontab: '* * * ? * * *'\n  multipleExecutions: true\n  sequence:\n    commands:\n    - exec: "true"\n`, { members: 3 });
    await pool.query('update tandem.jobs set updated_at = now()');
    // Three real loops (each ticks every 1 s) fire an every-second schedule for a few seconds.
    for (const m of members) m.scheduler.start();
    await waitFor('at least 4 firings', async () => {
      const r = await pool.query('select count(*)::int as n from tandem.schedule_firings where job_id = $1', [jobId]);
      return r.rows[0].n >= 4;
    });
    for (const m of members) await m.scheduler.stop();
    const dup = await pool.query(`select execution_id from tandem.schedule_firings where job_id = $1 and outcome = 'started'`, [jobId]);
    const execs = await pool.query(`select id from tandem.executions where job_id = $1`, [jobId]);
    t.equal(execs.rows.length, dup.rows.length, 'as many executions as started firings');
    t.same(new Set(execs.rows.map((r) => r.id)), new Set(dup.rows.map((r) => r.execution_id)), 'each execution belongs to exactly one firing');
  });

  await t.test('misfire after downtime: run once (default policy)', async (t) => {
    const { pool, members, jobId } = await setup(t, everyMinute, { members: 1 });
    const saved = Date.UTC(2030, 0, 1, 10, 0, 30);
    await pool.query('update tandem.jobs set updated_at = $1', [new Date(saved)]);
    // The scheduler was down from 10:00:30 to 10:10:45: ten firings were due, the last one 45 s ago (within grace).
    const r1 = await members[0]!.scheduler.tick(new Date(Date.UTC(2030, 0, 1, 10, 10, 45)));
    t.same(r1.map((f) => [f.outcome, f.scheduledTime.toISOString().slice(11, 19)]), [['started', '10:10:00']], 'only the latest firing runs');
    const msg = await pool.query('select message from tandem.schedule_firings where job_id = $1', [jobId]);
    t.match(msg.rows[0].message, /9 earlier firing\(s\) missed/);
    // Down again until 10:20:50 (last firing 10:20:00 is 50 s old: on time); then until 10:35:30 (35:00 is 30 s old).
    // A firing more than the grace late: down from 10:35:30 until 10:38:10 with a job that fires at :00 every 5 minutes is covered in the unit cases below.
    const r2 = await members[0]!.scheduler.tick(new Date(Date.UTC(2030, 0, 1, 10, 20, 50)));
    t.same(r2.map((f) => f.outcome), ['started']);
    const execs = await pool.query('select count(*)::int as n from tandem.executions where job_id = $1', [jobId]);
    t.equal(execs.rows[0].n, 2, 'two runs for twenty missed minutes');
  });

  await t.test('misfire beyond the grace: runOnce runs it, skip records it as skipped', async (t) => {
    const hourly = `- name: hourly\n  schedule:\n    crontab: '0 0 * ? * * *'\n  multipleExecutions: true\n  sequence:\n    commands:\n    - exec: "true"\n`;
    for (const policy of ['runOnce', 'skip'] as const) {
      const { pool, members, jobId } = await setup(t, hourly, { members: 1, policy });
      await pool.query('update tandem.jobs set updated_at = $1', [new Date(Date.UTC(2030, 0, 1, 9, 30))]);
      const r = await members[0]!.scheduler.tick(new Date(Date.UTC(2030, 0, 1, 12, 20)));
      const expected = policy === 'runOnce' ? 'started' : 'skipped_misfire';
      t.same(r.map((f) => [f.outcome, f.scheduledTime.toISOString().slice(11, 16)]), [[expected, '12:00']], `${policy}: the 12:00 firing, 20 minutes late`);
      const row = await pool.query('select outcome, message from tandem.schedule_firings where job_id = $1', [jobId]);
      t.equal(row.rows[0].outcome, expected);
      t.match(row.rows[0].message, /2 earlier firing\(s\) missed; 1200 s late/);
      const execs = await pool.query('select count(*)::int as n from tandem.executions where job_id = $1', [jobId]);
      t.equal(execs.rows[0].n, policy === 'runOnce' ? 1 : 0);
      // Next on-time firing runs normally under both policies.
      const next = await members[0]!.scheduler.tick(new Date(Date.UTC(2030, 0, 1, 13, 0, 5)));
      t.same(next.map((f) => f.outcome), ['started'], `${policy}: the next on-time firing runs`);
    }
  });

  await t.test('a firing of an exclusive job that is still running is recorded as skipped', async (t) => {
    const { pool, members, jobId } = await setup(t, `- name: long\n  schedule:\n    crontab: '0 * * ? * * *'\n  multipleExecutions: false\n  sequence:\n    commands:\n    - exec: sleep 30\n`, { members: 1 });
    await pool.query('update tandem.jobs set updated_at = $1', [new Date(Date.UTC(2030, 0, 1, 10, 0, 30))]);
    const first = await members[0]!.scheduler.tick(new Date(Date.UTC(2030, 0, 1, 10, 1, 1)));
    t.same(first.map((f) => f.outcome), ['started']);
    const second = await members[0]!.scheduler.tick(new Date(Date.UTC(2030, 0, 1, 10, 2, 1)));
    t.same(second.map((f) => f.outcome), ['skipped_running']);
    const row = await pool.query(`select message from tandem.schedule_firings where job_id = $1 and outcome = 'skipped_running'`, [jobId]);
    t.match(row.rows[0].message, /already running/);
    members[0]!.engine.abort(first[0]!.executionId!, 'test');
    await members[0]!.engine.wait(first[0]!.executionId!);
  });
});

t.test('misfire decisions', async (t) => {
  const now = new Date(Date.UTC(2030, 0, 1, 12, 0, 30));
  t.equal(decideFiring(null, 0, now, 60_000, 'runOnce'), null, 'nothing due');
  t.match(decideFiring(new Date(Date.UTC(2030, 0, 1, 12, 0)), 0, now, 60_000, 'skip'), { run: true, misfire: false, message: null }, 'on time runs under both policies');
  t.match(decideFiring(new Date(Date.UTC(2030, 0, 1, 11, 0)), 3, now, 60_000, 'skip'), { run: false, misfire: true, missed: 3 });
  t.match(decideFiring(new Date(Date.UTC(2030, 0, 1, 11, 0)), 0, now, 60_000, 'runOnce'), { run: true, misfire: true });
});
