/**
 * Nodes over SSH: one `exec` step on 100 node entries at 20 at a time,
 * Tandem's SSH node executor (ssh2, credentials from Key Storage in
 * PostgreSQL, host keys checked against the database) against OpenSSH's `ssh`
 * client run by `xargs -P 20` over the same endpoints with the same key, in
 * the same run. The 100 endpoints are 100 ports of 7 private sshd servers (each port
 * its own endpoint and known host key); both sides have seen every host key
 * once before the timed rounds (Tandem: recorded in the database; OpenSSH: a
 * known_hosts file), and each timed round opens fresh connections.
 *
 * nodes.dispatch_ratio_vs_openssh = Tandem wall time / OpenSSH wall time
 * (median of 3 rounds each, alternating). Target <= 1.0.
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { migrate } from '../../server/db/migrate.js';
import { Keyring, parseMasterKey } from '../../server/keys/cipher.js';
import { KeyStorage } from '../../server/keys/key-storage.js';
import { silentLogger } from '../../server/log.js';
import { HostKeys } from '../../server/nodes/ssh/host-keys.js';
import { SshNodeExecutor } from '../../server/nodes/ssh/ssh-node-executor.js';
import type { NodeEntry } from '../../server/nodes/node-executor.js';
import { startPostgres } from '../harness/postgres.js';
import { keyPair, startSshd } from '../harness/sshd.js';
import { tempDir } from '../harness/tmp.js';
import { testPool } from '../harness/pool.js';
import { MASTER_KEY_1 } from '../keys/fixtures.js';
import type { BenchGroup } from './report.js';

const NODES = 100;
const THREADS = 20;
const ROUNDS = 3;
const run = promisify(execFile);

async function eachLimited<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The SSH part of bench group `nodes` (nodes.bench.ts). */
export const sshDispatch: BenchGroup = async (report) => {
  const teardowns: Array<() => unknown> = [];
  const t = { teardown: (fn: () => unknown) => void teardowns.unshift(fn) };
  try {
    report.progress('starting PostgreSQL and sshd servers on 100 ports');
    const pgs = await startPostgres(t, { name: 'bench-nodes' });
    const dbUrl = await pgs.createDatabase('nodes_bench');
    await migrate(dbUrl);
    const pool = testPool(t, { connectionString: dbUrl, max: 10 });
    const dir = await tempDir(t, 'bench-nodes');
    const key = keyPair(dir, 'bench');
    // sshd listens on at most 16 sockets: 7 servers of 15 ports.
    const servers = await Promise.all(Array.from({ length: Math.ceil(NODES / 15) }, () => startSshd(t, { authorizedKeys: [key.publicKey], ports: 15 })));
    const endpoints = servers.flatMap((s) => s.ports).slice(0, NODES);
    const keys = new KeyStorage({ pool, keyring: new Keyring(parseMasterKey(MASTER_KEY_1)) });
    await keys.create('keys/project/bench/id', 'application/octet-stream', key.privateKey, 'bench');
    const hostKeys = new HostKeys(pool);
    // A new executor per round: fresh connections every time, as OpenSSH's.
    const newExecutor = () =>
      new SshNodeExecutor({ keys, hostKeys, log: silentLogger, defaults: { hostKeyPolicy: 'accept-new', connectTimeout: 30_000 }, idleTimeoutMs: 5000, killGraceMs: 2000 });
    const nodes: NodeEntry[] = endpoints.map((p, i) => ({
      name: `node${i}`,
      tags: [],
      attributes: { hostname: `127.0.0.1:${p}`, username: 'root', 'ssh-key-storage-path': 'keys/project/bench/id' },
    }));
    let round = 0;
    const tandem = async () => {
      const executionId = `bench-${++round}`;
      const executor = newExecutor();
      const started = performance.now();
      await eachLimited(nodes, THREADS, async (n) => {
        const p = await executor.start(n, { kind: 'shell', node: n.name, command: 'echo ok', env: {} }, { project: 'bench', executionId });
        p.stdout.resume();
        p.stderr.resume();
        const exit = await p.exited;
        if (exit.exitCode !== 0) throw new Error(`node ${n.name}: exit ${exit.exitCode}`);
      });
      const ms = performance.now() - started;
      await executor.close();
      return ms;
    };
    const knownHosts = path.join(dir, 'known_hosts');
    const portsFile = path.join(dir, 'ports');
    writeFileSync(portsFile, endpoints.join('\n') + '\n');
    const keyFile = path.join(dir, 'bench');
    const openssh = async () => {
      const started = performance.now();
      await run('sh', ['-c',
        `xargs -P ${THREADS} -I{} ssh -q -i ${keyFile} -p {} -o BatchMode=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${knownHosts} ` +
        `-o ControlMaster=no -o ControlPath=none root@127.0.0.1 'echo ok' < ${portsFile} > /dev/null`]);
      return performance.now() - started;
    };
    report.note(`Load average when the timed rounds started: ${loadavg().map((x) => x.toFixed(1)).join(', ')} (absolute times depend on it; the ratio compares both sides in the same run).`);
    report.progress('warm-up: both sides learn the 100 host keys');
    await tandem();
    await openssh();
    const tandemMs: number[] = [];
    const sshMs: number[] = [];
    let peakRss = process.memoryUsage().rss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
    try {
      for (let i = 0; i < ROUNDS; i++) {
        tandemMs.push(await tandem());
        sshMs.push(await openssh());
        report.progress(`round ${i + 1}: tandem ${tandemMs[i]!.toFixed(0)} ms, openssh ${sshMs[i]!.toFixed(0)} ms`);
      }
    } finally {
      clearInterval(sampler);
    }
    const ratio = median(tandemMs) / median(sshMs);
    report.figure('nodes.dispatch_ratio_vs_openssh', ratio, `Tandem SSH executor wall time / OpenSSH ssh via xargs -P ${THREADS}, ${NODES} nodes, one exec step (target <= 1.0)`);
    report.figure('nodes.dispatch_tandem_ms', median(tandemMs), `${NODES} nodes at ${THREADS} at a time, SSH node executor, median of ${ROUNDS}`);
    report.figure('nodes.dispatch_openssh_ms', median(sshMs), `${NODES} nodes, ssh via xargs -P ${THREADS}, median of ${ROUNDS}`);
    report.figure('nodes.peak_rss_mb', peakRss / 1024 ** 2, 'peak RSS of the process running the SSH executor during the timed dispatches');
    report.note(`Executor level: the step is started through SshNodeExecutor.start as dispatch calls it (credentials decrypted from Key Storage, host key checked in PostgreSQL), not through the HTTP run request; ${NODES} endpoints are ports of 7 local sshd servers; fresh connections every round on both sides.`);
  } finally {
    for (const fn of teardowns) await fn();
  }
};

