/**
 * `tandem failover` orchestration (planned switchover, forced failover),
 * `tandem rejoin` and the site overview of `tandem status`.
 */
import { TandemError } from '../../server/errors.js';
import { getRunningJournal } from '../../server/site/sql/get-running-journal.js';
import { withSite } from '../../server/site/connect.js';
import { forcedFailover } from './forced.js';
import { inspectSite, type SiteView } from '../../server/site/inspect.js';
import type { FailoverOptions, FailoverResult } from './options.js';
import { switchover } from './switchover.js';

export type { FailoverOptions, FailoverResult } from './options.js';
export { FailpointError } from './runner.js';
export { SWITCHOVER_STEPS } from './switchover.js';
export { FORCED_STEPS } from './forced.js';
export { rejoin, type RejoinOptions } from './rejoin.js';
export { siteStatus, formatStatusTable, type SiteStatus } from './status.js';

export async function runFailover(o: FailoverOptions): Promise<FailoverResult> {
  const names = Object.keys(o.sites);
  if (names.length < 2) throw new TandemError('invalid_config', 'sites: a failover needs at least two sites in the configuration', { field: 'sites' });
  if (!o.sites[o.to]) throw new TandemError('usage', `--to ${o.to}: no such site (sites: ${names.join(', ')})`, { field: 'to' });
  if (o.from !== undefined && !o.sites[o.from]) throw new TandemError('usage', `--from ${o.from}: no such site (sites: ${names.join(', ')})`, { field: 'from' });
  if (o.from === o.to) throw new TandemError('usage', '--from and --to name the same site', { field: 'from' });
  if (o.force && o.abort) throw new TandemError('usage', '--abort undoes a planned switchover; it cannot be combined with --force');
  if (o.force && o.reverse) throw new TandemError('usage', '--reverse needs the old active site reachable (planned switchover); after a forced failover use `tandem rejoin`');

  const views = await Promise.all(names.map((n) => inspectSite(n, o.sites[n]!)));
  const target = views.find((v) => v.name === o.to)!;
  if (!target.reachable) throw new TandemError('unavailable', `cannot reach the database of ${o.to}, the site to promote: ${target.error}`);
  if (!target.row) throw new TandemError('conflict', `${o.to} has no site state: run \`tandem site init --name ${o.to} --role passive\` there first`);
  const others = views.filter((v) => v.name !== o.to);
  if (o.force) return forcedFailover(o, target, o.from ? others.filter((v) => v.name === o.from) : others);

  const source = await pickSource(o, target, others);
  if (!source.reachable) {
    throw new TandemError(
      'unavailable',
      `cannot reach the database of ${source.name}, the active site: ${source.error}. A planned switchover needs both sites; if ${source.name} is lost, use --force`,
    );
  }
  if (!source.row) throw new TandemError('conflict', `${source.name} has no site state: run \`tandem site init\` there first`);
  return switchover(o, source, target);
}

async function pickSource(o: FailoverOptions, target: SiteView, others: SiteView[]): Promise<SiteView> {
  if (o.from) return others.find((v) => v.name === o.from)!;
  const journal = await withSite(target.databaseUrl, (c) => getRunningJournal(c), { applicationName: 'tandem-failover' });
  if (journal) {
    const v = others.find((x) => x.name === journal.fromSite);
    if (v) return v;
  }
  const writers = others.filter((v) => v.row && (v.row.role === 'active' || v.row.role === 'draining'));
  if (writers.length === 1) return writers[0]!;
  if (writers.length > 1) throw new TandemError('conflict', `several sites claim to take writes (${writers.map((w) => w.name).join(', ')}); name the source with --from`);
  if (target.row?.activeSite && target.row.activeSite !== target.name) {
    const v = others.find((x) => x.name === target.row!.activeSite);
    if (v) return v;
  }
  if (others.length === 1) return others[0]!;
  const unreachable = others.filter((v) => !v.reachable).map((v) => v.name);
  throw new TandemError(
    'conflict',
    `no reachable active site to switch over from${unreachable.length ? ` (unreachable: ${unreachable.join(', ')})` : ''}; name it with --from, or use --force if it is lost`,
  );
}
