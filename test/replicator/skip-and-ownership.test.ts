/**
 * A change that cannot be applied says what kind of
 * failure it is (a target-side conflict naming row and constraint, or a bug /
 * unsupported case in Tandem with the exact `--skip-transaction` command);
 * `--skip-transaction LSN` skips exactly that source transaction, audited on
 * the target and printed by `tandem replication status`; and the state row
 * belongs to the newest replicator incarnation (a rejoin's replicator that
 * finishes after the site's own one started must not show it as stopped).
 * Needs the compiled CLI (`npx tsc -p tsconfig.json`) for the status command.
 */
import t from 'tap';
import pg from 'pg';
import { isTandemError } from '../../server/errors.js';
import { replicationStatus, runReplicator } from '../../replicator/index.js';
import { ensureBookkeeping, newIncarnation } from '../../replicator/bookkeeping/ensure-schema.js';
import { setState } from '../../replicator/bookkeeping/set-state.js';
import { background, startPair, waitFor } from './helpers.js';
import { runTandem } from './cli.js';

const ddl = `
create schema tandem;
create table tandem.kv (id int primary key, v text);
`;

type Details = { details?: { replication?: { kind?: string; commitLsn?: string; xid?: number } } };

t.test('errors say conflict or bug; --skip-transaction skips exactly one transaction, audited; newest incarnation owns the state', async (t) => {
  const p = await startPair(t, ddl);
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'skip_site' };
  await runReplicator({ ...opts, untilCaughtUp: true });

  // 1. A target-side conflict: the message says so and names row and constraint.
  await p.dst(`insert into tandem.kv values (5, 'only on the target')`);
  await p.src(`insert into tandem.kv values (5, 'from the source')`);
  const e1 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.ok(isTandemError(e1) && e1.code === 'replication_apply', 'stopped with replication_apply');
  t.equal((e1 as Details).details?.replication?.kind, 'conflict', 'classified as a target-side conflict');
  t.match((e1 as Error).message, /Target-side conflict/, 'says it is a target-side conflict');
  t.match((e1 as Error).message, /\(id\)=\(5\)/, 'names the row');
  t.match((e1 as Error).message, /constraint kv_pkey on the target/, 'names the constraint');
  t.notMatch((e1 as Error).message, /skip-transaction/, 'does not offer to skip a conflict the operator can fix');
  await p.dst(`delete from tandem.kv where id = 5`);
  await runReplicator({ ...opts, untilCaughtUp: true });

  // 2. A failure that is Tandem's (here: an apply hook, product code, that fails on one transaction).
  await p.src(`insert into tandem.kv values (10, 'before')`);
  await p.src(`begin; insert into tandem.kv values (11, 'poison'), (12, 'poison'); update tandem.kv set v = 'poisoned' where id = 10; commit;`);
  await p.src(`insert into tandem.kv values (13, 'after')`);
  const poison = {
    table: 'tandem.kv',
    async onRow(_c: pg.ClientBase, change: { newRow: Record<string, string | null> | null }) {
      if (change.newRow?.v === 'poison') throw new Error('simulated defect in an apply hook');
    },
  };
  const e2 = await runReplicator({ ...opts, untilCaughtUp: true, hooks: [poison] }).then(() => null, (e: unknown) => e);
  const info = (e2 as Details).details?.replication;
  t.equal(info?.kind, 'tandem_bug', 'classified as a bug or unsupported case in Tandem');
  t.match((e2 as Error).message, /bug or an unsupported case in Tandem, not a problem of the target: please report it/, 'says so, and asks to report it');
  t.match((e2 as Error).message, new RegExp(`tandem replicate --skip-transaction ${info!.commitLsn!.replace('/', '\\/')}\``), 'prints the exact skip command');

  // 3. A wrong LSN skips nothing.
  const e3 = await runReplicator({ ...opts, untilCaughtUp: true, hooks: [poison], skipTransaction: '0/1' }).then(() => null, (e: unknown) => e);
  t.match((e3 as Error).message, /already holds every source transaction/, 'an LSN already applied is refused');
  t.equal((await p.dst(`select count(*)::int as n from tandem_site.replication_skips`)).rows[0].n, 0, 'nothing recorded as skipped');

  // 4. Skip it: exactly that transaction is missing on the target, the ones before and after are applied.
  const r = await runReplicator({ ...opts, untilCaughtUp: true, hooks: [poison], skipTransaction: info!.commitLsn });
  t.equal(r.reason, 'caught_up', 'caught up after the skip');
  t.same(
    (await p.dst(`select id, v from tandem.kv where id >= 10 order by id`)).rows,
    [{ id: 10, v: 'before' }, { id: 13, v: 'after' }],
    'the skipped transaction (two inserts and an update) is not applied; the next one is',
  );
  const audit = await p.dst(`select commit_lsn::text as lsn, xid::text as xid, changes::int as changes, last_error->>'kind' as kind, pid, host from tandem_site.replication_skips`);
  t.same(
    audit.rows.map((a) => ({ lsn: a.lsn, xid: Number(a.xid), changes: a.changes, kind: a.kind })),
    [{ lsn: info!.commitLsn, xid: info!.xid, changes: 3, kind: 'tandem_bug' }],
    'the skip is recorded with its transaction, change count and the error it followed',
  );
  t.ok(audit.rows[0].pid > 0 && audit.rows[0].host, 'and who skipped it (pid, host)');
  const st = await replicationStatus({ targetUrl: p.targetUrl, sourceUrl: p.sourceUrl, slot: 'skip_site' });
  t.same(st.skipped.map((k) => k.commitLsn), [info!.commitLsn], 'replication status lists the skipped transaction');
  const cli = await runTandem(t, ['replication', 'status', '--target', p.targetUrl, '--source', p.sourceUrl, '--slot', 'skip_site']);
  t.match(cli.stdout, new RegExp(`skipped: +1 source transaction\\(s\\) by operator request; their changes are NOT on this site`), 'the CLI prints the skip', { stderr: cli.stderr });
  t.match(cli.stdout, new RegExp(`commit LSN ${info!.commitLsn!.replace('/', '\\/')} \\(xid ${info!.xid}, 3 change\\(s\\)\\)`), 'with its LSN, xid and change count');

  // 5. A LSN between transactions (no transaction has it) is refused at the next transaction.
  await p.src(`insert into tandem.kv values (20, 'x')`);
  const pos = (await p.dst(`select source_end_lsn::text as l from tandem_site.replication_progress where slot_name = 'skip_site'`)).rows[0].l as string;
  const e5 = await runReplicator({ ...opts, untilCaughtUp: true, skipTransaction: pos }).then(() => null, (e: unknown) => e);
  t.match((e5 as Error).message, /no source transaction has commit LSN .*Nothing was skipped/, 'an LSN no transaction has is refused, nothing skipped');
  await runReplicator({ ...opts, untilCaughtUp: true });
  t.same(
    (await p.dst(`select id, v from tandem.kv order by id`)).rows,
    (await p.src(`select id, case when id = 10 then 'before' else v end as v from tandem.kv where id not in (11, 12) order by id`)).rows,
    'target = source minus the skipped transaction',
  );

  // 6. Ownership of the state row: an older incarnation writing after a newer one changes nothing.
  const c = new pg.Client({ connectionString: p.targetUrl });
  c.on('error', () => undefined);
  await c.connect();
  t.teardown(() => c.end());
  await ensureBookkeeping(c);
  const older = await newIncarnation(c);
  const newer = await newIncarnation(c);
  t.ok(newer > older, 'incarnations grow');
  t.equal(await setState(c, 'own_site', 'streaming', newer), true, 'the newer incarnation writes streaming');
  t.equal(await setState(c, 'own_site', 'stopped', older), false, 'the older one, finishing later, does not overwrite it');
  t.same((await c.query(`select state, incarnation::int as i from tandem_site.replication_state where slot_name = 'own_site'`)).rows, [{ state: 'streaming', i: newer }], 'the row still says streaming');
  // Within one incarnation the state follows replicator/bookkeeping/states.ts, checked by the statement itself.
  t.equal(await setState(c, 'own_site', 'stopped', newer), true, 'streaming → stopped');
  await t.rejects(setState(c, 'own_site', 'streaming', newer), { code: 'illegal_transition' }, 'stopped → streaming in the same run is refused');
  t.same((await c.query(`select state from tandem_site.replication_state where slot_name = 'own_site'`)).rows, [{ state: 'stopped' }], 'and the row still says stopped');

  // The same with real replicators: a rejoin-like run that catches up and stops while the site's own replicator
  // (started after it) streams; whatever order their last writes take, the state is the running one's.
  const incarnation = async () => Number((await c.query(`select incarnation from tandem_site.replication_state where slot_name = 'skip_site'`)).rows[0].incarnation);
  const before = await incarnation();
  const rejoinLike = runReplicator({ ...opts, untilCaughtUp: true });
  await waitFor('the rejoin-like run wrote its state', async () => (await incarnation()) > before);
  const site = background(t, { ...opts, retryDelayMs: 100 });
  t.equal((await rejoinLike).reason, 'caught_up', 'the rejoin-like run caught up and stopped');
  await p.src(`insert into tandem.kv values (30, 'streamed')`);
  await waitFor('the site replicator streams', async () => {
    site.check();
    return (await p.dst(`select count(*)::int as n from tandem.kv where id = 30`)).rows[0].n === 1;
  });
  const s2 = await replicationStatus({ targetUrl: p.targetUrl, sourceUrl: p.sourceUrl, slot: 'skip_site' });
  t.equal(s2.state, 'streaming', 'status says streaming while the newest replicator runs');
  site.ac.abort();
  await site.done;
});
