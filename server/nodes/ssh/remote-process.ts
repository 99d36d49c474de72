/**
 * A command running on a node over one SSH exec channel, as a StepProcess.
 *
 * Stopping it: closing an SSH channel does not end a remote command that
 * has no terminal (sshd only closes its pipes), and the `signal` channel
 * request reaches only the first process. But sshd starts every session in
 * its own session and process group (setsid), so the command line first
 * reports its shell's pid (`TANDEM_PID=…` as the first stderr line, removed
 * from the output) and a kill sends SIGTERM to that whole process group from
 * a second channel, then SIGKILL after the grace period, then closes the
 * connection.
 */
import { PassThrough } from 'node:stream';
import type { Client, ClientChannel } from 'ssh2';
import type { StepExit, StepProcess } from '../../executions/executor.js';
import type { Logger } from '../../log.js';
import { shellQuote } from '../../executions/local-executor.js';

const PID_LINE = /^TANDEM_PID=(\d+)\n/;
/** The prefix every remote command line starts with (POSIX shells: sh, bash, dash, ksh, zsh). */
export const PID_PREFIX = `printf 'TANDEM_PID=%s\\n' "$$" >&2; `;

export interface RemoteOptions {
  client: Client;
  /** The whole command line after PID_PREFIX. */
  line: string;
  /** The step's environment: sent as quoted `export` lines over stdin, never on the command line (see below). */
  env: Record<string, string>;
  /** Also as SSH env requests (ssh-send-env=true; the server must AcceptEnv them). */
  sendEnvRequests: boolean;
  node: string;
  killGraceMs: number;
  /** 0 = none */
  commandTimeoutMs: number;
  log: Logger;
  /** Runs after the command ended, before `exited` resolves (remove a copied script). `killed`: the connection is closing. */
  after(o: { killed: boolean }): Promise<void>;
  /** The connection may be used again (ended normally) or must be closed (killed, broken). */
  done(reusable: boolean): void;
}

function execChannel(client: Client, cmd: string, env?: Record<string, string>): Promise<ClientChannel> {
  return new Promise((resolve, reject) => client.exec(cmd, env ? { env } : {}, (err, ch) => (err ? reject(err) : resolve(ch))));
}

export async function startRemote(o: RemoteOptions): Promise<StepProcess> {
  // The step's variables (RD_*, TANDEM_*, options, the values ${...} references expand to) reach the remote shell
  // as quoted assignments read from stdin: never in the remote command line (other users see it in ps), and
  // without needing AcceptEnv on the server. After them stdin is at EOF, so a command that reads it does not wait.
  const exports = Object.entries(o.env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${shellQuote(v)}\n`)
    .join('');
  const channel = await execChannel(o.client, PID_PREFIX + 'eval "$(cat)"; ' + o.line, o.sendEnvRequests ? o.env : undefined);
  channel.end(exports);
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  channel.pipe(stdout);

  let pid: number | undefined;
  let pidWaiters: ((p: number | undefined) => void)[] = [];
  let head = Buffer.alloc(0);
  let headDone = false;
  const settlePid = (p: number | undefined) => {
    headDone = true;
    pid = p;
    for (const w of pidWaiters) w(p);
    pidWaiters = [];
  };
  channel.stderr.on('data', (chunk: Buffer) => {
    if (headDone) return void stderr.write(chunk);
    head = Buffer.concat([head, chunk]);
    const nl = head.indexOf(10);
    if (nl < 0 && head.length < 64) return;
    const m = PID_LINE.exec(head.subarray(0, nl + 1).toString('latin1'));
    const rest = m ? head.subarray(nl + 1) : head;
    settlePid(m ? Number(m[1]) : undefined);
    if (rest.length) stderr.write(rest);
  });

  let exit: StepExit = { exitCode: null, signal: null };
  channel.on('exit', (code: number | null, signal?: string) => {
    exit = typeof code === 'number' ? { exitCode: code, signal: null } : { exitCode: null, signal: (signal ? `SIG${signal}` : null) as NodeJS.Signals | null };
  });

  let killed = false;
  let timer: NodeJS.Timeout | undefined;
  let isClosed = false;
  const closed = new Promise<void>((resolve) => channel.once('close', () => {
    isClosed = true;
    resolve();
  }));
  const connectionLost = new Promise<void>((resolve) => o.client.once('close', () => resolve()));

  const killGroup = async (reason: string) => {
    if (killed || isClosed) return;
    killed = true;
    o.log.info('stopping remote command', { node: o.node, reason });
    // The pid line comes first; a shell that never sends it (not POSIX) must not hold up the stop.
    const p = headDone
      ? pid
      : await new Promise<number | undefined>((r) => {
          pidWaiters.push(r);
          setTimeout(() => r(undefined), o.killGraceMs).unref();
        });
    if (p) {
      const signal = async (sig: 'TERM' | 'KILL') => {
        try {
          const ch = await execChannel(o.client, `kill -${sig} -- -${p} 2>/dev/null; exit 0`);
          ch.resume();
          ch.stderr.resume();
          await new Promise<void>((r) => ch.once('close', () => r()));
        } catch (e) {
          o.log.warn('cannot signal the remote command', { node: o.node, error: e });
        }
      };
      await signal('TERM');
      const graceOver = new Promise<'grace'>((r) => setTimeout(() => r('grace'), o.killGraceMs).unref());
      if ((await Promise.race([closed.then(() => 'closed' as const), graceOver])) === 'grace') await signal('KILL');
    }
    // Whatever happened: the channel and the connection go.
    channel.close();
  };

  if (o.commandTimeoutMs > 0) {
    timer = setTimeout(() => {
      stderr.write(`ssh-command-timeout of ${o.commandTimeoutMs} ms reached on node ${o.node}: remote command stopped\n`);
      void killGroup('ssh-command-timeout');
    }, o.commandTimeoutMs);
    timer.unref();
  }

  const exited = (async (): Promise<StepExit> => {
    const how = await Promise.race([closed.then(() => 'closed' as const), connectionLost.then(() => 'lost' as const)]);
    if (how === 'lost' && !killed && exit.exitCode === null && !exit.signal) {
      stderr.write(`SSH connection to node ${o.node} lost before the command ended\n`);
    }
    if (timer) clearTimeout(timer);
    if (!headDone) {
      // No pid line (a shell that is not POSIX): whatever it wrote is the command's own stderr.
      settlePid(undefined);
      if (head.length) stderr.write(head);
    }
    try {
      await o.after({ killed });
    } catch (e) {
      o.log.warn('cleanup on the node failed', { node: o.node, error: e });
    }
    o.done(!killed && exit.exitCode !== null);
    stdout.end();
    stderr.end();
    if (killed && exit.exitCode === null && !exit.signal) return { exitCode: null, signal: 'SIGTERM' };
    return exit;
  })();

  return {
    stdout,
    stderr,
    exited,
    kill: () => void killGroup('abort'),
  };
}
