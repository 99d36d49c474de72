import pg from 'pg';

/** Create database `name` on the cluster of `adminUrl` unless it exists (CREATE DATABASE takes no parameters: the name is quoted). */
export async function ensureDatabase(adminUrl: string, name: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: adminUrl, application_name: 'tandem-demo' });
  // A connection lost between queries is reported by the next query; unhandled, node-pg's 'error' event would crash the process.
  c.on('error', () => undefined);
  await c.connect();
  try {
    const r = await c.query({ name: 'tandem_demo.databaseExists', text: 'select 1 from pg_database where datname = $1', values: [name] });
    if (r.rowCount) return false;
    await c.query(`create database ${c.escapeIdentifier(name)}`);
    return true;
  } finally {
    await c.end();
  }
}
