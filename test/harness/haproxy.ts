/**
 * startHaproxy(t, { servers }): Debian's real `haproxy` on a free loopback
 * port, running the shipped deploy/haproxy/haproxy.cfg rendered for loopback
 * (renderHaproxyConfig below), in front of the given backends; stopped at
 * the test's teardown even when the test fails.
 *
 * Rendering keeps everything that decides routing as shipped (the health
 * check, its timings, retries, balancing) and changes only what cannot work
 * on loopback in a test: lines marked `# host-only` (certificates, ports 80
 * and 443, syslog, chroot, user, daemon, the system stats socket) are
 * dropped, one `bind 127.0.0.1:PORT` is added to the frontend, the
 * backend's `server` lines are replaced by the given ones, `maxconn` is
 * lowered to what an unprivileged test's file descriptor limit allows, logs
 * go to stderr, and a stats socket in the test's temp directory lets the
 * test read the servers' check states.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../server/embedded/net.js';
import { waitFor, waitForPort } from './wait.js';
import { serverDir, type Teardown } from './tmp.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SHIPPED_HAPROXY_CFG = path.join(root, 'deploy/haproxy/haproxy.cfg');
export const HAPROXY = existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy';

export interface HaproxyBackend {
  /** Server name in HAProxy (e.g. `a1`). */
  name: string;
  port: number;
  host?: string;
}

export interface RenderOptions {
  bindPort: number;
  servers: HaproxyBackend[];
  /** Unix socket for `show stat` (admin level). */
  statsSocket?: string;
  /** Add `x-lb-server: NAME` to every answer from a server, so a test knows who answered. */
  tagServer?: boolean;
}

/** The shipped configuration text rendered for loopback (see the file comment). */
export function renderHaproxyConfig(shipped: string, opts: RenderOptions): string {
  const out: string[] = [];
  let section = '';
  for (const line of shipped.split('\n')) {
    if (/#\s*host-only\s*$/.test(line)) continue;
    const head = /^(\S+)(\s+(\S+))?/.exec(line);
    if (head) section = head[1]!;
    if (section === 'backend' && /^\s+server\s/.test(line)) continue;
    if (section === 'global' && /^\s+maxconn\s/.test(line)) {
      out.push('    maxconn 1000');
      continue;
    }
    out.push(line);
    if (head && section === 'global') {
      // Request lines too when TANDEM_TEST_HAPROXY_LOG is set (printed on stderr).
      out.push(`    log stderr format raw local0 ${process.env.TANDEM_TEST_HAPROXY_LOG ? 'info' : 'notice'}`);
      if (opts.statsSocket) out.push(`    stats socket ${opts.statsSocket} mode 600 level admin`);
    }
    if (head && section === 'frontend') out.push(`    bind 127.0.0.1:${opts.bindPort}`);
    if (section === 'backend' && /^\s+default-server\s/.test(line)) {
      if (opts.tagServer) out.push('    http-response set-header x-lb-server %[srv_name]');
      for (const s of opts.servers) out.push(`    server ${s.name} ${s.host ?? '127.0.0.1'}:${s.port}`);
    }
  }
  const text = out.join('\n');
  if (!/^\s+bind 127\.0\.0\.1:/m.test(text)) throw new Error('haproxy.cfg: no frontend section to bind');
  if (opts.servers.length && !opts.servers.every((s) => text.includes(`server ${s.name} `)))
    throw new Error('haproxy.cfg: no default-server line in the backend to put the servers after');
  return text;
}

/** One server's state as HAProxy's `show stat` reports it (UP, DOWN, "UP 1/2", MAINT, ...). */
export interface ServerStat {
  name: string;
  status: string;
}

export interface TestHaproxy {
  /** `http://127.0.0.1:PORT` of the frontend. */
  url: string;
  port: number;
  /** The rendered configuration file. */
  configFile: string;
  /** Current state of each backend server. */
  servers(): Promise<ServerStat[]>;
  /** Resolves when `pred` holds for the server states, or rejects after timeoutMs. */
  waitFor(pred: (s: ServerStat[]) => boolean, timeoutMs: number, what: string): Promise<ServerStat[]>;
  stop(): Promise<void>;
}

export interface StartHaproxyOptions {
  servers: HaproxyBackend[];
  /** Configuration to render (default: the shipped deploy/haproxy/haproxy.cfg). */
  shippedConfig?: string;
  /** See RenderOptions.tagServer. */
  tagServer?: boolean;
}

/** `haproxy -c -f FILE`: exit status and output. */
export function checkHaproxyConfig(file: string): { status: number | null; output: string } {
  const r = spawnSync(HAPROXY, ['-c', '-f', file], { encoding: 'utf8' });
  return { status: r.status, output: (r.stdout ?? '') + (r.stderr ?? '') };
}

async function statsCommand(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let data = '';
    s.on('data', (c: Buffer) => (data += c.toString()));
    s.on('end', () => resolve(data));
    s.on('error', reject);
    s.write(command + '\n');
  });
}

