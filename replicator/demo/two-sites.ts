/**
 * `tandem demo`: two sites on one machine with embedded defaults.
 *
 *   site a (first run: active)              site b (first run: passive)
 *   PostgreSQL DIR/a/pg, logs DIR/a/logs    PostgreSQL DIR/b/pg, logs DIR/b/logs
 *   job server 127.0.0.1:PORT               job server 127.0.0.1:PORT+1
 *          └── replicator + log object copier, in this process ──┘
 *
 * The data directory is kept between runs. A later run starts the sites in
 * whatever roles they were left (after `tandem failover --to b`, b is active),
 * puts the sample data on the active site, and replicates from the active
 * site to the passive one (DemoSupervisor). Ctrl-C stops the job servers, the
 * replication and both PostgreSQL clusters.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { SiteEntry } from '../../server/config/schema.js';
import { TandemError, errorMessage } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { ensureMasterKey, writeSiteConfig } from './config-file.js';
import { DEMO_SITES, demoLayout, postgresPorts, type DemoLayout, type DemoSiteName } from './layout.js';
import { openDemoLog } from './log-file.js';
import { DEMO_PROJECT, ensureDemoLogin, ensureSampleData } from './sample.js';
import { ensureSiteState, startSiteDatabase, startSiteServer, type DemoDatabase } from './site.js';
import { shellPath } from '../../server/cli/printed-command.js';
import { summaryLines } from './summary.js';
import { activeSite, DemoSupervisor, type SupervisedSite } from './supervisor.js';

export interface TwoSiteDemoOptions {
  dir: string;
  /** Site a's HTTP port; site b gets port + 1. */
  port: number;
  /** How to run tandem from the current directory (printed in the commands to try). */
  cli: string;
  /** Start, wait until the passive site has the sample project, print the summary, stop. */
  exitAfterStart: boolean;
  out: (line: string) => void;
  /** The terminal's logger (stderr); every line also goes to DIR/demo.log. */
  log: Logger;
  signal: AbortSignal;
  /** How long the passive site may take to receive the sample project (default 90 s). */
  replicationTimeoutMs?: number;
}

/** Stoppers of everything started so far, run in reverse order (also when the start fails half-way). */
class Started {
  private readonly stops: Array<{ what: string; stop: () => Promise<void> }> = [];
  add(what: string, stop: () => Promise<void>): void {
    this.stops.push({ what, stop });
  }
  async stopAll(log: Logger): Promise<void> {
    while (this.stops.length) {
      const { what, stop } = this.stops.pop()!;
      try {
        await stop();
      } catch (e) {
        log.error(`stopping ${what} failed`, { error: errorMessage(e) });
      }
    }
  }
}

export async function runTwoSiteDemo(o: TwoSiteDemoOptions): Promise<void> {
  const layout = demoLayout(o.dir);
  await mkdir(layout.dir, { recursive: true });
  const demoLog = openDemoLog(layout.logFile, o.log);
  try {
    await runSites(o, layout, demoLog.log);
  } finally {
    demoLog.close();
  }
}

