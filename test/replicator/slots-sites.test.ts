/**
 * Slot safety and --resync, several passive sites (each with its own slot),
 * keepalives across idle periods longer than wal_sender_timeout with lag
 * reading 0 (replicator/docs/lsn-handling.md).
 */
import t from 'tap';
import { isTandemError } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { replicationStatus, runReplicator } from '../../replicator/index.js';
import { startPostgres } from '../harness/postgres.js';
import { background, checksum, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.kv (id bigserial primary key, v text);
create sequence tandem.down increment by -1;
`;

function capture(): { log: Logger; lines: { level: string; msg: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const mk = (): Logger => ({
    debug: () => undefined,
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
    error: (msg, fields) => lines.push({ level: 'error', msg, fields }),
    child: () => mk(),
  });
  return { log: mk(), lines };
}

t.test('slot dropped or lost: clear error, then --resync rebuilds the target', async (t) => {
  const p = await startPair(t, ddl, { source: { settings: { max_slot_wal_keep_size: "'1MB'", wal_keep_size: 0, min_wal_size: "'32MB'", max_wal_size: "'64MB'" } } });
  const opts = { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'lost_site' };
  await p.src(`insert into tandem.kv (v) select 'row ' || g from generate_series(1, 100) g`);
  await runReplicator({ ...opts, untilCaughtUp: true });

  // Dropped.
  await p.src(`select pg_drop_replication_slot('lost_site')`);
  await p.src(`insert into tandem.kv (v) values ('after the drop')`);
  const e1 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.ok(isTandemError(e1) && e1.code === 'replication_slot_lost', 'slot_lost error');
  t.match((e1 as Error).message, /does not exist.*--resync/, 'says it was dropped and offers --resync');
  const st = await replicationStatus({ ...opts });
  t.equal(st.slotExists, false, 'status: slot missing');
  t.equal(st.state, 'error', 'status: error');
  await runReplicator({ ...opts, untilCaughtUp: true, resync: true });
  t.same(await checksum(p.dst, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), 'after --resync the target equals the source');

  // Lost: the slot falls behind more than max_slot_wal_keep_size and its WAL is removed.
  const { log, lines } = capture();
  const { ac, done: warnRun } = background(t, { ...opts, log, walWarnBytes: 1, slotCheckIntervalMs: 100 });
  await waitFor('retained-WAL warning', () => lines.some((l) => l.level === 'warn' && /retains a lot of WAL/.test(l.msg)));
  t.pass('warned about retained WAL above the threshold');
  ac.abort();
  await warnRun;
  for (let i = 0; i < 6; i++) {
    await p.src(`insert into tandem.kv (v) select repeat('w', 1000) from generate_series(1, 5000)`);
    await p.src(`select pg_switch_wal()`);
    await p.src(`checkpoint`);
    const s = (await p.src(`select wal_status from pg_replication_slots where slot_name = 'lost_site'`)).rows[0]?.wal_status;
    if (s === 'lost') break;
  }
  t.equal((await p.src(`select wal_status from pg_replication_slots where slot_name = 'lost_site'`)).rows[0]?.wal_status, 'lost', 'slot is lost on the source');
  const e2 = await runReplicator({ ...opts, untilCaughtUp: true }).then(() => null, (e: unknown) => e);
  t.ok(isTandemError(e2) && e2.code === 'replication_slot_lost', 'lost slot: slot_lost error');
  t.match((e2 as Error).message, /lost.*--resync/, 'says the slot is lost and offers --resync');
  await runReplicator({ ...opts, untilCaughtUp: true, resync: true });
  t.same(await checksum(p.dst, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), 'after --resync the target equals the source again');
});

t.test('two passive sites from one source are independent; idle longer than wal_sender_timeout keeps the stream; lag reads 0', async (t) => {
  const p = await startPair(t, ddl, { source: { settings: { wal_sender_timeout: "'1s'" } } });
  const third = await startPostgres(t, { name: 'target2' });
  const target2Url = await third.createDatabase('app');
  await third.query(ddl, [], 'app');
  let pidA = 0;
  const { ac: acA, done: runA } = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'site_a', applicationName: 'site_a' });
  const { ac: acB, done: runB } = background(t, { sourceUrl: p.sourceUrl, targetUrl: target2Url, slot: 'site_b', applicationName: 'site_b' });
  await p.src(`insert into tandem.kv (v) select 'x' || g from generate_series(1, 1000) g`);
  const q2 = (sql: string) => third.query(sql, [], 'app');
  await waitFor('both targets have the rows', async () => (await checksum(p.dst, 'tandem.kv')).rows === 1000 && (await checksum(q2, 'tandem.kv')).rows === 1000);
  t.pass('both passive sites replicated');

  acB.abort();
  await runB;
  await p.src(`insert into tandem.kv (v) select 'y' || g from generate_series(1, 1000) g`);
  await waitFor('site A keeps up while B is stopped', async () => (await checksum(p.dst, 'tandem.kv')).md5 === (await checksum(p.src, 'tandem.kv')).md5);
  t.pass('stopping site B does not stall site A');
  t.equal((await checksum(q2, 'tandem.kv')).rows, 1000, 'site B did not move while stopped');

  // Idle for more than 3 x wal_sender_timeout: the same walsender keeps streaming.
  pidA = (await p.src(`select active_pid from pg_replication_slots where slot_name = 'site_a'`)).rows[0].active_pid;
  const idleSince = Date.now();
  await waitFor('3.5 s of idle', () => Date.now() - idleSince > 3500, 10_000, 250);
  const after = (await p.src(`select active_pid from pg_replication_slots where slot_name = 'site_a'`)).rows[0].active_pid;
  t.equal(after, pidA, 'the same replication connection survived an idle period longer than wal_sender_timeout');
  await waitFor('lag reads 0 when idle', async () => {
    const s = await replicationStatus({ sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'site_a' });
    return s.lagBytes === 0 && s.lagSeconds === 0 && s.state === 'streaming' && s.running === true;
  });
  t.pass('status shows lag 0 bytes and 0 s while idle');
  await p.src(`insert into tandem.kv (v) values ('after idle')`);
  await waitFor('row after idle', async () => (await checksum(p.dst, 'tandem.kv')).rows === 2001);
  t.pass('changes after the idle period arrive');

  // Site B catches up from its own slot.
  await runReplicator({ sourceUrl: p.sourceUrl, targetUrl: target2Url, slot: 'site_b', untilCaughtUp: true });
  t.same(await checksum(q2, 'tandem.kv'), await checksum(p.src, 'tandem.kv'), 'site B caught up from its own slot');
  acA.abort();
  await runA;
});
