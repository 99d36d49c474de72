/**
 * Each demo site's `tandem.yaml`: its own database, port and log directory,
 * plus `site:` and `sites:` listing both sites, so that the printed
 * `tandem failover --config DIR/b/tandem.yaml --to b` works as it is. The job
 * servers of the demo load the same file, so the demo runs exactly what the
 * printed commands see. Mode 0600: the URLs carry the embedded superuser's password, and the
 * file holds Key Storage's master key.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { SiteEntry } from '../../server/config/schema.js';
import type { DemoSiteName } from './layout.js';

export interface SiteConfigInput {
  site: DemoSiteName;
  sites: Record<DemoSiteName, SiteEntry>;
  port: number;
  logsDir: string;
  usersFile: string;
  /** Key Storage's master key (base64), the same on both sites. */
  masterKey: string;
}

/** The demo's Key Storage master key: read from `file`, or made (32 random bytes) and written there with mode 0600. */
export function ensureMasterKey(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const key = randomBytes(32).toString('base64');
  writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  return key;
}

export function writeSiteConfig(file: string, i: SiteConfigInput): void {
  const doc = {
    site: i.site,
    sites: i.sites,
    database: { url: i.sites[i.site].databaseUrl },
    server: { host: '127.0.0.1', port: i.port, memberName: `demo-${i.site}`, drainTimeout: '5s' },
    logs: { store: 'filesystem', dir: i.logsDir },
    auth: { usersFile: i.usersFile },
    keyStorage: { masterKey: i.masterKey },
    // Short enough to watch a switchover happen; the sample job is a few echo lines.
    failover: { checkInterval: '1s', drainTimeout: '20s', catchUpTimeout: '1m' },
  };
  const text = `# Written by \`tandem demo\` at every start (site ${i.site} of the two-site demo).\n` + stringify(doc);
  writeFileSync(file, text, { mode: 0o600 });
}
