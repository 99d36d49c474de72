/** Sequences (pgoutput does not carry them: copied separately) and synchronous mode (replicator/docs/durability-order.md). */
import t from 'tap';
import pg from 'pg';
import { syncSequences } from '../../replicator/index.js';
import { background, startPair, waitFor } from './helpers.js';

const ddl = `
create schema tandem;
create table tandem.kv (id bigserial primary key, v text);
create sequence tandem.down increment by -1;
`;

t.test('sequences are copied periodically and on demand, never backwards', async (t) => {
  const p = await startPair(t, ddl);
  await p.src(`select setval('tandem.kv_id_seq', 500); select setval('tandem.down', -50)`);
  const r = await syncSequences(p.sourceUrl, p.targetUrl, ['tandem']);
  t.same(r.advanced.sort(), ['tandem.down', 'tandem.kv_id_seq'], 'both sequences advanced');
  t.equal((await p.dst(`select last_value::int as v from tandem.kv_id_seq`)).rows[0].v, 500, 'ascending sequence moved up');
  t.equal((await p.dst(`select last_value::int as v from tandem.down`)).rows[0].v, -50, 'descending sequence moved down');
  await p.dst(`select setval('tandem.kv_id_seq', 1000)`);
  await p.src(`select setval('tandem.kv_id_seq', 600)`);
  const r2 = await syncSequences(p.sourceUrl, p.targetUrl, ['tandem']);
  t.notOk(r2.advanced.includes('tandem.kv_id_seq'), 'not moved backwards');
  t.equal((await p.dst(`select last_value::int as v from tandem.kv_id_seq`)).rows[0].v, 1000, 'target keeps its higher value');

  // Periodically while replicating.
  const { ac, done: running } = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, sequenceSyncIntervalMs: 200 });
  await p.src(`select setval('tandem.kv_id_seq', 5000)`);
  await waitFor('sequence copied by the running replicator', async () => (await p.dst(`select last_value::int as v from tandem.kv_id_seq`)).rows[0].v === 5000);
  t.pass('running replicator copied the sequence');
  ac.abort();
  await running;
});

t.test('synchronous mode: a commit on the source returns only once the target has it', async (t) => {
  const p = await startPair(t, ddl);
  await p.source.query(`alter system set synchronous_standby_names = 'sync_site'`);
  await p.source.query(`select pg_reload_conf()`);
  const { ac, done: running } = background(t, { sourceUrl: p.sourceUrl, targetUrl: p.targetUrl, slot: 'sync_site', applicationName: 'sync_site' });
  await waitFor('replicator streaming as a synchronous standby', async () =>
    (await p.src(`select count(*)::int as n from pg_stat_replication where application_name = 'sync_site' and sync_state = 'sync'`)).rows[0].n === 1,
  );
  const c = new pg.Client({ connectionString: p.sourceUrl });
  await c.connect();
  t.teardown(() => c.end());
  let seen = 0;
  for (let i = 0; i < 25; i++) {
    const id = (await c.query(`insert into tandem.kv (v) values ($1) returning id`, [`sync ${i}`])).rows[0].id;
    // No waiting: the commit returned, so the target must already have the row.
    const n = (await p.dst(`select count(*)::int as n from tandem.kv where id = $1`, [id])).rows[0].n;
    if (n === 1) seen++;
  }
  t.equal(seen, 25, 'every committed row was already on the target when the commit returned');
  ac.abort();
  await running;
});

