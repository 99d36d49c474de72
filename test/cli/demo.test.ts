/**
 * `tandem demo` as a user runs it (built CLI: `npx tsc -p tsconfig.json`
 * first), three runs on one data directory:
 *
 * 1. `--exit-after-start` on a fresh directory: both sites come up, the
 *    passive site b serves the replicated sample project, the URLs and the
 *    failover commands are printed, everything stops, exit 0.
 * 2. The same directory again, interactively: a job run on a reaches b with
 *    its log, the printed `tandem failover --config … --to b` command line is
 *    run as printed, b answers 200 on /health/active (a 503), and SIGINT
 *    stops the demo with exit 0.
 * 3. Once more with `--exit-after-start`: b, left active by the failover,
 *    is reported as the active site, a as fenced with the rejoin command.
 *
 * After each run no PostgreSQL process of the demo is left.
 */
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { demo, demoDir, freePortPair, getJson, leftoverPostgres, runPrinted, runSampleJob, stopAtTeardown, stopWithSigint, summary, waitFor, withTimeout, type Run } from './demo-helpers.js';

t.test('bad flags: one line naming the flag, exit 2, nothing started', async (t) => {
  for (const [args, msg] of [
    [['--port', 'abc'], /--port abc: expected a port number/],
    [['--port', '65535'], /site b uses the next one/],
    [['--config', 'x.yaml'], /--config: the demo writes its own configuration/],
  ] as const) {
    const run = demo([...args, '--dir', '/nonexistent/never-created']);
    t.equal(await withTimeout(run.exit, 30_000, 'demo with a bad flag'), 2, `${args.join(' ')}: exit 2`);
    t.match(run.stderr(), msg);
  }
  t.notOk(existsSync('/nonexistent/never-created'), 'no demo directory created');
});

