/**
 * Planned switchover (both sites reachable; nothing is lost):
 *
 *   drain    source `draining`: nothing new starts; running executions finish
 *            within the drain timeout or are aborted and recorded
 *   fence    source `fenced`, its database read-only by default
 *   drain point  a replicated marker row written on the source after fencing,
 *            and the source's WAL position then
 *   catch up wait until the marker arrived at the target (replication applies in
 *            commit order: everything committed before it arrived too) and the
 *            target's log object backlog is empty
 *   sequences  copy sequence values
 *   reverse  (--reverse) publication and slot on the target for the source,
 *            created before the target takes any write
 *   promote  target `active` with a new epoch, read-write, audit row
 *
 * Each step looks at the sites' actual state first, so re-running after an
 * interruption at any point completes the switch; the source is fenced before
 * the target is promoted, so two sites are never active at once. `--abort`
 * undoes a switchover that stopped before the promotion.
 */
import type pg from 'pg';
import { insertAudit } from '../../server/auth/sql/insert-audit.js';
import { TandemError } from '../../server/errors.js';
import { connectSite, inReadWriteTransaction, writableUrl } from '../../server/site/connect.js';
import { demoteSite } from '../../server/site/fence.js';
import { getSite } from '../../server/site/sql/get-site.js';
import { guardReplicationTarget } from '../../server/site/sql/guard-replication-target.js';
import { finishJournal } from '../../server/site/sql/finish-journal.js';
import { getRunningJournal } from '../../server/site/sql/get-running-journal.js';
import type { JournalRow } from '../../server/site/sql/journal-row.js';
import { setJournalFields } from '../../server/site/sql/set-journal-fields.js';
import { startJournal } from '../../server/site/sql/start-journal.js';
import { localReplication } from '../../server/site/sql/local-replication.js';
import { maxKnownEpoch } from '../../server/site/sql/max-known-epoch.js';
import { recordPeerEpoch } from '../../server/site/sql/record-peer-epoch.js';
import { setDatabaseReadOnly } from '../../server/site/sql/set-database-read-only.js';
import { setSiteRole } from '../../server/site/sql/set-site-role.js';
import { terminateAppSessions } from '../../server/site/sql/terminate-app-sessions.js';
import { insertSiteEvent, siteEventExists } from '../../server/site/sql/site-events.js';
import type { SiteRow } from '../../server/site/types.js';
import { syncSequences } from '../sequences/sync.js';
import { objectBacklog } from '../../server/site/sql/object-backlog.js';
import { drainExecutions } from './drain.js';
import type { SiteView } from '../../server/site/inspect.js';
import { defaultCommand, type FailoverOptions, type FailoverResult } from './options.js';
import { prepareReverse } from './reverse.js';
import { StepRunner } from './runner.js';

export const SWITCHOVER_STEPS = ['drain', 'fence', 'drain point', 'catch up', 'sequences', 'reverse', 'promote'] as const;
export type SwitchoverStep = (typeof SWITCHOVER_STEPS)[number];

/** The steps of one switchover: `reverse` only with --reverse. */
export function switchoverSteps(reverse: boolean): readonly SwitchoverStep[] {
  return reverse ? SWITCHOVER_STEPS : SWITCHOVER_STEPS.filter((s) => s !== 'reverse');
}

export async function switchover(o: FailoverOptions, source: SiteView, target: SiteView): Promise<FailoverResult> {
  const result: FailoverResult = { outcome: 'done', kind: 'switchover', from: source.name, to: target.name, newEpoch: null, steps: [] };
  const s = await connectSite(source.databaseUrl, { applicationName: 'tandem-failover' });
  try {
    const t = await connectSite(target.databaseUrl, { applicationName: 'tandem-failover' });
    try {
      return await run(o, source, target, s, t, result);
    } finally {
      await t.end().catch(() => undefined);
    }
  } finally {
    await s.end().catch(() => undefined);
  }
}

function describe(v: SiteView, row: SiteRow): string {
  return `${v.name}: ${row.role}, epoch ${row.epoch}`;
}

