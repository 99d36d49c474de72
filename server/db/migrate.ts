/**
 * Applies the numbered SQL files of `sql/` (001_name.sql, 002_name.sql, ...)
 * in order, each in its own transaction, under an advisory lock so that
 * several members starting at once apply each file exactly once. The ledger
 * (`tandem_site.migrations`) stores a SHA-256 of every applied file: a file
 * changed after it was applied is refused, because the databases of two sites
 * would then silently differ.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pg from 'pg';
import { TandemError } from '../errors.js';
import { silentLogger, type Logger } from '../log.js';

export interface Migration {
  id: number;
  name: string;
  file: string;
  sql: string;
  checksum: string;
}

/** `sql/` at the repository root, found from this module's location (works from dist/ and from sources). */
export function defaultSqlDir(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = path.join(dir, 'sql');
    try {
      if (readdirSync(candidate).some((f) => f.endsWith('.sql'))) return candidate;
    } catch {
      /* not here, go up */
    }
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the sql/ migrations directory');
}

export function readMigrations(dir = defaultSqlDir()): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d+_[\w-]+\.sql$/.test(f));
  const list = files.map((f) => {
    const sql = readFileSync(path.join(dir, f), 'utf8');
    return {
      id: Number(f.split('_')[0]),
      name: f.replace(/^\d+_/, '').replace(/\.sql$/, ''),
      file: f,
      sql,
      checksum: createHash('sha256').update(sql).digest('hex'),
    };
  });
  list.sort((a, b) => a.id - b.id);
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.id === list[i - 1]!.id) throw new Error(`two migrations numbered ${list[i]!.id}: ${list[i - 1]!.file}, ${list[i]!.file}`);
  }
  return list;
}

/** Fixed key of the advisory lock that serialises migrations (any 64-bit number unique to Tandem). */
const MIGRATION_LOCK = 7_465_646_101n;

export interface MigrateResult {
  applied: string[];
  alreadyApplied: number;
}

export async function migrate(databaseUrl: string, opts: { dir?: string; log?: Logger } = {}): Promise<MigrateResult> {
  const log = opts.log ?? silentLogger;
  const migrations = readMigrations(opts.dir);
  // Read-write even on a passive site, whose database defaults to read-only transactions (schema changes are not replicated).
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'tandem-migrate', options: '-c default_transaction_read_only=off' });
  // A connection lost between queries is reported by the next query; unhandled, node-pg's 'error' event would crash the process.
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(`
      create schema if not exists tandem_site;
      create table if not exists tandem_site.migrations (
        id int primary key,
        name text not null,
        checksum text not null,
        applied_at timestamptz not null default now()
      )`);
    const { rows } = await client.query<{ id: number; name: string; checksum: string }>(
      'select id, name, checksum from tandem_site.migrations order by id',
    );
    const done = new Map(rows.map((r) => [r.id, r]));
    for (const m of migrations) {
      const prev = done.get(m.id);
      if (prev && prev.checksum !== m.checksum) {
        throw new TandemError(
          'migration_checksum_mismatch',
          `migration ${m.file} was changed after it was applied to this database (checksum ${prev.checksum.slice(0, 12)}… in the database, ${m.checksum.slice(0, 12)}… on disk); restore the original file and add a new numbered migration instead`,
        );
      }
    }
    const applied: string[] = [];
    for (const m of migrations) {
      if (done.has(m.id)) continue;
      const started = Date.now();
      await client.query('begin');
      try {
        await client.query(m.sql);
        await client.query('insert into tandem_site.migrations (id, name, checksum) values ($1, $2, $3)', [m.id, m.name, m.checksum]);
        await client.query('commit');
      } catch (e) {
        await client.query('rollback');
        throw new TandemError('internal', `migration ${m.file} failed: ${(e as Error).message}`, { cause: e });
      }
      log.info('migration applied', { migration: m.file, ms: Date.now() - started });
      applied.push(m.file);
    }
    return { applied, alreadyApplied: migrations.length - applied.length };
  } finally {
    await client.query('select pg_advisory_unlock_all()').catch(() => undefined);
    await client.end();
  }
}
