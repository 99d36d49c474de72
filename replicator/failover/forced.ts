/**
 * Forced failover (the active site is unreachable):
 *
 *   checks     the old active must not be reachable as active (that would make
 *              two writers); the data-loss bound is the last source commit the
 *              target applied (LSN and time)
 *   sequences  every sequence moved past the largest value in its column + margin
 *   promote    target `active` with an epoch above every epoch it knows,
 *              read-write, replication into it refused from now on, audit row
 *
 * The old active, when it comes back, finds the higher epoch here and fences
 * itself (server/site/monitor.ts). Re-running after an interruption completes
 * the promotion (each step is idempotent).
 *
 * Every site that cannot be reached is recorded at the target as presumed
 * lost (the operator says so by forcing): the target's job servers then claim
 * active without waiting to compare epochs with it, also after the target's
 * own database restarts (server/site/monitor.ts, "When the peers cannot be
 * reached"). The same command on a target that is already active does only
 * that: it is how an operator lets an active site whose database restarted
 * while its peer was down claim active again.
 */
import type pg from 'pg';
import { insertAudit } from '../../server/auth/sql/insert-audit.js';
import { TandemError } from '../../server/errors.js';
import { connectSite, inReadWriteTransaction } from '../../server/site/connect.js';
import { getSite } from '../../server/site/sql/get-site.js';
import { guardReplicationTarget } from '../../server/site/sql/guard-replication-target.js';
import { finishJournal } from '../../server/site/sql/finish-journal.js';
import { getRunningJournal } from '../../server/site/sql/get-running-journal.js';
import { setJournalFields } from '../../server/site/sql/set-journal-fields.js';
import { startJournal } from '../../server/site/sql/start-journal.js';
import { localReplication } from '../../server/site/sql/local-replication.js';
import { markPeerPresumedLost } from '../../server/site/sql/mark-peer-presumed-lost.js';
import { maxKnownEpoch } from '../../server/site/sql/max-known-epoch.js';
import { recordPeerEpoch } from '../../server/site/sql/record-peer-epoch.js';
import { setDatabaseReadOnly } from '../../server/site/sql/set-database-read-only.js';
import { setSiteRole } from '../../server/site/sql/set-site-role.js';
import { terminateAppSessions } from '../../server/site/sql/terminate-app-sessions.js';
import { insertSiteEvent } from '../../server/site/sql/site-events.js';
import type { SiteView } from '../../server/site/inspect.js';
import { defaultCommand, type FailoverOptions, type FailoverResult } from './options.js';
import { StepRunner } from './runner.js';
import { moveSequencesPastMax } from './sequences.js';

export const FORCED_STEPS = ['checks', 'sequences', 'promote'] as const;