async function run(o: FailoverOptions, sv: SiteView, tv: SiteView, s: pg.Client, t: pg.Client, result: FailoverResult): Promise<FailoverResult> {
  const out = o.out;
  let sRow = (await getSite(s))!;
  let tRow = (await getSite(t))!;
  let journal = await getRunningJournal(t);
  if (journal && journal.kind !== 'switchover') {
    throw new TandemError('conflict', `a forced failover to ${journal.toSite} is in progress (journal ${journal.id}); re-run it with --force`);
  }
  if (journal && (journal.fromSite !== sv.name || journal.toSite !== tv.name)) {
    throw new TandemError('conflict', `a switchover ${journal.fromSite} → ${journal.toSite} is in progress; finish it first (re-run that command)`);
  }
  if (o.abort) return undo(o, sv, tv, s, t, sRow, tRow, journal, result);

  if (tRow.role === 'active' && !journal) {
    out(`${tv.name} is already the active site (epoch ${tRow.epoch}); nothing to do.`);
    return { ...result, outcome: 'already_active', newEpoch: tRow.epoch };
  }
  if (!journal) {
    if (sRow.role !== 'active') throw new TandemError('conflict', `${sv.name} is ${sRow.role}, not active: there is nothing to switch over from it (see \`tandem status\`)`);
    if (tRow.role !== 'passive') throw new TandemError('conflict', `${tv.name} is ${tRow.role}; only a passive site can be promoted (rebuild it with \`tandem rejoin\`)`);
  }
  const repl = await localReplication(t);
  const backlog = await objectBacklog(t);
  out(`plan: planned switchover ${sv.name} → ${tv.name}${journal ? ` (resuming the run started ${journal.startedAt.toISOString()})` : ''}`);
  out(`  ${describe(sv, sRow)} (${sv.url})`);
  out(
    `  ${describe(tv, tRow)} (${tv.url}); applied ${repl ? `up to ${repl.appliedLsn}, last source commit ${repl.lastCommitTime?.toISOString() ?? 'none'}, replicator ${repl.state ?? 'unknown'}` : 'nothing yet'}; object backlog ${backlog ?? 'n/a'}`,
  );
  out(`  steps: drain (timeout ${(o.drainTimeoutMs / 1000).toFixed(0)} s) → fence ${sv.name} → drain point → ${tv.name} catches up (timeout ${(o.catchUpTimeoutMs / 1000).toFixed(0)} s) → sequences${o.reverse ? ` → reverse (${tv.name} → ${sv.name})` : ''} → promote ${tv.name}`);
  if (!repl) {
    const msg = `${tv.name} has never received replication: start the replicator (${sv.name} → ${tv.name}) first`;
    if (o.dryRun) out(`check failed: ${msg}`);
    else throw new TandemError('conflict', msg);
  } else out('checks passed.');
  if (o.dryRun) return { ...result, outcome: 'dry_run' };

  journal ??= await startJournal(t, { kind: 'switchover', fromSite: sv.name, toSite: tv.name });
  const j: JournalRow = journal;
  const runner = new StepRunner<SwitchoverStep>({
    steps: switchoverSteps(!!o.reverse),
    out,
    signal: o.signal,
    failAfter: o.failAfter,
    resumeHint: `Re-run the same command to complete the switchover, or add --abort to undo it (${sv.name} active again).`,
  });
  runner.journal = { db: t, id: j.id };
  const done = new Set(j.steps.map((x) => x.step));
  try {
    // drain
    if (sRow.role === 'active' || sRow.role === 'draining') {
      await runner.step('drain', async () => {
        if (sRow.role === 'active') {
          sRow = await inReadWriteTransaction(s, () =>
            setSiteRole(s, { role: 'draining', from: ['active'], activeSite: sv.name, activeUrl: sv.url, reason: `switchover to ${tv.name}: draining` }),
          );
        }
        const d = await drainExecutions(s, runner, { drainTimeoutMs: o.drainTimeoutMs, abortGraceMs: 15_000, siteName: sv.name, out });
        const extra = d.abortRequested ? `; ${d.abortRequested} aborted after the drain timeout (${d.forceClosed} closed by the switchover)` : '';
        return { detail: `${sv.name} draining; no execution running${d.queuedClosed ? ` (${d.queuedClosed} queued closed)` : ''}${extra}` };
      });
    } else runner.skip('drain', `${sv.name} is ${sRow.role}`);

    // fence
    if (sRow.role === 'active' || sRow.role === 'draining') {
      await runner.step('fence', async () => {
        sRow = await demoteSite(s, 'fenced', { activeSite: tv.name, activeUrl: tv.url, reason: `switchover to ${tv.name}` });
        return { detail: `${sv.name} fenced (no writes; database read-only by default)` };
      });
    } else runner.skip('fence', `${sv.name} is ${sRow.role}`);

    // drain point
    let drainLsn = j.drainLsn;
    if (!drainLsn) {
      await runner.step('drain point', async () => {
        await inReadWriteTransaction(s, () => insertSiteEvent(s, { id: j.id, kind: 'drain_point', site: sv.name, epoch: sRow.epoch, details: { to: tv.name } }));
        drainLsn = (await s.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn')).rows[0]!.lsn;
        await setJournalFields(t, j.id, { drainLsn });
        return { detail: `drain point ${drainLsn} on ${sv.name}` };
      });
    } else runner.skip('drain point', `at ${drainLsn}`);
    result.drainLsn = drainLsn!;

    // catch up
    if (tRow.role !== 'active') {
      await runner.step('catch up', async () => {
        await runner.waitUntil(
          `${tv.name} to apply everything up to the drain point ${drainLsn}`,
          async () => (await siteEventExists(t, j.id)) && ((await objectBacklog(t)) ?? 0) === 0,
          o.catchUpTimeoutMs,
          async () => {
            const r = await localReplication(t);
            return `${tv.name} applied up to ${r?.appliedLsn ?? 'nothing'} (drain point ${drainLsn}); object backlog ${(await objectBacklog(t)) ?? 'n/a'}`;
          },
          25,
        );
        const r = await localReplication(t);
        if (r) await setJournalFields(t, j.id, { appliedLsn: r.appliedLsn, appliedCommitTime: r.lastCommitTime });
        return { detail: `${tv.name} has everything up to the drain point (applied ${r?.appliedLsn ?? '?'}); object backlog empty` };
      });

      await runner.step('sequences', async () => {
        const seq = await syncSequences(sv.databaseUrl, writableUrl(tv.databaseUrl), o.schemas, o.log);
        return { detail: `${seq.advanced.length} sequence(s) advanced, ${seq.unchanged} already there${seq.missing.length ? `, missing on ${tv.name}: ${seq.missing.join(', ')}` : ''}` };
      });

      if (o.reverse) {
        if (!done.has('reverse')) {
          await runner.step('reverse', async () => {
            const r = await prepareReverse(s, t, sv, tv, o);
            return { detail: `replication ${tv.name} → ${sv.name} prepared from ${r.startLsn} (slot ${r.slot}); start the replicator at ${sv.name}` };
          });
        } else runner.skip('reverse', 'prepared by the interrupted run');
      }

      await runner.step('promote', async () => {
        const epoch = Math.max(await maxKnownEpoch(t), await maxKnownEpoch(s), sRow.epoch) + 1;
        tRow = await inReadWriteTransaction(t, async () => {
          await recordPeerEpoch(t, sv.name, sRow.epoch, sRow.role);
          await guardReplicationTarget(t);
          const row = await setSiteRole(t, { role: 'active', from: [tRow.role], epoch, activeSite: tv.name, activeUrl: tv.url, reason: `switchover from ${sv.name}` });
          await setDatabaseReadOnly(t, false);
          await insertSiteEvent(t, { kind: 'promoted', site: tv.name, epoch, details: { from: sv.name, journal: j.id, drainLsn } });
          await insertAudit(t, {
            event: 'site.switchover',
            outcome: 'success',
            username: o.actor,
            clientAddr: null,
            target: tv.name,
            details: { from: sv.name, to: tv.name, epoch, drainLsn, journal: j.id, reverse: !!o.reverse },
          });
          await setJournalFields(t, j.id, { newEpoch: epoch });
          return row;
        });
        // The job servers' sessions were opened read-only (passive); they reconnect read-write.
        await terminateAppSessions(t);
        return { detail: `${tv.name} is active with epoch ${epoch}` };
      });
    } else {
      runner.skip('catch up', `${tv.name} is already active`);
      runner.skip('sequences', `${tv.name} is already active`);
      if (o.reverse && !done.has('reverse')) {
        throw new TandemError('conflict', `${tv.name} was promoted before reverse replication was prepared; rebuild ${sv.name} as its passive with \`tandem rejoin --site ${sv.name} --from ${tv.name}\``);
      }
      runner.skip('promote', `${tv.name} is active with epoch ${tRow.epoch}`);
    }

    // Tell the old active about the new epoch, and with --reverse make it a passive of the new active.
    await inReadWriteTransaction(s, async () => {
      await recordPeerEpoch(s, tv.name, tRow.epoch, 'active');
      if (o.reverse && sRow.role !== 'passive') sRow = await setSiteRole(s, { role: 'passive', from: [sRow.role], activeSite: tv.name, activeUrl: tv.url, reason: `passive of ${tv.name} after switchover` });
    });
    await finishJournal(t, j.id, 'done');
  } catch (e) {
    result.steps = runner.done;
    throw e;
  }
  result.steps = runner.done;
  result.newEpoch = tRow.epoch;
  const total = runner.done.reduce((a, x) => a + x.ms, 0);
  out(`done: ${tv.name} is active (epoch ${tRow.epoch}); ${sv.name} is ${sRow.role}; data lost: none (drain point ${result.drainLsn}); ${(total / 1000).toFixed(2)} s`);
  if (o.reverse) out(`next: start the replicator at ${sv.name} (source ${tv.name}); it continues from the switch point without a new copy.`);
  else out(`next: stop the replicator ${sv.name} → ${tv.name}; to make ${sv.name} a passive of ${tv.name}: ${(o.command ?? defaultCommand)(`rejoin --site ${sv.name} --from ${tv.name}`)}`);
  return result;
}

async function undo(
  o: FailoverOptions,
  sv: SiteView,
  tv: SiteView,
  s: pg.Client,
  t: pg.Client,
  sRow: SiteRow,
  tRow: SiteRow,
  journal: JournalRow | null,
  result: FailoverResult,
): Promise<FailoverResult> {
  if (tRow.role === 'active') {
    throw new TandemError('conflict', `${tv.name} is already active (epoch ${tRow.epoch}): the switchover cannot be undone; switch back with \`tandem failover --to ${sv.name}\``);
  }
  if (!journal && sRow.role === 'active') {
    o.out(`no switchover in progress; ${sv.name} is active.`);
    return { ...result, outcome: 'undone' };
  }
  if (o.dryRun) {
    o.out(`plan: undo the switchover ${sv.name} → ${tv.name}: ${sv.name} (${sRow.role}) becomes active again; ${tv.name} stays passive`);
    return { ...result, outcome: 'dry_run' };
  }
  const t0 = performance.now();
  await inReadWriteTransaction(s, async () => {
    await setSiteRole(s, { role: 'active', from: [sRow.role], activeSite: sv.name, activeUrl: sv.url, reason: `switchover to ${tv.name} undone` });
    await setDatabaseReadOnly(s, false);
  });
  await terminateAppSessions(s);
  if (journal) await finishJournal(t, journal.id, 'undone');
  o.out(`undone: ${sv.name} is active again (epoch ${sRow.epoch}), ${tv.name} stays passive (${((performance.now() - t0) / 1000).toFixed(2)} s)`);
  return { ...result, outcome: 'undone', newEpoch: sRow.epoch };
}
