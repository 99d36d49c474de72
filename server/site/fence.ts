/**
 * Fencing: this site stops writing. In one transaction the role becomes
 * `fenced` (waiting for in-flight writes that checked the role) and the
 * database's default becomes read-only for new application sessions; then the
 * job servers' open sessions are ended so that they reconnect read-only.
 */
import type pg from 'pg';
import { inReadWriteTransaction, poolReadWrite } from './connect.js';
import { setDatabaseReadOnly } from './sql/set-database-read-only.js';
import { setSiteRole } from './sql/set-site-role.js';
import { terminateAppSessions } from './sql/terminate-app-sessions.js';
import type { SiteRole, SiteRow } from './types.js';

export interface DemoteInput {
  activeSite: string | null;
  activeUrl: string | null;
  reason: string;
}

async function demote(c: pg.ClientBase, role: Extract<SiteRole, 'fenced' | 'passive'>, d: DemoteInput): Promise<SiteRow> {
  const row = await setSiteRole(c, { role, ...d });
  await setDatabaseReadOnly(c, true);
  return row;
}

/** Fence the site whose database the pool reaches (the site monitor's own site). */
export async function fenceSelf(pool: pg.Pool, d: DemoteInput): Promise<SiteRow> {
  const row = await poolReadWrite(pool, (c) => demote(c, 'fenced', d));
  await terminateAppSessions(pool);
  return row;
}

/** Fence or make passive the site of this client (the failover command's connection). */
export async function demoteSite(c: pg.ClientBase, role: Extract<SiteRole, 'fenced' | 'passive'>, d: DemoteInput): Promise<SiteRow> {
  const row = await inReadWriteTransaction(c, () => demote(c, role, d));
  await terminateAppSessions(c);
  return row;
}
