/**
 * startSshd(t, opts): a private OpenSSH server for a test. It runs
 * `/usr/sbin/sshd -D -f CONFIG -p PORT` (through a symlink named
 * `tandem-sshd`, so that its processes, including the per-connection ones
 * that outlive a stopped listener, are told from a system sshd by name:
 * .ci/run looks for leftovers with that name) on a free loopback port, with
 * its own host key, authorized keys and pid file in the test's temp dir.
 * Stopped at teardown: the listener and every process below it (sessions
 * and the commands they run).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../server/embedded/net.js';
import { reapProcess } from './reaper.js';
import { serverDir, type Teardown } from './tmp.js';
import { waitForPort } from './wait.js';

const SSHD = '/usr/sbin/sshd';
/** The name of the harness's sshd processes (see above). */
export const SSHD_NAME = 'tandem-sshd';

export interface KeyPair {
  privateKey: Buffer;
  publicKey: string;
}

/** A fresh ed25519 key pair (ssh-keygen), optionally protected by a passphrase. */
export function keyPair(dir: string, name: string, passphrase = ''): KeyPair {
  const file = path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', name, '-f', file]);
  return { privateKey: readFileSync(file), publicKey: readFileSync(file + '.pub', 'utf8').trim() };
}

export interface TestSshd {
  host: string;
  port: number;
  /** Every port it listens on (`port` first; more with the option `ports`). */
  ports: number[];
  /** `127.0.0.1:PORT`, as node attributes name it */
  hostname: string;
  dir: string;
  /** The server's host public key line (`ssh-ed25519 AAAA…`). */
  hostPublicKey(): string;
  /** Replace the host key (a rebuilt host): restarts the server on the same port. */
  changeHostKey(): Promise<void>;
  /** Pids and command lines of every process below the listener (sessions and their commands). */
  processes(): { pid: number; args: string }[];
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface StartSshdOptions {
  /** Public key lines allowed to log in (any user). */
  authorizedKeys: string[];
  /** Allow password authentication (for users with a password, see ensureUser). */
  passwords?: boolean;
  /** Listen on this many ports (one server standing in for many hosts, each port its own endpoint). */
  ports?: number;
}

function children(): Map<number, number[]> {
  const byParent = new Map<number, number[]>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = byParent.get(ppid) ?? [];
      list.push(Number(d));
      byParent.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  return byParent;
}

function descendants(pid: number): number[] {
  const tree = children();
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of tree.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

function args(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
  } catch {
    return '';
  }
}


export async function startSshd(t: Teardown, opts: StartSshdOptions): Promise<TestSshd> {
  const { dir, setStop } = await serverDir(t, 'sshd');
  // As root, sshd needs its privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const ports: number[] = [];
  while (ports.length < (opts.ports ?? 1)) {
    const p = await freePort();
    if (!ports.includes(p)) ports.push(p);
  }
  const port = ports[0]!;
  const bin = path.join(dir, SSHD_NAME);
  symlinkSync(SSHD, bin);
  const hostKey = path.join(dir, 'host_ed25519');
  const newHostKey = () => {
    execFileSync('rm', ['-f', hostKey, hostKey + '.pub']);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  };
  newHostKey();
  writeFileSync(path.join(dir, 'authorized_keys'), opts.authorizedKeys.join('\n') + '\n', { mode: 0o600 });
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${path.join(dir, 'authorized_keys')}`,
      `PidFile ${path.join(dir, 'sshd.pid')}`,
      'PubkeyAuthentication yes',
      `PasswordAuthentication ${opts.passwords ? 'yes' : 'no'}`,
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'PermitRootLogin yes',
      // The temp dir is not owned the way StrictModes wants.
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'MaxStartups 200',
      'MaxSessions 50',
      'LogLevel ERROR',
    ].join('\n') + '\n',
  );
  let child: ChildProcess | undefined;
  let stderr = '';
  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const proc = spawn(bin, ['-D', '-e', '-f', config, ...ports.flatMap((p) => ['-p', String(p)])], { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
    const exited = new Promise<never>((_, reject) => proc.once('exit', (code) => reject(new Error(`sshd exited during start (code ${code}): ${stderr.trim()}`))));
    exited.catch(() => undefined);
    await Promise.race([Promise.all(ports.map((p) => waitForPort(p, 10_000))), exited]);
  };
  const stop = async () => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    // Sessions outlive the listener: collect the tree first, then kill it all.
    const below = descendants(proc.pid!);
    const gone = new Promise<void>((r) => proc.once('exit', () => r()));
    for (const p of [proc.pid!, ...below]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await gone;
  };
  const forget = reapProcess(() => (child && child.exitCode === null && child.signalCode === null ? child.pid : undefined));
  setStop(async () => {
    await stop();
    forget();
  });
  await start();
  return {
    host: '127.0.0.1',
    port,
    ports,
    hostname: `127.0.0.1:${port}`,
    dir,
    hostPublicKey: () => readFileSync(hostKey + '.pub', 'utf8').trim().split(' ').slice(0, 2).join(' '),
    changeHostKey: async () => {
      await stop();
      newHostKey();
      await start();
    },
    processes: () => (child?.pid ? descendants(child.pid).map((pid) => ({ pid, args: args(pid) })) : []),
    stop,
    start,
  };
}

/** A local user that logs in with a password (for password authentication tests); created once, password set each time. */
export function ensureUser(name: string, password: string): void {
  try {
    execFileSync('id', ['-u', name], { stdio: 'ignore' });
  } catch {
    execFileSync('useradd', ['--system', '--no-create-home', '--home-dir', '/tmp', '--shell', '/bin/sh', name]);
  }
  execFileSync('chpasswd', { input: `${name}:${password}\n` });
}
