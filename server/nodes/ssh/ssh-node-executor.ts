/**
 * The `ssh` node executor: runs a step's command or script on a node over
 * SSH (package ssh2), with credentials from Key Storage and host keys
 * checked against the known keys of the project (host-keys.ts).
 *
 * Connections are kept warm per execution, node, endpoint, user and
 * credential: a step that ends normally hands its connection back, and the
 * next step of the same execution on that node reuses it (no new handshake);
 * an idle connection is closed after `ssh.idleTimeout`. A connection carries
 * one step at a time. A killed or timed-out step closes its connection.
 */
import { randomBytes } from 'node:crypto';
import type { Client, SFTPWrapper } from 'ssh2';
import type { StepCommand, StepProcess } from '../../executions/executor.js';
import { shellQuote } from '../../executions/local-executor.js';
import type { KeyType } from '../../keys/sql/key-row.js';
import type { Logger } from '../../log.js';
import type { NodeEntry, NodeExecutor } from '../node-executor.js';
import { connect, type Credentials } from './connect.js';
import type { HostKeyPolicy, HostKeyVerdict } from './host-keys.js';
import { startRemote } from './remote-process.js';
import { resolveTarget, type SshDefaults, type SshTarget } from './settings.js';

export interface SshExecutorOptions {
  /** Key Storage (server/keys/key-storage.ts): the content of a key or password, for this executor only. */
  keys: { secret(path: string, want: KeyType[]): Promise<Buffer> };
  hostKeys: {
    verify(o: { project: string; host: string; node: string; executionId: string; blob: Buffer; policy: HostKeyPolicy }): Promise<HostKeyVerdict>;
  };
  log: Logger;
  defaults: SshDefaults;
  /** How long an idle connection is kept for the next step (ms). */
  idleTimeoutMs: number;
  /** Between SIGTERM and SIGKILL of a stopped remote command (ms). */
  killGraceMs: number;
  /** Project-level ssh-* settings (between the node's attributes and the server defaults). */
  projectSettings?: (project: string) => Promise<Record<string, string>>;
}

interface Warm {
  client: Client;
  timer?: NodeJS.Timeout;
}

export class SshNodeExecutor implements NodeExecutor {
  readonly kind = 'ssh';
  private readonly idle = new Map<string, Warm[]>();
  private readonly open = new Set<Client>();
  private counter = 0;
  private closing = false;

  constructor(private readonly o: SshExecutorOptions) {}

  async start(node: NodeEntry, cmd: StepCommand, ctx: { project: string; executionId: string }): Promise<StepProcess> {
    if (this.closing) throw new Error('the SSH node executor is shutting down');
    const settings = (await this.o.projectSettings?.(ctx.project)) ?? {};
    const t = resolveTarget(node, ctx.project, settings, this.o.defaults);
    const poolKey = [ctx.executionId, t.node, t.endpoint, t.username, t.auth.kind, t.auth.kind === 'key' ? t.auth.keyPath : t.auth.passwordPath].join('\0');
    const client = this.takeIdle(poolKey) ?? (await this.connect(t, ctx));
    const log = this.o.log.child({ node: t.node, executionId: ctx.executionId });
    let line: string;
    let after = async (_: { killed: boolean }) => {};
    if (cmd.kind === 'shell') {
      // eval in the login shell: the same process (pid reported first), and a syntax error is the command's own.
      line = `eval ${shellQuote(cmd.command)}`;
    } else {
      const file = `${t.copyDir}/${++this.counter}-${ctx.executionId}-${t.node.replace(/[^A-Za-z0-9_.-]/g, '_')}-${randomBytes(6).toString('hex')}-dispatch-script.tmp.sh`;
      let sftp: SFTPWrapper;
      try {
        sftp = await sftpOf(client);
        await writeScript(sftp, file, cmd.script);
      } catch (e) {
        this.discard(client);
        throw new Error(`node ${t.node}: cannot copy the script to ${file}: ${(e as Error).message}`);
      }
      const q = shellQuote(file);
      line = cmd.interpreter ? `${cmd.interpreter} ${q} ${cmd.args}` : cmd.script.startsWith('#!') ? `${q} ${cmd.args}` : `/bin/sh ${q} ${cmd.args}`;
      // Removed after the run, also when it failed or was killed (before the connection is closed).
      after = async () => {
        await new Promise<void>((resolve, reject) => sftp.unlink(file, (err) => (err ? reject(err) : resolve())));
        sftp.end();
      };
    }
    try {
      return await startRemote({
        client,
        line,
        env: cmd.env,
        sendEnvRequests: t.sendEnv,
        node: t.node,
        killGraceMs: this.o.killGraceMs,
        commandTimeoutMs: t.commandTimeout,
        log,
        after,
        done: (reusable) => (reusable ? this.release(poolKey, client) : this.discard(client)),
      });
    } catch (e) {
      await after({ killed: true }).catch(() => undefined);
      this.discard(client);
      throw new Error(`node ${t.node}: cannot start the command: ${(e as Error).message}`);
    }
  }

