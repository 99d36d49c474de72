/**
 * Last line of defence against leaked servers: when a test process ends
 * without running its teardowns (an uncaught exception, process.exit, a
 * SIGTERM/SIGINT from tap's timeout or a person), every server process the
 * harness started and is still running is killed, and every temp directory
 * still present is removed, synchronously, from the process's exit path.
 * Teardowns stay the normal way to stop things; this only catches what they
 * never got to. (One registry per test process is the point here, so it is
 * module state by design.)
 */
import { readFileSync, rmSync } from 'node:fs';

const processes = new Set<() => { pid: number | undefined; group: boolean }>();
const dirs = new Set<string>();
let installed = false;

/** Whether a process still runs (a zombie, dead and waiting to be reaped by its parent, does not). */
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function reap(): void {
  const killed: number[] = [];
  for (const p of processes) {
    const { pid, group } = p();
    if (!pid) continue;
    try {
      process.kill(group ? -pid : pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Already gone: exactly what we want.
    }
  }
  processes.clear();
  // SIGKILL is delivered asynchronously: wait (at most 2 s, synchronously: this runs on the exit path) until the
  // processes are gone, so that none of them still writes into a directory being removed.
  const deadline = Date.now() + 2000;
  const tick = new Int32Array(new SharedArrayBuffer(4));
  while (killed.some(running) && Date.now() < deadline) Atomics.wait(tick, 0, 0, 20);
  for (const d of dirs) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
    } catch (e) {
      process.stderr.write(`harness reaper: cannot remove ${d}: ${(e as Error).message}\n`);
    }
  }
  dirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', reap);
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.once(sig, () => {
      reap();
      // Let the signal end the process as it would have without this handler.
      process.kill(process.pid, sig);
    });
  }
}

/** Kill this process (`group`: its whole process group) if the test process ends while it runs; returns the unregister function. */
export function reapProcess(current: () => number | undefined, group = false): () => void {
  install();
  const entry = () => ({ pid: current(), group });
  processes.add(entry);
  return () => processes.delete(entry);
}

/** Remove this directory if the test process ends before its teardown did; returns the unregister function. */
export function reapDir(dir: string): () => void {
  install();
  dirs.add(dir);
  return () => dirs.delete(dir);
}
