/**
 * Starts step processes from a small helper process instead of the server.
 *
 * `spawn` from the server itself is costly out of proportion: libuv forks
 * the whole server (page tables of a few hundred MB) and waits, blocking
 * the main thread, until the child has exec'd; after the fork every page
 * the server writes takes a copy-on-write fault. Measured on the 2-core
 * bench machine: about 7 ms of server CPU per step and a stalled event loop
 * for 15–35 ms when the machine is busy, paid by every HTTP request and log
 * write in flight. The helper is a bare Node process (no application code)
 * whose forks are cheap and stall nobody.
 *
 * The helper starts the child (own process group, stdin ignored, stdout and
 * stderr piped) and hands the read ends of both pipes to the server over
 * the IPC channel (SCM_RIGHTS): the server reads the output directly, with
 * no copy through the helper, and signals the group by pid itself. The
 * helper only reports the exit status, since it is the child's parent.
 *
 * The helper ends with the server (it exits when its IPC channel closes);
 * children are in their own process groups either way, as before.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import { PassThrough, pipeline, type Readable } from 'node:stream';
import type { StepExit } from './executor.js';

/** Run the child as another user (executions.runAs): through setpriv, which drops uid, gid, groups and capabilities. */
export interface SpawnIdentity {
  uid: number;
  gid: number;
  /** Path of util-linux setpriv. */
  setpriv: string;
}

type ToHelper = { op: 'spawn'; id: number; file: string; args: string[]; env: NodeJS.ProcessEnv; cwd?: string; as?: SpawnIdentity };

type FromHelper =
  | { op: 'pipe'; id: number; fd: 1 | 2; pid: number }
  | { op: 'failed'; id: number; message: string }
  | { op: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null };

/**
 * The helper's code, run with `node -e` (plain CommonJS, no module
 * resolution, no loader of the server's: the same from dist/ and under the
 * test runner).
 */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
