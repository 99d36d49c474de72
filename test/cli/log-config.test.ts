// `log.level` and `log.format` from the configuration file shape the CLI's log lines (built CLI, real process, real PostgreSQL).
import t from 'tap';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../harness/postgres.js';
import { tempDir } from '../harness/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function tandem(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [path.join(root, 'bin/tandem.js'), ...args], { env: { PATH: process.env.PATH, ...env }, cwd: root });
    let stderr = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stderr }));
  });
}

t.test('log.format and log.level from the config file apply to the command\'s log lines', async (t) => {
  const pg = await startPostgres(t, { name: 'log-config' });
  const dir = await tempDir(t, 'log-config');
  const run = async (db: string, log: string, env: NodeJS.ProcessEnv = {}, flags: string[] = []) => {
    const file = path.join(dir, `${db}.yaml`);
    writeFileSync(file, `database:\n  url: ${JSON.stringify(await pg.createDatabase(db))}\nlog:\n${log}`);
    return tandem(['migrate', '--config', file, ...flags], env);
  };

  const pretty = await run('pretty', '  format: pretty\n');
  t.equal(pretty.code, 0, 'migrate exits 0');
  const lines = pretty.stderr.split('\n').filter(Boolean);
  t.ok(lines.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO  migration applied /.test(l)), 'pretty lines although stderr is not a terminal');
  t.notOk(lines.some((l) => l.startsWith('{')), 'no JSON line');

  const json = await run('json', '  format: json\n');
  const records = json.stderr.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string });
  t.ok(records.some((r) => r.level === 'info' && r.msg === 'migration applied'), 'json lines when asked for');

  const quiet = await run('quiet', '  level: warn\n');
  t.equal(quiet.code, 0);
  t.notMatch(quiet.stderr, /migration applied/, 'log.level warn drops info lines');

  const flagWins = await run('flag', '  level: warn\n', {}, ['--log-level', 'info']);
  t.match(flagWins.stderr, /migration applied/, '--log-level overrides the file');
  const envWins = await run('env', '  level: warn\n', { TANDEM_LOG_LEVEL: 'info' });
  t.match(envWins.stderr, /migration applied/, 'TANDEM_LOG_LEVEL overrides the file');
});
