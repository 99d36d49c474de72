/**
 * Reachability of a PostgreSQL database: connect with the configured URL,
 * read the server version, `wal_level` (Tandem needs `logical` on every
 * site: a passive site becomes a replication source after a failover) and
 * how many of the migrations in sql/ the database has.
 */
import pg from 'pg';
import { readMigrations } from '../../db/migrate.js';
import { errorMessage } from '../../errors.js';
import { redactUrl, within } from './result.js';

interface ServerFacts {
  version: string;
  wal_level: string;
  user: string;
  ledger: string | null;
}

export async function checkDatabase(url: string, timeoutMs: number, opts: { migrations: boolean }): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs, application_name: 'tandem-config-check' });
  // A failed connection also emits 'error' on the client; the rejection below carries it.
  client.on('error', () => {});
  const where = redactUrl(url);
  try {
    await within(timeoutMs, where, client.connect());
  } catch (e) {
    await client.end().catch(() => {});
    throw new Error(`${where}: ${errorMessage(e)}`);
  }
  try {
    const facts = await within(
      timeoutMs,
      where,
      client.query<ServerFacts>({
        name: 'tandem.configCheck.serverFacts',
        text: `select current_setting('server_version') as version, current_setting('wal_level') as wal_level,
                      current_user as user, to_regclass('tandem_site.migrations')::text as ledger`,
      }),
    );
    const f = facts.rows[0]!;
    if (f.wal_level !== 'logical')
      throw new Error(`${where}: wal_level is ${f.wal_level}; Tandem needs logical (set wal_level = logical and restart PostgreSQL)`);
    let migrations = '';
    if (opts.migrations) {
      const known = readMigrations().length;
      const applied = f.ledger
        ? Number((await client.query<{ n: string }>({ name: 'tandem.configCheck.countMigrations', text: 'select count(*) as n from tandem_site.migrations' })).rows[0]!.n)
        : 0;
      migrations = applied >= known ? `, ${applied} migrations applied` : `, ${applied} of ${known} migrations applied (the rest at server start or with tandem migrate)`;
    }
    return `${where}: PostgreSQL ${f.version} as ${f.user}, wal_level=logical${migrations}`;
  } finally {
    await client.end().catch(() => {});
  }
}
