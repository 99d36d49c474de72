/**
 * `tandem demo` through a forced failover and a rejoin, with the command
 * lines the demo prints (built CLI first: `npx tsc -p tsconfig.json`):
 *
 * 1. Site a's PostgreSQL is stopped with the printed `kill -QUIT …` line; the
 *    printed `failover … --to b --force` makes b active (data-loss bound
 *    printed); SIGINT stops the demo with exit 0 although a's cluster is gone.
 * 2. The next start finds a still saying active with a lower epoch: a's job
 *    server fences it (a never answers 200 on /health/active), the demo
 *    prints the rejoin command; run as printed, a becomes passive and the
 *    demo replicates b → a (the API token made on b works on a).
 */
import t from 'tap';
import { demo, demoDir, freePortPair, getJson, leftoverPostgres, runPrinted, stopAtTeardown, stopWithSigint, summary, waitFor, type Run } from './demo-helpers.js';

t.test('forced failover after losing site a, then rejoin', async (t) => {
  const dir = await demoDir(t, 'demo-forced');
  const port = await freePortPair();
  const a = `http://127.0.0.1:${port}`;
  const b = `http://127.0.0.1:${port + 1}`;
  let running: Run | undefined;
  let forcedNext: string | undefined;
  stopAtTeardown(t, () => running);

  await t.test('first run: lose a, force b', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port)]));
    const out = await summary(run);
    const lines = out.split('\n');
    const kill = lines.find((l) => /^\s+kill -QUIT \$\(head -1 \S+a\/pg\/data\/postmaster\.pid\)/.test(l));
    const force = lines.find((l) => /failover --config \S+ --to b --force\s+#/.test(l));
    t.ok(kill && force, 'the kill and --force lines are printed');
    const k = runPrinted(kill!);
    t.equal(k.status, 0, `"${k.cmd}" exits 0`, { stderr: k.stderr });
    await waitFor('the demo to see a unreachable', async () => run.stdout().includes('[demo] site a: database unreachable'), 30_000);
    t.pass('the demo reports a unreachable');
    const f = runPrinted(force!);
    t.equal(f.status, 0, `"${f.cmd}" exits 0`, { stdout: f.stdout, stderr: f.stderr });
    t.match(f.stdout, /b is active \(epoch 2\) after a forced failover/);
    t.match(f.stdout, /DATA-LOSS BOUND/);
    // The rejoin command it prints next is run as printed in the second run.
    forcedNext = /^next: .*rebuild it with: (.+)$/m.exec(f.stdout)?.[1];
    t.match(forcedNext, /^node bin\/tandem\.js rejoin --config \S*b\/tandem\.yaml --site a --from b$/, 'next: names the command path and --config as given', { stdout: f.stdout });
    await waitFor('b to answer 200 on /health/active', async () => (await getJson(`${b}/health/active`)).status === 200, 30_000);
    t.pass('b answers 200 on /health/active');
    await waitFor('the demo to stop replication into b', async () => run.stdout().includes('[demo] replication a → b stopped: b is active now'), 30_000);
    t.pass('replication a → b stopped');
    await stopWithSigint(t, run);
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });

  await t.test('second run: a comes back, fences itself, is rejoined as a passive of b', async (t) => {
    const run = (running = demo(['--dir', dir, '--port', String(port)]));
    // Watch a's /health/active from the moment its job server may listen: it must never claim the role.
    let aActive = 0;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        if ((await getJson(`${a}/health/active`)).status === 200) aActive++;
        // Deliberate pacing of an observation, not a wait: sample a's
        // /health/active every 50 ms for the whole run; a single 200 is a failure.
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const out = await summary(run);
    t.match(out, /site a: found active \(epoch 1\)/, 'a still says active after its crash');
    t.match(out, /site b: found active \(epoch 2\)/);
    t.match(out, /Active site now: b\./);
    const token = /export TOKEN=(\S+)/.exec(out)?.[1];
    t.ok(token, 'a token (made on b) is printed');
    await waitFor('a to be fenced', async () => run.stdout().includes('[demo] a is fenced; to make it follow b again'), 30_000);
    t.pass('a fenced itself');
    const hint = run
      .stdout()
      .split('\n')
      .find((l) => /\[demo\] a is fenced/.test(l))!
      .replace(/^.*follow b again: /, '');
    t.match(hint, /^node bin\/tandem\.js rejoin --config \S*a\/tandem\.yaml --site a --from b$/, "the demo's hint");
    // The forced failover's own next: line (b's configuration lists both sites too).
    t.ok(forcedNext, 'the forced failover printed the rejoin command');
    const r = runPrinted(forcedNext ?? hint);
    t.equal(r.status, 0, `"${r.cmd}" exits 0`, { stdout: r.stdout, stderr: r.stderr });
    t.match(r.stdout, /resync caught up/);
    await waitFor('the demo to replicate b → a', async () => run.stdout().includes('[demo] replication b → a started'), 30_000);
    t.pass('the demo started replication b → a');
    const jobs = await waitFor('a to serve the project with the token made on b', async () => {
      const res = await getJson(`${a}/api/v1/projects/demo/jobs`, token);
      return res.status === 200 && res.body;
    });
    t.ok((jobs.jobs as Array<{ name: string }>).some((j) => j.name === 'hello'), 'a serves job demo/hello');
    watching = false;
    await watcher;
    t.equal(aActive, 0, 'a never answered 200 on /health/active');
    await stopWithSigint(t, run);
    t.same(leftoverPostgres(dir), [], 'no PostgreSQL process left');
  });
});
