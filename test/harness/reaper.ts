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
import { rmSync } from 'node:fs';

const processes = new Set<() => { pid: number | undefined; group: boolean }>();
const dirs = new Set<string>();
let installed = false;

function reap(): void {
  for (const p of processes) {
    const { pid, group } = p();
    if (!pid) continue;
    try {
      process.kill(group ? -pid : pid, 'SIGKILL');
    } catch {
      // Already gone: exactly what we want.
    }
  }
  processes.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
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