t.test('two-site demo: start and exit, run with a failover, start again after it', async (t) => {
  const dir = await demoDir(t, 'demo');
  const port = await freePortPair();
  const a = `http://127.0.0.1:${port}`;
  const b = `http://127.0.0.1:${port + 1}`;
  let running: Run | undefined;
  stopAtTeardown(t, () => running);

  await t.test('first run with --exit-after-start', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port), '--exit-after-start']));
    const code = await withTimeout(run.exit, 120_000, 'demo --exit-after-start');
    const out = run.stdout();
    t.equal(code, 0, 'exit 0', { stderr: run.stderr().slice(-3000) });
    t.match(out, `site a  ${a}/`, 'site a URL printed');
    t.match(out, `site b  ${b}/`, 'site b URL printed');
    t.match(out, /site a: initialised as active \(epoch 1\)/);
    t.match(out, /site b: initialised as passive \(epoch 0\)/);
    t.match(out, /replication reached b: project "demo" and job demo\/hello are served by b's job server/, 'b serves the replicated project');
    t.match(out, /user demo {2}password \S{8,}/, 'login printed');
    t.match(out, new RegExp(`failover --config \\S*b/tandem\\.yaml --to b\\s`), 'planned failover command printed');
    t.match(out, /failover --config \S+ --to b --reverse/, '--reverse printed');
    t.match(out, /failover --config \S+ --to b --force/, '--force printed');
    t.match(out, /status --config \S+a\/tandem\.yaml/, 'status printed');
    t.match(out, /stopped\.\n$/);
    // The summary is not buried in start-up logs (in a file or a pipe shared with stdout): they go to DIR/demo.log,
    // the terminal gets warnings and errors only.
    const below = run.stderr().split('\n').filter((l) => l.trim() && !/"level":"(warn|error)"/.test(l));
    t.same(below, [], 'nothing below warn on stderr');
    t.match(out, /^logs: \S*demo\.log/m, 'where the log is, at the start');
    t.match(out, /^Logs: \S*demo\.log/m, 'and in the summary');
    const logged = readFileSync(path.join(dir, 'demo.log'), 'utf8');
    t.match(logged, /"msg":"migration applied"/, 'start-up logs are in demo.log');
    t.match(logged, /"msg":"initial copy done; streaming from the consistent point"/);
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
    t.notOk(existsSync(path.join(dir, 'a/pg/data/postmaster.pid')), 'site a PostgreSQL shut down cleanly');
    t.notOk(existsSync(path.join(dir, 'b/pg/data/postmaster.pid')), 'site b PostgreSQL shut down cleanly');
  });

  await t.test('second run: a job and its log reach b; the printed failover command makes b active; SIGINT stops it', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port)]));
    const out = await summary(run);
    t.match(out, /site a: found active \(epoch 1\)/, 'roles kept from the first run');
    t.match(out, /project "demo" is there from an earlier run/);
    const token = /export TOKEN=(\S+)/.exec(out)?.[1];
    t.ok(token, 'token printed');
    const password = / user demo {2}password (\S+)/.exec(out)?.[1];
    for (const [site, url] of [['a', a], ['b', b]] as const) {
      const login = await fetch(`${url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'demo', password }) });
      const body = (await login.json()) as { user?: string; readOnly?: boolean };
      t.equal(login.status, 200, `the printed login works on ${site}`);
      t.equal(body.user, 'demo');
      if (site === 'b') t.equal(body.readOnly, true, 'on the passive site the session is read-only');
    }

    const started = await runSampleJob(a, token ?? '', 'tandem-demo-test');
    t.equal(started.status, 201, 'job run on a', { body: started.body });
    const exec = { id: started.body.id! };
    const done = await waitFor('the execution to succeed on a', async () => {
      const r = await getJson(`${a}/api/v1/executions/${exec.id}`, token);
      return r.status === 200 && ['succeeded', 'failed'].includes(r.body.status) && r.body;
    });
    t.equal(done.status, 'succeeded');
    const copied = await waitFor('b to serve the execution log', async () => {
      const r = await getJson(`${b}/api/v1/executions/${exec.id}/output`, token);
      return r.status === 200 && r.body.complete && r.body;
    });
    t.ok(
      (copied.entries as Array<{ text: string }>).some((e) => e.text.includes('hello tandem-demo-test')),
      'b serves the log copied from a',
    );
    t.equal((await getJson(`${b}/health/active`)).status, 503, 'b is not active yet');

    const line = out.split('\n').find((l) => /failover --config \S+ --to b\s+#/.test(l));
    t.ok(line, 'plain failover command printed');
    const failover = runPrinted(line!);
    t.equal(failover.status, 0, `"${failover.cmd}" exits 0`, { stdout: failover.stdout, stderr: failover.stderr });
    t.match(failover.stdout, /done: b is active \(epoch 2\)/);
    // Its next: line names a command that works as printed (here: with --dry-run, which changes nothing).
    const next = /^next: .*: (\S.* rejoin --config \S+ --site a --from b)$/m.exec(failover.stdout)?.[1];
    t.match(next, /^node bin\/tandem\.js rejoin --config \S*b\/tandem\.yaml /, 'next: names the command path and --config as given', { stdout: failover.stdout });
    if (next) {
      const dry = runPrinted(next, ' --dry-run');
      t.equal(dry.status, 0, `"${dry.cmd}" exits 0`, { stderr: dry.stderr });
      t.match(dry.stdout, /plan: rebuild a \(fenced, epoch 1\) as a passive of b/);
    }
    await waitFor('b to answer 200 on /health/active', async () => (await getJson(`${b}/health/active`)).status === 200, 30_000);
    t.pass('b answers 200 on /health/active');
    t.equal((await getJson(`${a}/health/active`)).status, 503, 'a answers 503');
    await waitFor('the demo to see the new roles', async () => run.stdout().includes('[demo] replication a → b stopped: b is active now'), 30_000);
    t.match(run.stdout(), /\[demo\] a is fenced; to make it follow b again: .*rejoin --config \S+ --site a --from b/, 'rejoin hint printed');

    await stopWithSigint(t, run);
    // The failover ended the job servers' idle sessions (57P01) on purpose: info in demo.log, not a warning.
    t.notMatch(run.stderr(), /57P01/, 'no warning about an expected termination');
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });

  await t.test('third run: b, left active by the failover, is the active site', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port), '--exit-after-start']));
    const code = await withTimeout(run.exit, 120_000, 'demo --exit-after-start');
    const out = run.stdout();
    t.equal(code, 0, 'exit 0', { stderr: run.stderr().slice(-3000) });
    t.match(out, /site a: found fenced \(epoch 1\)/);
    t.match(out, /site b: found active \(epoch 2\)/);
    t.match(out, /site b is active \(left so by an earlier failover\)/);
    t.match(out, /Active site now: b\./);
    t.match(out, /rejoin --config \S+ --site a --from b/, 'how to bring a back is printed');
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });
});