  private async connect(t: SshTarget, ctx: { project: string; executionId: string }): Promise<Client> {
    const creds: Credentials = {};
    const secret = async (path: string, want: KeyType[], what: string) => {
      try {
        return await this.o.keys.secret(path, want);
      } catch (e) {
        throw new Error(`node ${t.node}: ${what} ${path}: ${(e as Error).message}`);
      }
    };
    if (t.auth.kind === 'key') {
      creds.privateKey = await secret(t.auth.keyPath, ['private'], 'ssh-key-storage-path');
      if (t.auth.passphrasePath) creds.passphrase = await secret(t.auth.passphrasePath, ['password'], 'ssh-key-passphrase-storage-path');
    } else {
      creds.password = (await secret(t.auth.passwordPath, ['password'], 'ssh-password-storage-path')).toString('utf8');
    }
    const client = await connect(t, creds, (blob, policy) =>
      this.o.hostKeys.verify({ project: ctx.project, host: t.endpoint, node: t.node, executionId: ctx.executionId, blob, policy }),
    );
    this.open.add(client);
    client.once('close', () => this.open.delete(client));
    client.on('error', (e) => this.o.log.debug('ssh connection error', { node: t.node, error: e }));
    this.o.log.debug('ssh connected', { node: t.node, endpoint: t.endpoint, user: t.username });
    return client;
  }

  private takeIdle(key: string): Client | undefined {
    const list = this.idle.get(key);
    while (list?.length) {
      const w = list.pop()!;
      if (w.timer) clearTimeout(w.timer);
      if (this.open.has(w.client)) return w.client;
    }
    return undefined;
  }

  private release(key: string, client: Client): void {
    if (this.closing || !this.open.has(client)) return this.discard(client);
    const w: Warm = { client };
    w.timer = setTimeout(() => {
      const list = this.idle.get(key);
      const i = list?.indexOf(w) ?? -1;
      if (i >= 0) list!.splice(i, 1);
      if (list && !list.length) this.idle.delete(key);
      client.end();
    }, this.o.idleTimeoutMs);
    w.timer.unref();
    const list = this.idle.get(key) ?? [];
    list.push(w);
    this.idle.set(key, list);
  }

  private discard(client: Client): void {
    client.end();
  }

  /** Close every connection (server shutdown); running remote commands are stopped by the engine's drain first. */
  async close(): Promise<void> {
    this.closing = true;
    for (const list of this.idle.values()) for (const w of list) if (w.timer) clearTimeout(w.timer);
    this.idle.clear();
    const all = [...this.open];
    await Promise.all(all.map((c) => new Promise<void>((r) => {
      if (!this.open.has(c)) return r();
      c.once('close', () => r());
      c.end();
    })));
  }
}

function sftpOf(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
}

/** A new file only (exclusive create: never through an existing file or symlink in a shared temp dir), owner-only, executable. */
function writeScript(sftp: SFTPWrapper, file: string, content: string): Promise<void> {
  return new Promise((resolve, reject) =>
    sftp.writeFile(file, content, { flag: 'wx', mode: 0o700 }, (err) => {
      if (err) return reject(err);
      sftp.chmod(file, 0o700, (e) => (e ? reject(e) : resolve()));
    }),
  );
}
