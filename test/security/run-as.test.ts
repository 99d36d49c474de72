/**
 * Steps run as another user (`executions.runAs`). A job server whose database password,
 * config file, users file and a `_FILE` secret are all where a step could
 * look; its steps run as `nobody` and find none of them: not in their
 * environment, not in the files (0600, the server's), not in the logs (0700).
 * Start-up refuses a secret file the step user could read.
 *
 * Switching users needs root (CI runs as root); elsewhere the file says so
 * and runs nothing.
 */
import t from 'tap';
import { statSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { startJobServer } from '../../server/app/job-server.js';
import { createToken } from '../../server/auth/tokens.js';
import { loadConfig } from '../../server/config/load.js';
import { migrate } from '../../server/db/migrate.js';
import { isTandemError } from '../../server/errors.js';
import { testLog } from '../harness/log.js';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';
import { waitFor } from '../server/helpers.js';

const DB_PASSWORD = 'runas-db-fixture-pw-Z7q';
const BIND_PASSWORD = 'runas-bind-fixture-pw-K2';

if (process.getuid?.() !== 0) {
  t.comment('executions.runAs switches users: this file needs root (CI runs as root)');
  t.pass('not root: nothing to check here');
} else {
  t.test('security: steps under executions.runAs', async (t) => {
    const pgs = await startPostgres(t, { name: 'runas' });
    await pgs.query(`create role runas_app login password '${DB_PASSWORD}'`);
    await pgs.query('create database runas owner runas_app');
    const dbUrl = pgs.urlFor('runas').replace(/\/\/[^@]*@/, `//runas_app:${DB_PASSWORD}@`);
    await migrate(dbUrl);

    // The directory is open to everybody, as /etc/tandem would be: only the files' own modes protect them.
    const dir = await tempDir(t, 'runas');
    await chmod(dir, 0o755);
    const configFile = path.join(dir, 'tandem.yaml');
    const usersFile = path.join(dir, 'users.yaml');
    const bindFile = path.join(dir, 'bind-password');
    const logsDir = path.join(dir, 'logs');
    await writeFile(configFile, `database:\n  url: ${dbUrl}\n`, { mode: 0o600 });
    await writeFile(usersFile, 'users: []\n', { mode: 0o600 });
    await writeFile(bindFile, BIND_PASSWORD + '\n', { mode: 0o600 });
    const savedEnv = { url: process.env.TANDEM_DATABASE_URL, file: process.env.TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE };
    // The server runs in this process: these are the server's own variables.
    process.env.TANDEM_DATABASE_URL = dbUrl;
    process.env.TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE = bindFile;
    t.teardown(() => {
      for (const [k, v] of [['TANDEM_DATABASE_URL', savedEnv.url], ['TANDEM_AUTH_LDAP_BIND_PASSWORD_FILE', savedEnv.file]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    });
    const config = loadConfig({
      env: {},
      file: configFile,
      overrides: {
        'server.port': 0,
        'logs.dir': logsDir,
        'auth.usersFile': usersFile,
        'scheduler.enabled': false,
        'executions.runAs': 'nobody',
        'server.drainTimeout': 5000,
      },
    });

    await t.test('start-up refuses a secret file the step user could read, and names it', async (t) => {
      await chmod(usersFile, 0o644);
      const err = await startJobServer({ config, log: testLog, configFile }).then(
        async (s) => {
          await s.stop();
          return null;
        },
        (e: unknown) => e,
      );
      await chmod(usersFile, 0o600);
      t.ok(isTandemError(err), String(err));
      if (isTandemError(err)) {
        t.equal(err.code, 'invalid_config');
        t.equal(err.field, 'executions.runAs');
        t.match(err.message, `auth.usersFile ${usersFile} (mode 0644`);
        t.match(err.message, /chmod 600/);
      }
    });

    const server = await startJobServer({ config, log: testLog, configFile });
    t.teardown(() => server.stop());
    const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
    t.teardown(() => pool.end());
    const { token } = await createToken(pool, { user: 'admin', roles: ['admin'] });
    const api = async (method: string, p: string, body?: unknown) => {
      const res = await fetch(server.url + p, {
        method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
    };
    t.equal((await api('POST', '/api/v1/projects', { name: 'ops' })).status, 201);
    t.equal(statSync(logsDir).mode & 0o777, 0o700, 'the log directory is private to the server');

    await t.test('a step can read none of the server\'s secrets', async (t) => {
      const files = [configFile, usersFile, bindFile, logsDir];
      // A script step too: its file must be readable by the step user (and by nobody else).
      const probe = [
        'echo "uid=$(id -u) gid=$(id -g) groups=$(id -G)"',
        'env',
        // A file is read with cat, the log directory listed with ls.
        ...files.map((f) => `if ${f === logsDir ? 'ls' : 'cat'} '${f}' >/dev/null 2>&1; then echo "READ ${f}"; else echo "DENIED ${f}"; fi`),
        // Whatever it can find that looks like a database URL, it tries: there must be nothing to try.
        `found=$( (env; cat '${configFile}' '${bindFile}' 2>/dev/null) | grep -o 'postgres://[^ ]*' | head -1)`,
        'echo "database url found: ${found:-none}"',
      ].join('\n');
      const imp = await api('POST', '/api/v1/projects/ops/jobs', [{ name: 'probe', sequence: { commands: [{ script: `#!/bin/sh\n${probe}\n` }] } }]);
      t.equal(imp.status, 201);
      const run = await api('POST', `/api/v1/jobs/${imp.body.jobs[0].id}/run`, {});
      t.equal(run.status, 201);
      const done = await waitFor('the probe to end', async () => {
        const r = await api('GET', `/api/v1/executions/${run.body.id}`);
        return ['succeeded', 'failed'].includes(r.body.status) ? r.body : undefined;
      });
      t.equal(done.status, 'succeeded', JSON.stringify(done));
      const out = await api('GET', `/api/v1/executions/${run.body.id}/output`);
      const lines: string[] = out.body.entries.filter((e: any) => e.stream === 'stdout').map((e: any) => e.text);
      t.equal(lines[0], 'uid=65534 gid=65534 groups=65534', 'the step ran as nobody, without the server\'s groups');
      for (const f of files) t.ok(lines.includes(`DENIED ${f}`), `cannot read ${path.basename(f)}`);
      t.ok(lines.includes('database url found: none'), 'nothing to connect to the database with');
      const all = lines.join('\n');
      t.notOk(all.includes(DB_PASSWORD) || all.includes(BIND_PASSWORD), 'no secret in what the step saw');
      t.notOk(/^TANDEM_DATABASE_URL=|_FILE=/m.test(all), 'no server variable in its environment');
      t.match(all, /^HOME=\/nonexistent$/m, "the step user's HOME");

      // The control: the URL the step could not find does connect (so "none" above means something).
      const c = new pg.Client({ connectionString: dbUrl });
      await c.connect();
      t.equal((await c.query('select current_user as u')).rows[0].u, 'runas_app');
      await c.end();
    });
  });
}
