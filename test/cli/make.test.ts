/**
 * A newcomer's first minutes with the Makefile: `make demo` installs only what
 * the demo needs and does not recompile unchanged sources; `make test` checks
 * first that PostgreSQL (run as user postgres under root) can reach the
 * checkout. Make runs with -n (print, run nothing) and with -o on the npm stamp,
 * so no test ever installs packages.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../harness/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const make = (...args: string[]) => spawnSync('make', ['-o', 'node_modules/.install-stamp', ...args], { cwd: root, encoding: 'utf8' });

t.test('make demo installs npm packages and the build only; make test adds the Debian packages', async (t) => {
  const demo = make('-n', 'demo');
  t.equal(demo.status, 0, 'make -n demo', { stderr: demo.stderr });
  t.match(demo.stdout, /node bin\/tandem\.js demo/);
  t.notMatch(demo.stdout, /dpkg|apt-get|slapd|chromium/, 'no Debian package is checked or installed for the demo');
  for (const target of ['test', 'test-ci']) {
    const r = make('-n', target);
    t.equal(r.status, 0, `make -n ${target}`, { stderr: r.stderr });
    t.match(r.stdout, /dpkg -s/, `${target} installs the Debian test packages`);
    t.match(r.stdout, /node test\/check-access\.mjs[\s\S]*dpkg -s/, `${target} checks the checkout's access first`);
  }
});

t.test('the build runs only when a source changed', async (t) => {
  // Brings dist/ up to date (incremental: nothing is emitted when it already is) and records it.
  const built = make('build');
  t.equal(built.status, 0, 'make build', { stdout: built.stdout, stderr: built.stderr });
  const again = make('-n', 'demo');
  t.notMatch(again.stdout, /tsc/, 'unchanged sources: make demo does not compile');
  const changed = make('-n', '-W', 'server/log.ts', 'demo');
  t.match(changed.stdout, /npx tsc -p tsconfig\.json/, 'a changed source: make demo compiles first');
});

t.test('check-access: a directory closed to other users is named in one line, as root', async (t) => {
  const dir = await tempDir(t, 'closed');
  const inner = path.join(dir, 'checkout');
  mkdirSync(inner);
  chmodSync(dir, 0o700);
  const r = spawnSync(process.execPath, [path.join(root, 'test/check-access.mjs'), inner], { encoding: 'utf8' });
  if (userInfo().uid === 0) {
    t.equal(r.status, 1, 'exit 1');
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    t.match(r.stderr, `${dir} (mode 700) is closed to other users`);
    t.match(r.stderr, `chmod o+x ${dir}`, 'says what to do');
  } else {
    t.equal(r.status, 0, 'not root: PostgreSQL runs as this user, nothing to check');
  }
  chmodSync(dir, 0o755);
  const open = spawnSync(process.execPath, [path.join(root, 'test/check-access.mjs'), inner], { encoding: 'utf8' });
  t.equal(open.status, 0, 'an open path passes', { stderr: open.stderr });
  t.equal(open.stderr, '');
});