async function runSites(o: TwoSiteDemoOptions, layout: DemoLayout, log: Logger): Promise<void> {
  const { out } = o;
  out(`logs: ${shellPath(layout.logFile)} (warnings and errors also on stderr)`);
  // The single-site demo of earlier versions kept its cluster in DIR/pg.
  if (existsSync(path.join(layout.dir, 'pg'))) out(`note: ${path.join(layout.dir, 'pg')} (the single-site demo's PostgreSQL) is not used any more; remove it to free the space`);
  const pgPorts = await postgresPorts(layout);
  const httpPort: Record<DemoSiteName, number> = { a: o.port, b: o.port + 1 };
  const started = new Started();
  let onExit: (() => void) | undefined;
  try {
    // Both clusters at once; each one that started is stopped again if the other failed.
    const dbs = await Promise.allSettled(DEMO_SITES.map((name) => startSiteDatabase(layout, name, pgPorts[name], out, log)));
    for (const r of dbs) if (r.status === 'fulfilled') started.add(`PostgreSQL of site ${r.value.name}`, () => r.value.pg.stop('fast'));
    // The clusters run in their own process groups, so a terminal's Ctrl-C does not reach them. Should this
    // process exit without the clean stop (a second Ctrl-C exits at once), they get an immediate shutdown.
    const running = dbs.flatMap((r) => (r.status === 'fulfilled' ? [r.value.pg] : []));
    onExit = () => {
      for (const p of running) {
        const pid = p.pid();
        if (pid && p.running()) process.kill(pid, 'SIGQUIT');
      }
    };
    process.on('exit', onExit);
    for (const r of dbs) if (r.status === 'rejected') throw r.reason;
    const db = {} as Record<DemoSiteName, DemoDatabase>;
    for (const r of dbs) if (r.status === 'fulfilled') db[r.value.name] = r.value;

    const entries = {} as Record<DemoSiteName, SiteEntry>;
    for (const n of DEMO_SITES) entries[n] = { databaseUrl: db[n].url, url: `http://127.0.0.1:${httpPort[n]}` };
    const masterKey = ensureMasterKey(layout.masterKeyFile);
    for (const n of DEMO_SITES) {
      // First run only: a is active, b passive following a.
      const { row, created } = await ensureSiteState(db[n], { role: n === 'a' ? 'active' : 'passive', activeSite: 'a', activeUrl: entries.a.url });
      out(`site ${n}: ${created ? 'initialised as' : 'found'} ${row.role} (epoch ${row.epoch})`);
      const paths = layout.site(n);
      writeSiteConfig(paths.configFile, { site: n, sites: entries, port: httpPort[n], logsDir: paths.logsDir, usersFile: layout.usersFile, masterKey });
    }
    const login = await ensureDemoLogin(layout.usersFile, layout.passwordFile);

    const sites: SupervisedSite[] = DEMO_SITES.map((n) => ({ name: n, dbUrl: db[n].url, logsDir: layout.site(n).logsDir, url: entries[n].url }));
    const supervisor = new DemoSupervisor({
      sites,
      log,
      out,
      hint: (site, peer) => `${o.cli} rejoin --config ${shellPath(layout.site(site.name as DemoSiteName).configFile)} --site ${site.name} --from ${peer.name}`,
    });
    started.add('replication', () => supervisor.stop());
    // The first look starts the initial copy into a passive site that never had one.
    const looks = await supervisor.start();
    const active = activeSite(looks);
    let sample: Awaited<ReturnType<typeof ensureSampleData>> | null = null;
    if (active) {
      out(`site ${active.name} is active${active.name === 'a' ? '' : ' (left so by an earlier failover)'}: putting project "${DEMO_PROJECT}" and an API token there ...`);
      sample = await ensureSampleData(db[active.name as DemoSiteName].url);
      out(sample.created ? `created project "${DEMO_PROJECT}" with job demo/hello (every minute)` : `project "${DEMO_PROJECT}" is there from an earlier run (kept as it is)`);
    } else {
      out('no site is active: no sample data written (finish or undo the interrupted failover, see `tandem status`)');
    }

    for (const n of DEMO_SITES) {
      const server = await startSiteServer(layout.site(n).configFile, log);
      started.add(`job server of site ${n}`, () => server.stop());
      out(`site ${n}: job server on ${server.url}/`);
    }

    if (sample) {
      const passives = supervisor.running().map((l) => sites.find((s) => s.name === l.to)!);
      for (const p of passives) {
        try {
          await waitForProject(p, sample.token, o);
          out(`replication reached ${p.name}: project "${DEMO_PROJECT}" and job demo/hello are served by ${p.name}'s job server (${p.url}/api/v1/projects/${DEMO_PROJECT}/jobs)`);
        } catch (e) {
          // A script (--exit-after-start) must see the failure; a person may still look around.
          if (o.exitAfterStart) throw e;
          out(`warning: ${errorMessage(e)}`);
        }
      }
      if (!passives.length) out('no passive site is following the active one, so nothing is replicated now (see the hints above).');
    }

    for (const line of summaryLines({
      cli: o.cli,
      sites: DEMO_SITES.map((n) => ({ name: n, url: entries[n].url, configFile: layout.site(n).configFile, pgDataDir: db[n].pg.dataDir })),
      looks: supervisor.looks,
      active: (active?.name as DemoSiteName | undefined) ?? null,
      login,
      token: sample?.token ?? null,
      jobId: sample?.jobId ?? '',
      logFile: layout.logFile,
    }))
      out(line);

    if (!o.exitAfterStart && !o.signal.aborted) await new Promise((r) => o.signal.addEventListener('abort', r, { once: true }));
    out('stopping: job servers, replication, PostgreSQL of both sites ...');
  } finally {
    await started.stopAll(log);
    if (onExit) process.off('exit', onExit);
  }
  out('stopped.');
}

/** Poll the passive site's job server until it serves the sample project (replicated, token included). */
async function waitForProject(site: SupervisedSite, token: string, o: TwoSiteDemoOptions): Promise<void> {
  const timeout = o.replicationTimeoutMs ?? 90_000;
  const deadline = Date.now() + timeout;
  let last = '';
  while (!o.signal.aborted) {
    try {
      const r = await fetch(`${site.url}/api/v1/projects/${DEMO_PROJECT}/jobs`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) });
      const body = (await r.json().catch(() => null)) as { jobs?: Array<{ name?: string }> } | Array<{ name?: string }> | null;
      const jobs = Array.isArray(body) ? body : body?.jobs;
      if (r.status === 200 && jobs?.some((j) => j.name === 'hello')) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = errorMessage(e);
    }
    if (Date.now() > deadline) throw new TandemError('unavailable', `site ${site.name} did not serve project "${DEMO_PROJECT}" within ${timeout / 1000} s (last answer: ${last}); see the replication messages above`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
