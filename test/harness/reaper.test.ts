/**
 * A test process that dies without running its teardowns (here: an uncaught
 * exception) leaves no PostgreSQL, no slapd and no temp directory behind:
 * the harness's reaper kills and removes them on the way out.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './tmp.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Running (a zombie waiting for init to reap it is not running: .ci/run ignores those too). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

t.test('servers and temp dirs of a test process that crashes are reaped', async (t) => {
  const dir = await tempDir(t, 'reaper');
  const script = path.join(dir, 'crash.mts');
  const report = path.join(dir, 'report.json');
  writeFileSync(
    script,
    `import { writeFileSync } from 'node:fs';
import { startPostgres } from ${JSON.stringify(path.join(here, 'postgres.js'))};
import { startLdap } from ${JSON.stringify(path.join(here, 'ldap.js'))};
import { tempDir } from ${JSON.stringify(path.join(here, 'tmp.js'))};
const never = { teardown() {} }; // teardowns that never run, as in a crashed test
const pg = await startPostgres(never, { name: 'reaper-probe' });
const ldap = await startLdap(never);
const d = await tempDir(never, 'reaper-probe');
const ldapPid = Number((await import('node:child_process')).execSync(\`pgrep -f 'slapd .*127.0.0.1:\${ldap.port}/'\`).toString().trim());
writeFileSync(${JSON.stringify(report)}, JSON.stringify({ pgPid: pg.pid(), ldapPid, pgDir: pg.dir, dir: d }));
throw new Error('crash on purpose');
`,
  );
  const r = spawnSync(process.execPath, ['--import', 'file://' + path.resolve(here, '../../node_modules/@tapjs/typescript/dist/esm/import.mjs'), script], { encoding: 'utf8', timeout: 60_000 });
  t.not(r.status, 0, 'the probe crashed');
  t.match(r.stderr, /crash on purpose/);
  const { pgPid, ldapPid, pgDir, dir: probeDir } = JSON.parse(readFileSync(report, 'utf8'));
  t.notOk(alive(pgPid), 'its PostgreSQL is gone');
  t.notOk(alive(ldapPid), 'its slapd is gone');
  t.notOk(existsSync(pgDir), 'the cluster directory is removed');
  t.notOk(existsSync(probeDir), 'its temp directory is removed');
});
