/**
 * What the demo prints once both sites run: URLs and roles, the login, curl
 * examples, and the exact failover commands to try (with the paths of this
 * demo's configuration files, runnable as printed from the current directory).
 */
import path from 'node:path';
import { shellPath } from '../../server/cli/printed-command.js';
import type { DemoSiteName } from './layout.js';
import type { SiteLook } from './supervisor.js';

export interface SummarySite {
  name: DemoSiteName;
  url: string;
  configFile: string;
  pgDataDir: string;
}

export interface SummaryInput {
  /** How to run tandem from here, e.g. `node bin/tandem.js`. */
  cli: string;
  sites: SummarySite[];
  looks: SiteLook[];
  active: DemoSiteName | null;
  login: { user: string; password: string };
  token: string | null;
  jobId: string;
  /** DIR/demo.log. */
  logFile: string;
}

function roleOf(looks: SiteLook[], name: string): string {
  const l = looks.find((x) => x.name === name);
  if (!l) return 'unknown';
  if (!l.reachable) return 'database unreachable';
  return l.row ? `${l.row.role}, epoch ${l.row.epoch}` : 'no site state';
}

export function summaryLines(i: SummaryInput): string[] {
  const out: string[] = [];
  const cfg = (s: SummarySite) => shellPath(s.configFile);
  const active = i.sites.find((s) => s.name === i.active);
  const other = i.sites.find((s) => s.name !== i.active);
  out.push('', 'Two Tandem sites are running on this machine:');
  for (const s of i.sites) out.push(`  site ${s.name}  ${s.url}/  ${roleOf(i.looks, s.name).padEnd(18)} config ${cfg(s)}`);
  const otherLook = other && i.looks.find((x) => x.name === other.name);
  const follows = !!(otherLook?.reachable && otherLook.row?.role === 'passive');
  if (!active) out.push('No site is active now (see the hints above).');
  else if (follows) out.push(`Active site now: ${active.name}. Replication (database rows and execution logs) runs in this process from ${active.name} to ${other!.name}.`);
  else out.push(`Active site now: ${active.name}. ${other!.name} does not follow it (see the hints above), so nothing is replicated now.`);
  out.push('');
  const base = (active ?? i.sites[0]!).url;
  out.push(`Web UI (either site; a passive site is read-only): ${base}/  user ${i.login.user}  password ${i.login.password}`);
  if (i.token) {
    const ex = other ?? i.sites[1]!;
    out.push(`API token (a new one at every start, shown once): ${i.token}`);
    out.push(`  export TOKEN=${i.token}`);
    out.push(`  jobs:        curl -H "Authorization: Bearer $TOKEN" ${base}/api/v1/projects/demo/jobs`);
    out.push(`  run it:      curl -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"options":{"who":"you"}}' ${base}/api/v1/jobs/${i.jobId}/run`);
    out.push(`  executions:  curl -H "Authorization: Bearer $TOKEN" ${ex.url}/api/v1/projects/demo/executions   (site ${ex.name}: the replicated copy)`);
    out.push(`  output:      curl -H "Authorization: Bearer $TOKEN" ${ex.url}/api/v1/executions/EXECUTION_ID/output`);
    out.push(`  health:      curl -i ${base}/health/active   (200 on the active site, 503 on the other)`);
  }
  out.push('The job demo/hello runs by itself at the start of every minute, on the active site only.');
  out.push('');
  out.push('Try a failover (in another shell, in this directory):');
  out.push(`  ${i.cli} status --config ${cfg(i.sites[0]!)}`);
  if (active && other) {
    if (follows) {
      const f = `${i.cli} failover --config ${cfg(other)} --to ${other.name}`;
      out.push(`  ${f} --dry-run     # the plan and the checks`);
      out.push(`  ${f}               # planned switchover, nothing lost; ${active.name} is left fenced`);
      out.push(`  ${f} --reverse     # the same, and ${active.name} then follows ${other.name}`);
      out.push(`  kill -QUIT $(head -1 ${shellPath(path.join(active.pgDataDir, 'postmaster.pid'))})   # lose site ${active.name}: its PostgreSQL stops at once`);
      out.push(`  ${f} --force       # forced failover (refused while ${active.name} is reachable and active)`);
    }
    else out.push(`  ${i.cli} rejoin --config ${cfg(other)} --site ${other.name} --from ${active.name}   # rebuild ${other.name} as a passive of ${active.name}`);
  } else if (!active) {
    for (const s of i.sites) {
      const l = i.looks.find((x) => x.name === s.name);
      if (l?.reachable && l.row?.role === 'passive') {
        out.push(`  ${i.cli} failover --config ${cfg(s)} --to ${s.name}   # complete a switchover that stopped half-way (add the flags it was run with; --abort undoes it)`);
      }
    }
  }
  out.push(`Logs: ${shellPath(i.logFile)} (JSON lines; warnings and errors also on stderr; more there with --log-level info).`);
  out.push('The demo follows the roles the commands set: replication always runs from the active site to the passive one.');
  out.push('Press Ctrl-C to stop both job servers, the replication and both PostgreSQL clusters (data is kept in the demo directory).');
  return out;
}