process.on('disconnect', () => process.exit(0));
process.on('message', (m) => {
  if (m.op !== 'spawn') return;
  let child;
  // runAs: setpriv sets uid and gid, clears supplementary groups and the inheritable and ambient capabilities (so
  // none a non-root server was granted reach the step), then execs the command under the same pid (process group).
  const [file, args] = m.as
    ? [m.as.setpriv, ['--reuid=' + m.as.uid, '--regid=' + m.as.gid, '--clear-groups', '--inh-caps=-all', '--ambient-caps=-all', '--', m.file, ...m.args]]
    : [m.file, m.args];
  try {
    child = spawn(file, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: m.env, cwd: m.cwd });
  } catch (e) {
    process.send({ op: 'failed', id: m.id, message: String((e && e.message) || e) });
    return;
  }
  child.once('error', (e) => process.send({ op: 'failed', id: m.id, message: String((e && e.message) || e) }));
  if (child.pid === undefined) return;
  for (const [fd, s] of [[1, child.stdout], [2, child.stderr]]) {
    // Node starts reading a new pipe at once: stop before the event loop can take any output meant for the server.
    s._handle.reading = false;
    s._handle.readStop();
    // keepOpen false: this process closes its copy once the descriptor is sent.
    process.send({ op: 'pipe', id: m.id, fd, pid: child.pid }, s, { keepOpen: false });
  }
  child.once('exit', (code, signal) => process.send({ op: 'exit', id: m.id, code, signal }));
});
`;

/** A child started by the helper. */
export interface HelperChild {
  pid: number;
  stdout: Readable;
  stderr: Readable;
  /** Resolves when the process has exited (its pipes may still be open, held by its own children). */
  exit: Promise<StepExit>;
  /** Resolves when both pipes are closed (watched from their arrival, so no early close is missed). */
  pipesClosed: Promise<void>;
  /** Pipes still open. */
  openPipes(): number;
}

interface Pending {
  pid?: number;
  pipes: Partial<Record<1 | 2, Socket>>;
  closed: Promise<void>[];
  open: number;
  resolve: (c: HelperChild) => void;
  reject: (e: Error) => void;
  exited: (e: StepExit) => void;
  exit: Promise<StepExit>;
}

/**
 * The pipe as its consumer sees it. A received pipe is read at once (Node
 * starts reading a new socket), so a silent child's pipe can end and close
 * before the caller has attached its listeners (the two pipes arrive in two
 * messages); behind a PassThrough the end waits for the consumer. Flow
 * control is kept (pipeline pauses the pipe when the consumer does), errors
 * reach the consumer, and a consumer that gives up closes the pipe.
 */
function buffered(pipe: Socket): Readable {
  const out = new PassThrough({ highWaterMark: 64 * 1024 });
  pipeline(pipe, out, () => undefined);
  return out;
}

export class SpawnHelper {
  private helper: ChildProcess | undefined;
  private nextId = 1;
  /** Spawns asked for and children not yet exited, by id. */
  private readonly live = new Map<number, Pending>();

  /**
   * Start `file args...` in its own process group (detached), stdin ignored, stdout/stderr piped, with exactly
   * `env` (nothing of the server's is added), in `cwd` (default: the server's), as `as` (default: the server's user).
   */
  spawn(file: string, args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string; as?: SpawnIdentity } = {}): Promise<HelperChild> {
    const h = this.ensureHelper();
    const id = this.nextId++;
    return new Promise<HelperChild>((resolve, reject) => {
      let exited!: (e: StepExit) => void;
      const exit = new Promise<StepExit>((r) => (exited = r));
      this.live.set(id, { pipes: {}, closed: [], open: 2, resolve, reject, exited, exit });
      this.setRef(true);
      h.send({ op: 'spawn', id, file, args, env, cwd: opts.cwd, as: opts.as } satisfies ToHelper);
    });
  }

  private ensureHelper(): ChildProcess {
    if (this.helper) return this.helper;
    const env = { ...process.env };
    // The helper runs plain JavaScript: no preloaded modules or loaders of the server's.
    delete env.NODE_OPTIONS;
    const h = spawn(process.execPath, ['--max-old-space-size=32', '--max-semi-space-size=1', '-e', HELPER_SOURCE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env,
      serialization: 'json',
    });
    h.on('message', (m: FromHelper, handle?: Socket) => this.onMessage(m, handle));
    h.once('exit', (code, signal) => this.lost(h, new Error(`the process-starting helper ended (${signal ?? `exit code ${code}`})`)));
    h.on('error', (e) => this.lost(h, e));
    this.helper = h;
    return h;
  }

  private onMessage(m: FromHelper, handle?: Socket): void {
    const p = this.live.get(m.id);
    if (!p) {
      handle?.destroy();
      return;
    }
    switch (m.op) {
      case 'pipe':
        if (!handle) {
          this.fail(m.id, p, new Error('the helper sent no pipe'));
          return;
        }
        p.pid = m.pid;
        p.pipes[m.fd] = handle;
        p.closed.push(
          new Promise<void>((r) =>
            handle.once('close', () => {
              p.open--;
              r();
            }),
          ),
        );
        if (p.pipes[1] && p.pipes[2]) {
          p.resolve({
            pid: m.pid,
            stdout: buffered(p.pipes[1]),
            stderr: buffered(p.pipes[2]),
            exit: p.exit,
            pipesClosed: Promise.all(p.closed).then(() => undefined),
            openPipes: () => p.open,
          });
        }
        return;
      case 'failed':
        this.fail(m.id, p, new Error(`cannot start the step process: ${m.message}`));
        return;
      case 'exit':
        this.live.delete(m.id);
        p.exited({ exitCode: m.code, signal: m.signal });
        if (!this.live.size) this.setRef(false);
        return;
    }
  }

  private fail(id: number, p: Pending, e: Error): void {
    this.live.delete(id);
    for (const s of Object.values(p.pipes)) s?.destroy();
    p.reject(e);
    if (!this.live.size) this.setRef(false);
  }

  /** While something waits on the helper it keeps the server's event loop alive; idle, it does not. */
  private setRef(on: boolean): void {
    const h = this.helper;
    if (!h) return;
    const channel = h.channel as { ref(): void; unref(): void } | null | undefined;
    if (on) {
      h.ref();
      channel?.ref();
    } else {
      h.unref();
      channel?.unref();
    }
  }

  /**
   * The helper died (it should not): steps not yet started fail; running
   * children keep their output pipes (the server holds them) but their exit
   * status is lost, so they count as ended without one once their output
   * closes. The next spawn starts a new helper.
   */
  private lost(h: ChildProcess, e: Error): void {
    if (this.helper !== h) return;
    this.helper = undefined;
    for (const [id, p] of [...this.live]) {
      if (p.pipes[1] && p.pipes[2]) {
        this.live.delete(id);
        p.exited({ exitCode: null, signal: null });
      } else {
        this.fail(id, p, e);
      }
    }
  }

  async close(): Promise<void> {
    const h = this.helper;
    this.helper = undefined;
    if (!h || h.exitCode !== null || h.signalCode !== null) return;
    const gone = new Promise((r) => h.once('exit', r));
    h.kill('SIGTERM');
    await gone;
  }
}
