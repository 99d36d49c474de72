/**
 * `tandem replicate --metrics-port` as a process (needs `npx tsc -p
 * tsconfig.json` first): the listener serves the replicator's metrics while
 * it streams, its log lines are JSON with the component, and it is gone
 * after SIGTERM (exit 0). A bad port is refused with the key named. Its
 * threads run under SCHED_BATCH (replication.scheduling); without chrt it
 * replicates under the normal policy and logs why.
 */
import { readdirSync, readFileSync } from 'node:fs';
import t from 'tap';
import pg from 'pg';
import { migrate } from '../../server/db/migrate.js';
import { startPostgres } from '../harness/postgres.js';
import { waitFor } from '../server/helpers.js';
import { runTandem, spawnTandem } from '../replicator/cli.js';
import { scrape } from './scrape.js';

/** Linux's number for SCHED_BATCH, as /proc/PID/task/TID/stat shows it (field 41, policy). */
const SCHED_BATCH = 3;

function threadPolicies(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((tid) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []; // the thread ended after the listing
      throw e;
    }
    // The fields after the command name in parentheses (which may hold spaces) start at field 3.
    return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3])];
  });
}

t.test('tandem replicate --metrics-port', async (t) => {
  const pgs = await startPostgres(t, { name: 'metrics-cli' });
  const source = await pgs.createDatabase('src');
  const target = await pgs.createDatabase('dst');
  await migrate(source);
  await migrate(target);

  const help = await runTandem(t, ['replicate', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--metrics-port N/, 'the flag is documented');
  t.match(help.stdout, /--metrics-port 9464/, 'with an example');

  const bad = await runTandem(t, ['replicate', '--source', source, '--target', target, '--metrics-port', 'http']);
  t.not(bad.code, 0, 'a bad port is refused');
  t.match(bad.stderr, /metrics\.port: expected an integer/, 'naming the key');

  const r = spawnTandem(t, ['replicate', '--source', source, '--target', target, '--slot', 'cli_metrics', '--metrics-port', '0']);
  const url = await waitFor('the metrics listener', async () => {
    for (const line of r.stderr().split('\n')) {
      if (!line.startsWith('{')) continue;
      const rec = JSON.parse(line) as { msg?: string; url?: string; component?: string };
      if (rec.msg === 'metrics listening') return { url: rec.url!.replace(/\/metrics$/, ''), component: rec.component };
    }
    return undefined;
  });
  t.equal(url.component, 'metrics', 'the listener logs as its own component');
  const db = new pg.Client({ connectionString: source });
  await db.connect();
  t.teardown(() => db.end());
  // Rows present before streaming arrive by the initial copy, not the apply loop: insert once it streams.
  await waitFor('the replicator to stream', async () => (await scrape(url.url)).sum('tandem_replicator_streaming') === 1, 30_000);
  await db.query(`insert into tandem.projects (name, description) values ('cli-metrics', 'x')`);
  const m = await waitFor('the insert applied and the lag at 0', async () => {
    const s = await scrape(url.url);
    return s.sum('tandem_replicator_applied_rows_total', { table: 'tandem.projects' }) >= 1 && s.sum('tandem_replicator_lag_bytes') === 0 ? s : undefined;
  });
  t.equal(m.sum('tandem_replicator_streaming', { slot: 'cli_metrics' }), 1, 'streaming, labelled with its slot');
  // replication.scheduling defaults to batch: every thread of the process runs under SCHED_BATCH, the test process does not.
  const policies = threadPolicies(r.child.pid!);
  t.ok(policies.length >= 5, `the process's threads were read (${policies.length})`);
  t.same([...new Set(policies)], [SCHED_BATCH], 'every thread of tandem replicate runs under SCHED_BATCH');
  t.not(threadPolicies(process.pid)[0], SCHED_BATCH, 'and the test process under its own policy');
  t.equal(m.sum('tandem_replicator_slot_exists'), 1);
  t.equal((await fetch(`${url.url}/nope`)).status, 404);
  t.equal((await fetch(`${url.url}/health/live`)).status, 200);

  r.child.kill('SIGTERM');
  const { code } = await r.exited;
  t.equal(code, 0, 'stops cleanly on SIGTERM');
  await t.rejects(fetch(`${url.url}/metrics`), 'the listener is closed');

  // Where the policy cannot be set (here: no chrt on PATH), it replicates all the same, under the normal policy, and says why.
  await db.query(`insert into tandem.projects (name, description) values ('cli-no-chrt', 'x')`);
  const plain = await runTandem(t, ['replicate', '--source', source, '--target', target, '--slot', 'cli_metrics', '--until-caught-up'], { PATH: '/nonexistent' });
  t.equal(plain.code, 0, 'caught up without chrt');
  t.match(plain.stderr, /runs under the normal CPU scheduling policy, not batch: chrt \(util-linux\) is not installed/, 'and logged why');
  const tgt = new pg.Client({ connectionString: target });
  await tgt.connect();
  t.teardown(() => tgt.end());
  t.equal((await tgt.query(`select 1 from tandem.projects where name = 'cli-no-chrt'`)).rowCount, 1, 'the change is on the target');
});
