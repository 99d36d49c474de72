/**
 * Source-side set-up: refuse a source that cannot be replicated (with a
 * message saying what to change), create the publication when absent, and
 * list the tables it publishes. Nothing is created before every check passed.
 */
import type pg from 'pg';
import { TandemError } from '../../server/errors.js';
import type { Logger } from '../../server/log.js';
import { quoteIdent } from '../stream/connection.js';
import { SQLSTATE, sqlstateOf } from '../../server/db/sqlstate.js';

export interface PublishedTable {
  schema: string;
  name: string;
  /** Quoted `"schema"."name"`. */
  qualified: string;
  /** Published columns, without generated ones (the target computes those). */
  columns: string[];
}

function setupError(message: string): TandemError {
  return new TandemError('replication_setup', message);
}

/** wal_level and the role's privileges. */
export async function checkSourceServer(client: pg.ClientBase): Promise<void> {
  const role = (
    await client.query<{ wal_level: string; rolname: string; rolsuper: boolean; rolreplication: boolean }>(
      "select current_setting('wal_level') as wal_level, rolname, rolsuper, rolreplication from pg_roles where rolname = current_user",
    )
  ).rows[0]!;
  if (role.wal_level !== 'logical')
    throw setupError(
      `the source database has wal_level=${role.wal_level}; logical replication needs wal_level=logical (set it in postgresql.conf and restart the source)`,
    );
  if (!role.rolsuper && !role.rolreplication)
    throw setupError(
      `the source role "${role.rolname}" may not replicate: run ALTER ROLE ${quoteIdent(role.rolname)} REPLICATION on the source (as a superuser)`,
    );
}

/** What the publication lacks for `schemas` (publicationPlan). */
export interface PublicationPlan {
  /** Schemas that do not exist on the source. */
  missingSchemas: string[];
  /** The publication does not exist. */
  create: boolean;
  /** Schemas to add to it. */
  add: string[];
  /** publish_via_partition_root is off. */
  setViaRoot: boolean;
}

/** Read what the publication lacks for `schemas` (nothing: `publicationComplete`). */
export async function publicationPlan(client: pg.ClientBase, publication: string, schemas: string[]): Promise<PublicationPlan> {
  const found = await client.query<{ nspname: string }>('select nspname from pg_namespace where nspname = any($1::text[])', [schemas]);
  const missingSchemas = schemas.filter((s) => !found.rows.some((r) => r.nspname === s));
  const pub = await client.query<{ puballtables: boolean; pubviaroot: boolean; schemas: string[] }>(
    `select p.puballtables, p.pubviaroot,
            coalesce(array(select n.nspname::text from pg_publication_namespace pn join pg_namespace n on n.oid = pn.pnnspid
                            where pn.pnpubid = p.oid), '{}') as schemas
       from pg_publication p where p.pubname = $1`,
    [publication],
  );
  const p = pub.rows[0];
  if (!p) return { missingSchemas, create: true, add: [], setViaRoot: false };
  return { missingSchemas, create: false, add: p.puballtables ? [] : schemas.filter((s) => !p.schemas.includes(s)), setViaRoot: !p.pubviaroot };
}

export function publicationComplete(plan: PublicationPlan): boolean {
  return !plan.missingSchemas.length && !plan.create && !plan.add.length && !plan.setViaRoot;
}

/** Create the publication for `schemas` when absent; add missing schemas to an existing one. */
export async function ensurePublication(client: pg.ClientBase, publication: string, schemas: string[], log: Logger): Promise<void> {
  const plan = await publicationPlan(client, publication, schemas);
  if (plan.missingSchemas.length) throw setupError(`schema(s) ${plan.missingSchemas.join(', ')} do not exist on the source (run \`tandem migrate\` there first)`);
  const schemaList = schemas.map(quoteIdent).join(', ');
  try {
    if (plan.create) {
      // publish_via_partition_root: a partitioned table arrives as one table, whatever its partitions are called on the target.
      await client.query(`create publication ${quoteIdent(publication)} for tables in schema ${schemaList} with (publish_via_partition_root = true)`);
      log.info('created publication on the source', { publication, schemas });
      return;
    }
    if (plan.add.length) {
      await client.query(`alter publication ${quoteIdent(publication)} add tables in schema ${plan.add.map(quoteIdent).join(', ')}`);
      log.info('added schemas to the publication', { publication, schemas: plan.add });
    }
    if (plan.setViaRoot) await client.query(`alter publication ${quoteIdent(publication)} set (publish_via_partition_root = true)`);
  } catch (e) {
    if (sqlstateOf(e) === SQLSTATE.INSUFFICIENT_PRIVILEGE)
      throw setupError(
        `no privilege to create or change publication "${publication}" on the source (${(e as Error).message}); ` +
          `a superuser must run: CREATE PUBLICATION ${quoteIdent(publication)} FOR TABLES IN SCHEMA ${schemaList} WITH (publish_via_partition_root = true)`,
      );
    throw e;
  }
}

/** Published tables of `schemas`; refuses tables whose UPDATE/DELETE could not be replicated. */
export async function publishedTables(client: pg.ClientBase, publication: string, schemas: string[]): Promise<PublishedTable[]> {
  const res = await client.query<{
    schemaname: string;
    tablename: string;
    attnames: string[];
    relreplident: string;
    has_pk: boolean;
    has_ident_index: boolean;
  }>(
    `select pt.schemaname::text, pt.tablename::text, c.relreplident::text as relreplident,
            -- Generated columns: the target computes its own (PostgreSQL 15-17 never stream them; 18 only when asked to).
            array(select a.attname::text from pg_attribute a
                   where a.attrelid = c.oid and a.attname = any(pt.attnames) and a.attgenerated = '' order by a.attnum) as attnames,
            exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisprimary) as has_pk,
            exists (select 1 from pg_index i where i.indrelid = c.oid and i.indisreplident) as has_ident_index
       from pg_publication_tables pt
       join pg_namespace n on n.nspname = pt.schemaname
       join pg_class c on c.relnamespace = n.oid and c.relname = pt.tablename
      where pt.pubname = $1 and pt.schemaname = any($2::text[])
      order by 1, 2`,
    [publication, schemas],
  );
  const bad: string[] = [];
  for (const r of res.rows) {
    const ok = r.relreplident === 'f' || (r.relreplident === 'd' && r.has_pk) || (r.relreplident === 'i' && r.has_ident_index);
    if (!ok) bad.push(`${r.schemaname}.${r.tablename}`);
  }
  if (bad.length)
    throw setupError(
      `table(s) without primary key or replica identity: ${bad.join(', ')}; their updates and deletes cannot be replicated. ` +
        `Add a primary key, or ALTER TABLE ... REPLICA IDENTITY FULL`,
    );
  return res.rows.map((r) => ({
    schema: r.schemaname,
    name: r.tablename,
    qualified: `${quoteIdent(r.schemaname)}.${quoteIdent(r.tablename)}`,
    columns: r.attnames,
  }));
}
