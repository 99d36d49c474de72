/**
 * CPU time of processes from /proc (Linux), for the CPU budget of a
 * measurement: where the CPU seconds of a catch-up went (source cluster,
 * target cluster, the replicator), beside the wall time. On a 2-core machine
 * shared by three processes the wall time alone does not say which one to
 * make cheaper (replicator/docs/performance.md, "The CPU budget of a catch-up").
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let tickMs: number | undefined;

/** Milliseconds per clock tick of /proc's times (USER_HZ, 100 on Linux). */
function msPerTick(): number {
  if (tickMs === undefined) {
    const hz = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim());
    tickMs = hz > 0 ? 1000 / hz : 10;
  }
  return tickMs;
}

/** The fields of /proc/PID/stat after the command name ([0] state, [1] ppid, [11] utime, [12] stime, [13] cutime, [14] cstime), or null once gone. */
function statFields(pid: number): string[] | null {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return s.slice(s.lastIndexOf(') ') + 2).split(' ');
  } catch {
    return null; // exited between the directory listing and the read
  }
}

/** User + system CPU of one process so far, in ms (0 once it is gone). */
export function processCpuMs(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) * msPerTick() : 0;
}

/**
 * CPU of a PostgreSQL cluster so far, in ms: the postmaster, its live
 * children (backends, walsenders, apply workers, checkpointer, ...) and the
 * children it already reaped (a process's cutime/cstime hold its waited-for
 * children's). A backend that exits between two readings moves from the
 * second sum to the first, so the difference of two readings stays right.
 */
export function clusterCpuMs(postmasterPid: number): number {
  const pm = statFields(postmasterPid);
  if (!pm) throw new Error(`no postmaster with pid ${postmasterPid}`);
  let ticks = Number(pm[11]) + Number(pm[12]) + Number(pm[13]) + Number(pm[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(Number(entry));
    if (f && Number(f[1]) === postmasterPid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks * msPerTick();
}
