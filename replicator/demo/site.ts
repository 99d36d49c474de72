/**
 * One site of the demo: its embedded PostgreSQL (database `tandem`, migrated,
 * site state initialised on the first run), then its job server, started
 * from the site's own `tandem.yaml`.
 */
import { statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { userInfo } from 'node:os';
import path from 'node:path';
import { TandemError } from '../../server/errors.js';
import { loadConfig } from '../../server/config/load.js';
import { migrate } from '../../server/db/migrate.js';
import { createEmbeddedPostgres, type EmbeddedPostgres } from '../../server/embedded/postgres.js';
import { startJobServer, type JobServer } from '../../server/app/job-server.js';
import type { Logger } from '../../server/log.js';
import { initSiteState } from '../../server/site/init.js';
import { withSite } from '../../server/site/connect.js';
import { getSite } from '../../server/site/sql/get-site.js';
import type { SiteRow } from '../../server/site/types.js';
import type { DemoLayout, DemoSiteName } from './layout.js';
import { ensureDatabase } from './sql/ensure-database.js';

export interface DemoDatabase {
  name: DemoSiteName;
  pg: EmbeddedPostgres;
  /** Superuser URL of this site's `tandem` database (what `sites:` lists). */
  url: string;
}

/** Start (initdb on the first run) the site's PostgreSQL and migrate its `tandem` database. */
export async function startSiteDatabase(layout: DemoLayout, name: DemoSiteName, port: number, out: (l: string) => void, log: Logger): Promise<DemoDatabase> {
  const paths = layout.site(name);
  await mkdir(paths.logsDir, { recursive: true });
  checkReachableByPostgres(paths.dir);
  out(`site ${name}: starting embedded PostgreSQL in ${paths.pgDir} ...`);
  const pg = await createEmbeddedPostgres({ dir: paths.pgDir, port });
  try {
    await ensureDatabase(pg.url, 'tandem');
    const url = pg.urlFor('tandem');
    const res = await migrate(url, { log: log.child({ site: name }) });
    out(`site ${name}: PostgreSQL ${pg.major} on 127.0.0.1:${pg.port}; ${res.applied.length} migration(s) applied`);
    return { name, pg, url };
  } catch (e) {
    await pg.stop('fast');
    throw e;
  }
}

/** The site's state; on the very first run, `tandem site init` (a active, b passive following a). */
export async function ensureSiteState(db: DemoDatabase, first: { role: 'active' | 'passive'; activeSite: string; activeUrl: string }): Promise<{ row: SiteRow; created: boolean }> {
  const row = await withSite(db.url, (c) => getSite(c), { applicationName: 'tandem-demo' });
  if (row) return { row, created: false };
  return initSiteState({ databaseUrl: db.url, name: db.name, role: first.role, activeSite: first.activeSite, activeUrl: first.activeUrl });
}

/** The site's job server, configured by its tandem.yaml (environment variables ignored: the file is the whole story). */
export async function startSiteServer(configFile: string, log: Logger): Promise<JobServer> {
  const config = loadConfig({ file: configFile, env: {} });
  return startJobServer({ config, log });
}

/**
 * As root, PostgreSQL runs as the `postgres` user (server/embedded/postgres.ts),
 * which must be able to reach the data directory: say so plainly instead of
 * letting initdb fail with "Permission denied" on a file it cannot see.
 */
function checkReachableByPostgres(dir: string): void {
  if (userInfo().uid !== 0) return;
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) {
      throw new TandemError('invalid_config', `${d} is not accessible to other users (mode ${(statSync(d).mode & 0o777).toString(8)}), and PostgreSQL runs as user postgres when tandem runs as root: choose a --dir outside it, or chmod o+x ${d}`);
    }
    if (path.dirname(d) === d) return;
  }
}
