/**
 * What one site looks like from the operator's host: its database's site
 * row, its replication position, its object backlog, and (for `tandem
 * status`) what its job server answers on /health/active.
 */
import type { SiteEntry } from '../config/schema.js';
import { errorMessage } from '../errors.js';
import { withSite } from './connect.js';
import { getSite } from './sql/get-site.js';
import { localReplication, type LocalReplication } from './sql/local-replication.js';
import type { SiteRow } from './types.js';
import { objectBacklog } from './sql/object-backlog.js';

export interface SiteView {
  name: string;
  url: string;
  databaseUrl: string;
  reachable: boolean;
  error?: string;
  /** null: reachable but `tandem site init` never ran there. */
  row: SiteRow | null;
  replication: LocalReplication | null;
  backlog: number | null;
}

export async function inspectSite(name: string, entry: SiteEntry, connectTimeoutMs = 5000): Promise<SiteView> {
  const base = { name, url: entry.url, databaseUrl: entry.databaseUrl };
  try {
    return await withSite(
      entry.databaseUrl,
      async (c) => {
        const row = await getSite(c);
        const replication = await localReplication(c);
        const backlog = await objectBacklog(c);
        return { ...base, reachable: true, row, replication, backlog };
      },
      { applicationName: 'tandem-failover', connectTimeoutMs, statementTimeoutMs: 10_000 },
    );
  } catch (e) {
    return { ...base, reachable: false, error: errorMessage(e), row: null, replication: null, backlog: null };
  }
}

export interface HealthView {
  status: number | null;
  error?: string;
}

/** GET {url}/health/active with a short timeout (200: active; 503: not active; null: no answer). */
export async function probeActive(url: string, timeoutMs = 2000): Promise<HealthView> {
  try {
    const res = await fetch(new URL('/health/active', url), { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return { status: res.status };
  } catch (e) {
    return { status: null, error: errorMessage(e) };
  }
}
