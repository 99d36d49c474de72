/**
 * The commands as an operator runs them (built CLI, `npx tsc -p
 * tsconfig.json` first): tandem site init, tandem status (table and --json),
 * tandem failover --dry-run, usage errors, and a real `tandem failover`
 * process interrupted with Ctrl-C and then killed with SIGKILL while it waits
 * for the target to catch up, re-run to completion.
 */
import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { migrate } from '../../server/db/migrate.js';
import { count, startReplication, startSiteServer, startSites, waitFor, watchActive } from './helpers.js';
import { tempDir } from '../harness/tmp.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function tandem(args: string[]): { child: ChildProcess; done: Promise<Run>; stdout: () => string } {
  const child = spawn(process.execPath, [path.join(repo, 'bin/tandem.js'), ...args], { cwd: repo, env: { ...process.env, TANDEM_LOG_FORMAT: 'json' } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const done = new Promise<Run>((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
  return { child, done, stdout: () => stdout };
}

const run = (args: string[]) => tandem(args).done;

t.test('tandem site init, status, failover from the command line', async (t) => {
  const sites = await startSites(t);
  const { a, b } = sites;
  let repl = startReplication(t, a, b);
  await startSiteServer(t, a, sites, { 'scheduler.enabled': false });
  await startSiteServer(t, b, sites, { 'scheduler.enabled': false });
  const watcher = watchActive(t, [a, b]);
  const dir = await tempDir(t, 'cli-config');
  const config = path.join(dir, 'tandem.yaml');
  await writeFile(
    config,
    [
      'site: a',
      'sites:',
      ...[a, b].map((s) => `  ${s.name}: { databaseUrl: "${s.dbUrl}", url: "${s.url}" }`),
      'failover:',
      '  catchUpTimeout: 60s',
      '',
    ].join('\n'),
  );
  await a.q(`insert into tandem.projects (name) values ('p0')`);
  await waitFor('b caught up', async () => (await count(b, 'tandem.projects')) === 1);

  // site init on a fresh database
  const cUrl = await a.pg.createDatabase('third');
  await migrate(cUrl);
  const init = await run(['site', 'init', '--database-url', cUrl, '--name', 'c', '--role', 'passive']);
  t.equal(init.code, 0, init.stderr);
  t.match(init.stdout, /initialised: site c, role passive, epoch 0/);
  const clash = await run(['site', 'init', '--database-url', cUrl, '--name', 'c', '--role', 'active']);
  t.equal(clash.code, 1, 'changing the role through init is refused');
  t.match(clash.stderr, /already site "c" \(passive, epoch 0\)/);

  // status
  const json = await run(['status', '--config', config, '--json']);
  t.equal(json.code, 0, json.stderr);
  const st = JSON.parse(json.stdout).sites;
  t.same(
    st.map((s: any) => [s.site, s.role, s.epoch, s.health]),
    [
      ['a', 'active', 1, 'active'],
      ['b', 'passive', 0, 'not active'],
    ],
  );
  t.ok(st[1].appliedLsn, 'b shows its applied position');
  const table = await run(['status', '--config', config]);
  t.equal(table.code, 0);
  t.match(table.stdout, /^SITE\s+ROLE\s+EPOCH\s+DATABASE\s+HEALTH\s+APPLIED\s+LAG/m);
  t.match(table.stdout, /^b\s+passive\s+0\s+reachable\s+not active\s+\d+\/[0-9A-F]+/m);

  // dry run
  const dry = await run(['failover', '--config', config, '--to', 'b', '--dry-run']);
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /plan: planned switchover a → b/);
  t.match(dry.stdout, /checks passed\./);
  t.equal((await a.q(`select role from tandem_site.site`)).rows[0].role, 'active', 'dry run changed nothing');

  // With the replicator stopped the switchover waits at "catch up": interrupt it there.
  await repl.stop();
  const first = tandem(['failover', '--config', config, '--to', 'b']);
  await waitFor('the command to wait for the catch-up', async () => first.stdout().includes('catch up ...'), 120_000);
  first.child.kill('SIGINT');
  const r1 = await first.done;
  t.equal(r1.code, 130, 'Ctrl-C: exit 130');
  t.match(r1.stderr, /interrupted before .*Re-run the same command to complete the switchover, or add --abort/);
  t.same((await Promise.all([a, b].map((s) => s.q(`select role from tandem_site.site`)))).map((r) => r.rows[0].role), ['fenced', 'passive'], 'a fenced, b not promoted');

  const second = tandem(['failover', '--config', config, '--to', 'b']);
  await waitFor('the re-run to wait for the catch-up', async () => second.stdout().includes('catch up ...'), 120_000);
  second.child.kill('SIGKILL');
  await second.done;
  t.same((await Promise.all([a, b].map((s) => s.q(`select role from tandem_site.site`)))).map((r) => r.rows[0].role), ['fenced', 'passive'], 'killed: still one fenced, one passive');

  repl = startReplication(t, a, b);
  const third = await run(['failover', '--config', config, '--to', 'b']);
  t.equal(third.code, 0, third.stderr);
  t.match(third.stdout, /drain: already done/);
  t.match(third.stdout, /\[6\/6\] promote: b is active with epoch 2 \(\d+\.\d\d s\)/);
  t.match(third.stdout, /done: b is active \(epoch 2\); a is fenced; data lost: none/);
  t.same((await Promise.all([a, b].map((s) => s.q(`select role from tandem_site.site`)))).map((r) => r.rows[0].role), ['fenced', 'active'], 'b active after the re-run');

  await watcher.stop();
  t.same(watcher.violations, [], 'never two sites answering 200 on /health/active');
});