export async function startHaproxy(t: Teardown, opts: StartHaproxyOptions): Promise<TestHaproxy> {
  const { dir, setStop } = await serverDir(t, 'haproxy');
  const port = await freePort();
  const statsSocket = path.join(dir, 'admin.sock');
  const shipped = readFileSync(opts.shippedConfig ?? SHIPPED_HAPROXY_CFG, 'utf8');
  const configFile = path.join(dir, 'haproxy.cfg');
  await writeFile(configFile, renderHaproxyConfig(shipped, { bindPort: port, servers: opts.servers, statsSocket, tagServer: opts.tagServer }) + '\n');
  const check = checkHaproxyConfig(configFile);
  if (check.status !== 0) throw new Error(`haproxy -c refused the rendered configuration:\n${check.output}`);

  let stderr = '';
  // -db: stay in the foreground, no daemon (the test owns the process).
  const proc: ChildProcess = spawn(HAPROXY, ['-db', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-5000);
    if (process.env.TANDEM_TEST_HAPROXY_LOG) process.stderr.write(`[haproxy] ${c.toString()}`);
  });
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(timer);
  };
  setStop(stop);
  const exited = new Promise<never>((_, reject) =>
    proc.once('exit', (code) => reject(new Error(`haproxy exited during start (code ${code}): ${stderr.trim()}`))),
  );
  exited.catch(() => {});
  await Promise.race([waitForPort(port, 10_000), exited]);

  const servers = async (): Promise<ServerStat[]> => {
    const csv = await statsCommand(statsSocket, 'show stat');
    const lines = csv.split('\n').filter(Boolean);
    const header = lines[0]!.replace(/^#\s*/, '').split(',');
    const col = (n: string) => header.indexOf(n);
    return lines
      .slice(1)
      .map((l) => l.split(','))
      .filter((f) => f[col('svname')] !== 'FRONTEND' && f[col('svname')] !== 'BACKEND' && f[col('pxname')] === 'tandem_active')
      .map((f) => ({ name: f[col('svname')]!, status: f[col('status')]! }));
  };
  const waitForServers = async (pred: (s: ServerStat[]) => boolean, timeoutMs: number, what: string) => {
    let last: ServerStat[] = [];
    try {
      return await waitFor(`haproxy: ${what}`, async () => ((last = await servers()), pred(last) ? last : undefined), timeoutMs, 50);
    } catch (e) {
      throw new Error(`${(e as Error).message}; servers: ${JSON.stringify(last)}`);
    }
  };

  // The stats socket may open a moment after the frontend's port.
  let lastError = '';
  await waitFor(`haproxy stats socket ${statsSocket} to answer`, () => servers().then(() => true, (e: Error) => ((lastError = e.message), false)), 10_000, 20).catch(
    (e: Error) => Promise.reject(new Error(`${e.message}: ${lastError}`)),
  );
  return { url: `http://127.0.0.1:${port}`, port, configFile, servers, waitFor: waitForServers, stop };
}
