// `tandem` loads only the command it runs: `tandem --help` lists every command from the table in
// replicator/cli/tandem.ts without importing any command module, and `tandem replicate --help` does not
// load the job server (koa, ldapts, ssh2, @google-cloud/storage, nodemailer). Built CLI, real process; the
// modules a process loads are recorded by a module-loader hook (node:module register). No server.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir, type Teardown } from '../harness/tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** A loader hook that appends the URL of every module loaded (ESM, and the entry file of each CommonJS package) to the file given. */
const hooks = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function load(url, context, next) {
  const r = await next(url, context);
  appendFileSync(file, url + '\\n');
  return r;
}`;

/** Runs `tandem ARGS` and answers its exit code, output and the modules it loaded (paths relative to the checkout). */
async function loaded(t: Teardown, args: string[]): Promise<{ status: number | null; stdout: string; modules: string[] }> {
  const file = path.join(await tempDir(t, 'lazy-commands'), 'loaded.txt');
  const register = `import { register } from 'node:module'; register(${JSON.stringify('data:text/javascript,' + encodeURIComponent(hooks))}, { data: { file: ${JSON.stringify(file)} } });`;
  const r = spawnSync(process.execPath, ['--import', 'data:text/javascript,' + encodeURIComponent(register), path.join(root, 'bin/tandem.js'), ...args], {
    encoding: 'utf8',
    env: { PATH: process.env.PATH },
    cwd: root,
  });
  const rootUrl = pathToFileURL(root).href + '/';
  const modules = readFileSync(file, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith(rootUrl))
    .map((u) => u.slice(rootUrl.length));
  return { status: r.status, stdout: r.stdout, modules };
}

const commandModules = (modules: string[]) => modules.filter((m) => /^dist\/(server\/cli|replicator\/cli)\/(?!main\.js$|tandem\.js$)/.test(m));
const jobServerPackages = /node_modules\/(koa|@koa\/router|ldapts|ssh2|@google-cloud\/storage|nodemailer)\//;

t.test('tandem --help lists every command without importing any command module', async (t) => {
  const r = await loaded(t, ['--help']);
  t.equal(r.status, 0);
  t.ok(r.modules.includes('dist/replicator/cli/tandem.js'), 'the hook saw the command table load');
  const listed = r.stdout.split('Commands:\n')[1]!.split('\n\n')[0]!.split('\n');
  t.ok(listed.length >= 20, `${listed.length} commands listed`);
  for (const l of listed) t.match(l, /^ {2}\S.*\S {2,}\S/, `"${l.trim().split(/\s{2,}/)[0]}" has a summary`);
  t.same(commandModules(r.modules), [], 'no command module was imported');
  t.same(r.modules.filter((m) => jobServerPackages.test(m)), [], 'no job-server package was loaded');
});

t.test('tandem replicate --help loads the replicate command, not the job server or the other commands', async (t) => {
  const r = await loaded(t, ['replicate', '--help']);
  t.equal(r.status, 0);
  t.match(r.stdout, /Example:/);
  t.same(commandModules(r.modules), ['dist/replicator/cli/replicate.js'], 'only the replicate command module');
  t.same(r.modules.filter((m) => jobServerPackages.test(m)), [], 'no koa, ldapts, ssh2, @google-cloud/storage or nodemailer');
  t.same(r.modules.filter((m) => m.startsWith('dist/server/http/') || m.startsWith('dist/server/app/job-server')), [], 'no HTTP server modules');
});
