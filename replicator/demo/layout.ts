/**
 * Where the two-site demo keeps its files (DIR defaults to `.demo/`):
 *
 *   DIR/demo.json           ports of the two PostgreSQL clusters (kept between runs)
 *   DIR/users.yaml          local users file shared by both sites (user "demo")
 *   DIR/demo-password       that user's password, so that every run can print it (0600)
 *   DIR/demo.log            the demo's log, JSON lines, appended by every run (log-file.ts)
 *   DIR/a/pg, DIR/b/pg      each site's embedded PostgreSQL
 *   DIR/a/logs, DIR/b/logs  each site's filesystem log store
 *   DIR/a/tandem.yaml, ...  each site's configuration (site:, sites:), rewritten at every start
 *
 * The PostgreSQL ports must not change between runs: the replication slot of
 * a passive site is named after its database URL (replicator/slot-name.ts),
 * and `tandem failover --reverse` / `tandem rejoin` derive it the same way.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TandemError } from '../../server/errors.js';
import { freePort } from '../../server/embedded/net.js';

export const DEMO_SITES = ['a', 'b'] as const;
export type DemoSiteName = (typeof DEMO_SITES)[number];

export interface DemoLayout {
  dir: string;
  stateFile: string;
  usersFile: string;
  passwordFile: string;
  /** Key Storage's master key, made at the first start and kept (stored keys stay readable across restarts); both sites use it. */
  masterKeyFile: string;
  logFile: string;
  site(name: DemoSiteName): { dir: string; pgDir: string; logsDir: string; configFile: string };
}

export function demoLayout(dir: string): DemoLayout {
  const root = path.resolve(dir);
  return {
    dir: root,
    stateFile: path.join(root, 'demo.json'),
    logFile: path.join(root, 'demo.log'),
    usersFile: path.join(root, 'users.yaml'),
    passwordFile: path.join(root, 'demo-password'),
    masterKeyFile: path.join(root, 'key-storage-master-key'),
    site: (name) => {
      const d = path.join(root, name);
      return { dir: d, pgDir: path.join(d, 'pg'), logsDir: path.join(d, 'logs'), configFile: path.join(d, 'tandem.yaml') };
    },
  };
}

interface DemoState {
  pgPorts: Record<DemoSiteName, number>;
}

/** The PostgreSQL port of each site: chosen once (free ports), then read back on every run. */
export async function postgresPorts(layout: DemoLayout): Promise<Record<DemoSiteName, number>> {
  if (existsSync(layout.stateFile)) {
    let state: DemoState;
    try {
      state = JSON.parse(readFileSync(layout.stateFile, 'utf8')) as DemoState;
    } catch (e) {
      throw new TandemError('invalid_config', `${layout.stateFile}: not the demo's state file (${(e as Error).message}); remove ${layout.dir} to start afresh`);
    }
    const ok = DEMO_SITES.every((s) => Number.isInteger(state.pgPorts?.[s]));
    if (!ok) throw new TandemError('invalid_config', `${layout.stateFile}: no PostgreSQL ports for sites a and b; remove ${layout.dir} to start afresh`);
    return state.pgPorts;
  }
  const a = await freePort();
  let b = await freePort();
  while (b === a) b = await freePort();
  const state: DemoState = { pgPorts: { a, b } };
  writeFileSync(layout.stateFile, JSON.stringify(state, null, 2) + '\n');
  return state.pgPorts;
}
