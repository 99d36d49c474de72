/**
 * Bookkeeping writes (token last use, session expiry, the audit row of an
 * ACL denial: server/auth/site-writes.ts bookkeepingWrite) are skipped on a
 * passive site, and land right after a promotion even when the pool hands
 * out a session opened while the site was passive (still read-only): the
 * role check and the write share one transaction, and a stale read-only
 * session is replaced as withTransaction does.
 */
import t from 'tap';
import { startPostgres } from '../harness/postgres.js';
import { testPool } from '../harness/pool.js';
import { recordAudit } from '../../server/auth/audit.js';
import { bookkeepingWrite } from '../../server/auth/site-writes.js';
import { migrate } from '../../server/db/migrate.js';
import { createLogger } from '../../server/log.js';
import { writableUrl } from '../../server/site/connect.js';

t.test('bookkeeping writes: skipped while passive, landed on a stale read-only session after a promotion', async (t) => {
  const pgs = await startPostgres(t, { name: 'bookkeeping' });
  const url = await pgs.createDatabase('bookkeeping');
  await migrate(url);
  const admin = testPool(t, { connectionString: writableUrl(url), max: 1 });
  await admin.query(`insert into tandem_site.site (name, role, epoch, active_site, active_url) values ('b', 'passive', 1, 'a', 'https://a.example.org')`);
  await admin.query(`alter database bookkeeping set default_transaction_read_only = on`);
  const lines: Record<string, any>[] = [];
  const log = createLogger({}, { format: 'json', level: 'info', write: (l) => lines.push(JSON.parse(l)) });
  const audits = async () => (await admin.query<{ n: number }>(`select count(*)::int as n from tandem.audit_events where event = 'test.bookkeeping'`)).rows[0]!.n;
  const write = (target: string) =>
    bookkeepingWrite(pool, log, 'a test audit row', (c) => recordAudit(c, { event: 'test.bookkeeping', outcome: 'denied', username: 'dora', clientAddr: null, target, details: {} }));

  // The job server's pool, its two sessions opened while the site is passive (read-only by default).
  const pool = testPool(t, { connectionString: url, max: 2 });
  const held = await Promise.all([pool.connect(), pool.connect()]);
  for (const c of held) t.equal((await c.query('show transaction_read_only')).rows[0].transaction_read_only, 'on', 'a session of the passive site is read-only');
  for (const c of held) c.release();

  await write('while passive');
  t.equal(await audits(), 0, 'passive: skipped');
  t.same(lines.filter((l) => l.level === 'warn'), [], 'and not worth a warning (by design)');

  // Promotion, as a failover does it, but with the pooled sessions left open: they keep the read-only default.
  await admin.query(`update tandem_site.site set role = 'active', epoch = 2, active_site = 'b', active_url = null`);
  await admin.query(`alter database bookkeeping set default_transaction_read_only = off`);
  t.equal((await pool.query('show transaction_read_only')).rows[0].transaction_read_only, 'on', 'the pooled sessions are still read-only');

  await write('after the promotion');
  t.equal(await audits(), 1, 'active: the write landed on a fresh session');
  t.same(lines.filter((l) => l.level === 'warn'), [], 'without a warning');
});
