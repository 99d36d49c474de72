/**
 * `tandem rejoin --site OLD --from NEW`: rebuild an old active site (fenced
 * after a forced failover, or left fenced by a switchover) as a passive of
 * the new active one. OLD becomes `passive` (read-only, nothing scheduled),
 * its stale outgoing slot is dropped, and the replicator rebuilds its tables
 * from a new snapshot of NEW (`--resync`): the transactions OLD committed
 * after the failover's data-loss bound are discarded with it.
 */
import type { SiteEntry } from '../../server/config/schema.js';
import { TandemError } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { connectSite, writableUrl } from '../../server/site/connect.js';
import { demoteSite } from '../../server/site/fence.js';
import { getSite } from '../../server/site/sql/get-site.js';
import { recordPeerEpoch } from '../../server/site/sql/record-peer-epoch.js';
import { inReadWriteTransaction } from '../../server/site/connect.js';
import { runReplicator, type ReplicatorResult } from '../run.js';
import { defaultSlotName } from '../slot-name.js';
import { dropSlotIfPresent } from './reverse.js';
import { stepLabel } from './runner.js';

export const REJOIN_STEPS = ['passive', 'old slot', 'resync'] as const;
const step = (s: (typeof REJOIN_STEPS)[number]) => stepLabel(REJOIN_STEPS, s);

export interface RejoinOptions {
  sites: Record<string, SiteEntry>;
  site: string;
  from: string;
  schemas: string[];
  publication: string;
  /** Keep streaming after the copy (until the signal) instead of stopping once caught up. */
  follow?: boolean;
  dryRun?: boolean;
  out: (line: string) => void;
  log: Logger;
  signal?: AbortSignal;
}

export async function rejoin(o: RejoinOptions): Promise<ReplicatorResult | null> {
  const old = o.sites[o.site];
  const neu = o.sites[o.from];
  if (!old) throw new TandemError('usage', `--site ${o.site}: no such site (sites: ${Object.keys(o.sites).join(', ')})`, { field: 'site' });
  if (!neu) throw new TandemError('usage', `--from ${o.from}: no such site (sites: ${Object.keys(o.sites).join(', ')})`, { field: 'from' });
  if (o.site === o.from) throw new TandemError('usage', '--site and --from name the same site', { field: 'from' });

  const n = await connectSite(neu.databaseUrl, { applicationName: 'tandem-rejoin' });
  const s = await connectSite(old.databaseUrl, { applicationName: 'tandem-rejoin' }).catch(async (e) => {
    await n.end();
    throw e;
  });
  let t0 = performance.now();
  try {
    const nRow = await getSite(n);
    const sRow = await getSite(s);
    if (!nRow || nRow.role !== 'active') throw new TandemError('conflict', `${o.from} is ${nRow?.role ?? 'not initialised'}, not active: rejoin follows the active site`);
    if (!sRow) throw new TandemError('conflict', `${o.site} has no site state: run \`tandem site init --name ${o.site} --role passive\` there`);
    if (sRow.role === 'active' && sRow.epoch >= nRow.epoch) {
      throw new TandemError('conflict', `${o.site} is active with epoch ${sRow.epoch} ≥ ${o.from}'s ${nRow.epoch}: it is not the old site; nothing to rejoin`);
    }
    o.out(`plan: rebuild ${o.site} (${sRow.role}, epoch ${sRow.epoch}) as a passive of ${o.from} (active, epoch ${nRow.epoch}) from a new snapshot; ${o.site}'s own changes since the failover are discarded`);
    if (o.dryRun) return null;

    await demoteSite(s, 'passive', { activeSite: o.from, activeUrl: neu.url, reason: `rejoined as passive of ${o.from}` });
    await inReadWriteTransaction(s, () => recordPeerEpoch(s, o.from, nRow.epoch, 'active'));
    o.out(`${step('passive')} ${o.site} is passive (read-only, nothing scheduled) (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
    t0 = performance.now();
    const dropped = await dropSlotIfPresent(s, defaultSlotName(neu.databaseUrl));
    o.out(`${step('old slot')} ${dropped ? `dropped the old slot for ${o.from} on ${o.site}` : `no old slot on ${o.site}`} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  } finally {
    await s.end().catch(() => undefined);
    await n.end().catch(() => undefined);
  }
  t0 = performance.now();
  o.out(`${step('resync')} resync: copying ${o.from} into ${o.site}${o.follow ? ', then streaming until stopped' : ' until caught up'} ...`);
  const r = await runReplicator({
    sourceUrl: neu.databaseUrl,
    targetUrl: writableUrl(old.databaseUrl),
    schemas: o.schemas,
    publication: o.publication,
    resync: true,
    untilCaughtUp: !o.follow,
    log: o.log,
    signal: o.signal,
  });
  o.out(`${step('resync')} resync ${r.reason === 'caught_up' ? 'caught up' : 'stopped'} at ${r.appliedLsn} (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  if (!o.follow) o.out(`next: keep ${o.site} following ${o.from}: start the replicator at ${o.site} (source ${o.from}).`);
  return r;
}
