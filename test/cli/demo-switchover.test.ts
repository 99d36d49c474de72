/**
 * `tandem demo` across an interrupted switchover (built CLI first: `npx tsc
 * -p tsconfig.json`), two runs on one data directory:
 *
 * 1. A planned switchover a → b with --reverse stops right after fencing a
 *    (the failover's test failpoint, as if the command died there); the demo
 *    says no site is active and keeps b following a. SIGINT, exit 0.
 * 2. The demo starts with a fenced and b passive, prints the command that
 *    completes the switchover; run as printed (with --reverse) it makes b
 *    active and a passive; the demo then replicates b → a by itself: a job run
 *    on b, with its log, is served by a. SIGINT, exit 0, nothing left running.
 */
import t from 'tap';
import path from 'node:path';
import { loadConfig } from '../../server/config/load.js';

import { runFailover } from '../../replicator/failover/index.js';
import { demo, demoDir, freePortPair, getJson, leftoverPostgres, runPrinted, runSampleJob, stopAtTeardown, stopWithSigint, summary, waitFor, type Run } from './demo-helpers.js';
import { testLog } from '../harness/log.js';

t.test('an interrupted switchover is completed with the printed command; the demo then replicates back', async (t) => {
  const dir = await demoDir(t, 'demo-switch');
  const port = await freePortPair();
  const a = `http://127.0.0.1:${port}`;
  const b = `http://127.0.0.1:${port + 1}`;
  let running: Run | undefined;
  stopAtTeardown(t, () => running);
  let token = '';

  await t.test('first run: the switchover stops after fencing a', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port)]));
    const out = await summary(run);
    token = /export TOKEN=(\S+)/.exec(out)?.[1] ?? '';
    t.ok(token, 'token printed');
    const cfg = loadConfig({ file: path.join(dir, 'b/tandem.yaml'), env: {} });
    const lines: string[] = [];
    await t.rejects(
      runFailover({
        sites: cfg.sites!,
        to: 'b',
        reverse: true,
        drainTimeoutMs: 10_000,
        catchUpTimeoutMs: 30_000,
        sequenceMargin: 1000,
        schemas: ['tandem'],
        publication: 'tandem_pub',
        actor: 'test',
        out: (l) => lines.push(l),
        log: testLog,
        failAfter: 'fence',
      }),
      /failpoint/,
      'the switchover stops after the fence step',
    );
    await waitFor('the demo to report no active site', async () => run.stdout().includes('[demo] no site is active: a is fenced and b passive'), 30_000);
    t.pass('the demo says no site is active and how to finish');
    t.equal((await getJson(`${a}/health/active`)).status, 503, 'a (fenced) answers 503');
    t.equal((await getJson(`${b}/health/active`)).status, 503, 'b (passive) answers 503');
    await stopWithSigint(t, run);
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });

  await t.test('second run: the printed command completes it; replication runs b → a', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port)]));
    const out = await summary(run);
    t.match(out, /site a: found fenced \(epoch 1\)/);
    t.match(out, /No site is active now/);
    const line = out.split('\n').find((l) => /failover --config \S+ --to b\s+# complete a switchover/.test(l));
    t.ok(line, 'the command that completes the switchover is printed');
    const failover = runPrinted(line!, ' --reverse');
    t.equal(failover.status, 0, `"${failover.cmd}" exits 0`, { stdout: failover.stdout, stderr: failover.stderr });
    t.match(failover.stdout, /done: b is active \(epoch 2\); a is passive/);
    await waitFor('b to answer 200 on /health/active', async () => (await getJson(`${b}/health/active`)).status === 200, 30_000);
    t.equal((await getJson(`${a}/health/active`)).status, 503, 'a answers 503');
    await waitFor('the demo to replicate b → a', async () => run.stdout().includes('[demo] replication b → a started'), 30_000);
    t.pass('the demo started replication b → a');

    const started = await runSampleJob(b, token, 'from-site-b');
    t.equal(started.status, 201, 'job run on b', { body: started.body });
    const exec = { id: started.body.id! };
    const copied = await waitFor('a to serve the execution log', async () => {
      const r = await getJson(`${a}/api/v1/executions/${exec.id}/output`, token);
      return r.status === 200 && r.body.complete && r.body;
    });
    t.ok(
      (copied.entries as Array<{ text: string }>).some((e) => e.text.includes('hello from-site-b')),
      'a serves the log copied from b',
    );
    await stopWithSigint(t, run);
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });
});
