/**
 * The shipped nginx configurations (deploy/nginx/) rendered for loopback,
 * and a private nginx (`-p PREFIX`) to check (`nginx -t`) or run them.
 *
 * Rendering drops lines marked `# host-only` (certificates, port 80), turns
 * `listen 443 ssl http2;` into a loopback listen, points the upstream include
 * at a file in the prefix, and replaces the example members
 * (`tandem-a1.example.org:4440`, ...) by the given loopback ports: nginx
 * resolves upstream names when it loads its configuration.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../server/embedded/net.js';
import { waitForPort } from '../harness/wait.js';
import { serverDir, type Teardown } from '../harness/tmp.js';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const NGINX = existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx';
export const SHIPPED_UPSTREAM_INCLUDE = '/etc/nginx/tandem/upstream-active.conf';

export interface NginxRenderOptions {
  listenPort: number;
  /** Where the upstream include file is (for tandem.conf). */
  upstreamFile: string;
  /** Example member host:port → loopback port. */
  members: Record<string, number>;
}

export function renderNginxSite(shipped: string, opts: NginxRenderOptions): string {
  let text = shipped
    .split('\n')
    .filter((l) => !/#\s*host-only\s*$/.test(l))
    .join('\n')
    .replace(/listen 443 ssl http2;/g, `listen 127.0.0.1:${opts.listenPort};`)
    .replaceAll(SHIPPED_UPSTREAM_INCLUDE, opts.upstreamFile);
  for (const [member, port] of Object.entries(opts.members)) text = text.replaceAll(member, `127.0.0.1:${port}`);
  return text;
}

/** Main configuration of a private nginx whose every path is under `prefix`. */
export function mainConf(prefix: string, siteFile: string): string {
  return [
    'daemon off;',
    `pid ${prefix}/nginx.pid;`,
    'error_log stderr warn;',
    'worker_processes 1;',
    'events { worker_connections 256; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((k) => `  ${k}_temp_path ${prefix}/${k};`),
    `  include ${siteFile};`,
    '}',
  ].join('\n');
}

export interface PreparedNginx {
  prefix: string;
  conf: string;
  upstreamFile: string;
  port: number;
}

/** Write a rendered site (from deploy/nginx/FILE) and its main conf into a fresh prefix. */
export async function prepareNginx(t: Teardown, file: string, members: Record<string, number>, upstreamText?: string): Promise<PreparedNginx & { setStop(fn: () => unknown): void }> {
  const { dir: prefix, setStop } = await serverDir(t, 'nginx');
  const port = await freePort();
  await mkdir(path.join(prefix, 'tandem'));
  const upstreamFile = path.join(prefix, 'tandem', 'upstream-active.conf');
  const upstream = upstreamText ?? readFileSync(path.join(root, 'deploy/nginx/upstream-active.conf'), 'utf8');
  let renderedUpstream = upstream;
  for (const [member, p] of Object.entries(members)) renderedUpstream = renderedUpstream.replaceAll(member, `127.0.0.1:${p}`);
  await writeFile(upstreamFile, renderedUpstream);
  const site = path.join(prefix, 'site.conf');
  await writeFile(site, renderNginxSite(readFileSync(path.join(root, 'deploy/nginx', file), 'utf8'), { listenPort: port, upstreamFile, members }));
  const conf = path.join(prefix, 'nginx.conf');
  await writeFile(conf, mainConf(prefix, site) + '\n');
  return { prefix, conf, upstreamFile, port, setStop };
}

export function nginxArgs(n: PreparedNginx): string[] {
  return ['-p', n.prefix + '/', '-c', n.conf];
}

export function nginxTest(n: PreparedNginx): { status: number | null; output: string } {
  const r = spawnSync(NGINX, ['-t', ...nginxArgs(n)], { encoding: 'utf8' });
  return { status: r.status, output: (r.stdout ?? '') + (r.stderr ?? '') };
}

/** Run nginx in the foreground until the test's teardown. */
export async function runNginx(t: Teardown, file: string, members: Record<string, number>, upstreamText?: string): Promise<PreparedNginx> {
  const n = await prepareNginx(t, file, members, upstreamText);
  const check = nginxTest(n);
  if (check.status !== 0) throw new Error(`nginx -t refused the rendered ${file}:\n${check.output}`);
  let stderr = '';
  const proc = spawn(NGINX, nginxArgs(n), { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-5000)));
  n.setStop(async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGQUIT'); // graceful: master and workers exit
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  });
  const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`nginx exited during start (code ${code}): ${stderr}`))));
  exited.catch(() => {});
  await Promise.race([waitForPort(n.port, 10_000), exited]);
  return n;
}