export async function forcedFailover(o: FailoverOptions, tv: SiteView, others: SiteView[]): Promise<FailoverResult> {
  const out = o.out;
  const fromName = o.from ?? tv.row?.activeSite ?? others[0]?.name ?? '?';
  const result: FailoverResult = { outcome: 'done', kind: 'forced', from: fromName, to: tv.name, newEpoch: null, steps: [] };
  const t = await connectSite(tv.databaseUrl, { applicationName: 'tandem-failover' });
  try {
    let tRow = (await getSite(t))!;
    let journal = await getRunningJournal(t);
    if (journal && journal.kind !== 'forced') {
      throw new TandemError('conflict', `a planned switchover ${journal.fromSite} → ${journal.toSite} is in progress; re-run it (without --force) or undo it with --abort`);
    }
    const lost = others.filter((v) => !v.reachable);
    if (tRow.role === 'active' && !journal) {
      out(`${tv.name} is already the active site (epoch ${tRow.epoch}).`);
      if (lost.length && !o.dryRun) {
        await inReadWriteTransaction(t, async () => {
          for (const v of lost) await markPeerPresumedLost(t, v.name);
        });
        out(`  recorded ${lost.map((v) => v.name).join(', ')} as presumed lost: ${tv.name}'s job servers claim active without comparing epochs with it (should it come back active with a lower epoch, it fences itself).`);
      } else if (lost.length) {
        out(`  would record ${lost.map((v) => v.name).join(', ')} as presumed lost (unreachable).`);
      } else {
        out('  nothing to do.');
      }
      return { ...result, outcome: 'already_active', newEpoch: tRow.epoch };
    }
    const writers = others.filter((v) => v.reachable && v.row && (v.row.role === 'active' || v.row.role === 'draining'));
    const repl = await localReplication(t);
    const bound = { lsn: repl?.appliedLsn ?? '0/0', commitTime: repl?.lastCommitTime?.toISOString() ?? null };
    result.dataLossBound = bound;

    out(`plan: FORCED failover to ${tv.name} (${fromName} presumed lost)`);
    for (const v of others) {
      out(`  ${v.name}: ${v.reachable ? (v.row ? `${v.row.role}, epoch ${v.row.epoch}` : 'reachable, no site row') : `unreachable (${v.error})`}`);
    }
    out(`  ${tv.name}: ${tRow.role}, epoch ${tRow.epoch}; last applied source commit ${bound.lsn} at ${bound.commitTime ?? 'unknown'}`);
    out(`  data-loss bound: everything ${fromName} committed after ${bound.lsn} (${bound.commitTime ?? 'time unknown'}) is lost`);
    out(`  steps: checks → sequences (past max + ${o.sequenceMargin}) → promote ${tv.name}`);
    if (writers.length) {
      const msg = `${writers.map((w) => `${w.name} (${w.row!.role})`).join(', ')} is reachable and still takes writes: a forced failover would make two writers. Use a planned switchover (without --force), or stop it first`;
      if (o.dryRun) {
        out(`check failed: ${msg}`);
        return { ...result, outcome: 'dry_run' };
      }
      throw new TandemError('conflict', msg);
    }
    if (o.dryRun) {
      out('checks passed.');
      return { ...result, outcome: 'dry_run' };
    }

    journal ??= await startJournal(t, { kind: 'forced', fromSite: fromName, toSite: tv.name });
    const j = journal;
    const runner = new StepRunner({ steps: FORCED_STEPS, out, signal: o.signal, failAfter: o.failAfter, resumeHint: 'Re-run the same command to complete the failover.' });
    runner.journal = { db: t, id: j.id };

    await runner.step('checks', async () => {
      await setJournalFields(t, j.id, { appliedLsn: bound.lsn, appliedCommitTime: repl?.lastCommitTime ?? null });
      return { detail: `no other site takes writes; data-loss bound ${bound.lsn} (${bound.commitTime ?? 'time unknown'})` };
    });
    if (tRow.role !== 'active') {
      await runner.step('sequences', async () => {
        const moved = await inReadWriteTransaction(t, () => moveSequencesPastMax(t, o.schemas, o.sequenceMargin));
        return { detail: `${moved.length} sequence(s) moved past their column's maximum + ${o.sequenceMargin}` };
      });
      await runner.step('promote', async () => {
        // A replicator still connected here may hold an open apply transaction (its source died mid-stream): end it first.
        await terminateReplicatorSessions(t);
        const peerEpochs = others.filter((v) => v.row).map((v) => v.row!.epoch);
        const epoch = Math.max(await maxKnownEpoch(t), ...peerEpochs) + 1;
        tRow = await inReadWriteTransaction(t, async () => {
          for (const v of others) if (v.row) await recordPeerEpoch(t, v.name, v.row.epoch, v.row.role);
          for (const v of lost) await markPeerPresumedLost(t, v.name);
          await guardReplicationTarget(t);
          const row = await setSiteRole(t, { role: 'active', from: [tRow.role], epoch, activeSite: tv.name, activeUrl: tv.url, reason: `forced failover from ${fromName}` });
          await setDatabaseReadOnly(t, false);
          await insertSiteEvent(t, { kind: 'forced_promoted', site: tv.name, epoch, details: { from: fromName, journal: j.id, dataLossBound: bound } });
          await insertAudit(t, {
            event: 'site.failover.forced',
            outcome: 'success',
            username: o.actor,
            clientAddr: null,
            target: tv.name,
            details: { from: fromName, to: tv.name, epoch, dataLossBound: bound, journal: j.id },
          });
          await setJournalFields(t, j.id, { newEpoch: epoch });
          return row;
        });
        // The job servers' sessions were opened read-only (passive); they reconnect read-write.
        await terminateAppSessions(t);
        // A replicator that reconnected meanwhile would now fail on every commit (guardReplicationTarget); end its sessions too.
        await terminateReplicatorSessions(t);
        return { detail: `${tv.name} is active with epoch ${epoch}` };
      });
    } else {
      runner.skip('sequences', `${tv.name} is already active`);
      runner.skip('promote', `${tv.name} is active with epoch ${tRow.epoch}`);
    }
    await finishJournal(t, j.id, 'done');
    result.steps = runner.done;
    result.newEpoch = tRow.epoch;
    const total = runner.done.reduce((a, x) => a + x.ms, 0);
    out(`done: ${tv.name} is active (epoch ${tRow.epoch}) after a forced failover (${(total / 1000).toFixed(2)} s).`);
    out(`DATA-LOSS BOUND: the last ${fromName} commit applied at ${tv.name} is ${bound.lsn} (${bound.commitTime ?? 'time unknown'}); anything ${fromName} committed after it is lost. Recorded in the audit log.`);
    out(`next: stop the replicator into ${tv.name}; when ${fromName} returns it fences itself; rebuild it with: ${(o.command ?? defaultCommand)(`rejoin --site ${fromName} --from ${tv.name}`)}`);
    return result;
  } finally {
    await t.end().catch(() => undefined);
  }
}

async function terminateReplicatorSessions(t: pg.ClientBase): Promise<void> {
  await t.query({
    name: 'tandem.terminateReplicatorSessions',
    text: `select count(pg_terminate_backend(pid))::int as n from pg_stat_activity
            where datname = current_database() and pid <> pg_backend_pid() and application_name like 'tandem-replicator%'`,
  });
}
