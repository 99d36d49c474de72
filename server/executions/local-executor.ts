/**
 * Runs steps on this machine. Every step is started in its own process group
 * (`detached: true` makes the child a group leader), so that abort and
 * timeout can signal the whole tree at once with `kill(-pgid)`: the shell,
 * what it started, and what those started, unless they deliberately left the
 * group (setsid).
 */
import { Readable } from 'node:stream';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import type { Logger } from '../log.js';
import type { Executor, StepCommand, StepProcess } from './executor.js';
import type { RunAsUser } from './run-as.js';
import { SpawnHelper, type HelperChild, type SpawnIdentity } from './spawn-helper.js';

/** The PATH steps get unless `executions.path` says otherwise. */
export const DEFAULT_STEP_PATH = '/usr/local/bin:/usr/bin:/bin';

export interface LocalExecutorOptions {
  log: Logger;
  /** Time between SIGTERM and SIGKILL of a step's process group (default 5 s). */
  killGraceMs?: number;
  /** Directory for script steps' temporary files (default: the system temp dir). */
  tmpDir?: string;
  /** PATH of steps (default DEFAULT_STEP_PATH). */
  path?: string;
  /** Run steps as this system user (executions.runAs; see run-as.ts); with `setpriv`, its path. */
  runAs?: RunAsUser & { setpriv: string };
}

/**
 * What every step's environment starts from: a minimal PATH, HOME (the step
 * user's) and LANG, and nothing else of the server's. The server's own
 * variables hold its secrets (TANDEM_DATABASE_URL, *_FILE paths, cloud
 * credentials); a step that inherited them could read every table.
 */
/** The server user's home; a uid without a passwd entry (containers) has none: its HOME, else `/`. */
function serverHome(): string {
  try {
    return userInfo().homedir;
  } catch {
    return process.env.HOME || '/';
  }
}

export function cleanStepEnv(o: { path?: string; home: string }): Record<string, string> {
  return { PATH: o.path ?? DEFAULT_STEP_PATH, HOME: o.home, LANG: process.env.LANG || 'C.UTF-8' };
}

export class LocalExecutor implements Executor {
  readonly kind = 'local';
  private readonly groups = new Set<number>();
  private readonly killGraceMs: number;
  /** Processes are started by a helper process, not by the server itself (see spawn-helper.ts). */
  private readonly helper = new SpawnHelper();

  private readonly baseEnv: Record<string, string>;
  private readonly identity: SpawnIdentity | undefined;
  /** Working directory of steps under runAs: the user's home when it exists, else `/` (never the server's). */
  private readonly cwd: string | undefined;

  constructor(private readonly opts: LocalExecutorOptions) {
    this.killGraceMs = opts.killGraceMs ?? 5000;
    const u = opts.runAs;
    this.baseEnv = cleanStepEnv({ path: opts.path, home: u ? u.home : serverHome() });
    this.identity = u ? { uid: u.uid, gid: u.gid, setpriv: u.setpriv } : undefined;
    this.cwd = u ? (existsSync(u.home) ? u.home : '/') : undefined;
  }

  async start(cmd: StepCommand): Promise<StepProcess> {
    let cleanup: (() => Promise<void>) | undefined;
    let argv: string[];
    if (cmd.kind === 'shell') {
      argv = ['/bin/sh', '-c', cmd.command];
    } else {
      const dir = await mkdtemp(path.join(this.opts.tmpDir ?? tmpdir(), 'tandem-step-'));
      const file = path.join(dir, 'script');
      await writeFile(file, cmd.script, { mode: 0o700 });
      await chmod(file, 0o700);
      if (this.opts.runAs) {
        // The step user reads its script; nobody else may (the body can hold option values). The directory stays
        // the server's (so it can remove it) and only lets others through to the file, not list it.
        await chown(file, this.opts.runAs.uid, this.opts.runAs.gid);
        await chmod(dir, 0o711);
      }
      cleanup = () => rm(dir, { recursive: true, force: true });
      const quoted = shellQuote(file);
      const line = cmd.interpreter
        ? `${cmd.interpreter} ${quoted} ${cmd.args}`
        : cmd.script.startsWith('#!')
          ? `${quoted} ${cmd.args}`
          : `/bin/sh ${quoted} ${cmd.args}`;
      argv = ['/bin/sh', '-c', line];
    }
    let child: HelperChild;
    try {
      child = await this.helper.spawn(argv[0]!, argv.slice(1), { ...this.baseEnv, ...cmd.env }, { cwd: this.cwd, as: this.identity });
    } catch (e) {
      // As when a process cannot be started: the step fails like a command that was not found.
      this.opts.log.warn('step process failed to start', { error: e });
      await cleanup?.().catch((err) => this.opts.log.warn('cannot remove script file', { error: err }));
      return notStarted();
    }
    const pgid = child.pid;
    this.groups.add(pgid);
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-pgid, sig);
      } catch (e) {
        // ESRCH: the group is already gone, which is what we wanted.
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') this.opts.log.warn('cannot signal step process group', { pgid, error: e });
      }
    };
    void child.exit.then(() => {
      // The leader is gone; members of its group that still hold the output
      // pipes open (background jobs) must not keep the step alive forever.
      setTimeout(() => {
        if (child.openPipes() > 0) signalGroup('SIGKILL');
      }, 2000).unref();
    });
    const exited = Promise.all([child.exit, child.pipesClosed]).then(async () => {
      if (killTimer) clearTimeout(killTimer);
      this.groups.delete(pgid);
      await (cleanup?.() ?? Promise.resolve()).catch((e) => this.opts.log.warn('cannot remove script file', { error: e }));
      return child.exit;
    });
    return {
      stdout: child.stdout,
      stderr: child.stderr,
      exited,
      kill: () => {
        signalGroup('SIGTERM');
        killTimer ??= setTimeout(() => signalGroup('SIGKILL'), this.killGraceMs);
        killTimer.unref();
      },
    };
  }

  async close(): Promise<void> {
    for (const pgid of this.groups) {
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.groups.clear();
    await this.helper.close();
  }
}

/** A step whose process could not be started: no output, exit status 127 (as a shell reports "command not found"). */
function notStarted(): StepProcess {
  return { stdout: Readable.from([]), stderr: Readable.from([]), exited: Promise.resolve({ exitCode: 127, signal: null }), kill: () => undefined };
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
