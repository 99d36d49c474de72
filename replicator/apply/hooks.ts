/**
 * Apply hooks: code that must run inside the target transaction for every
 * applied change of one table (e.g. log-object replication records the object
 * copy a new row asks for, atomically with that row).
 */
import type pg from 'pg';

export interface AppliedChange {
  kind: 'insert' | 'update' | 'delete';
  /** `schema.table` */
  table: string;
  /**
   * Column name → text value as the source sent it (null = SQL NULL); unchanged TOAST values are absent.
   * With binary transfer a value is printed from its bytes (binary-values.ts `printable`: integers, bool,
   * uuid, text and json(b) as PostgreSQL prints them, other types as `\x` and the bytes in hex).
   */
  newRow: Record<string, string | null> | null;
  oldRow: Record<string, string | null> | null;
  commitLsn: string;
}

export interface ApplyHook {
  /** `schema.table`, e.g. `tandem.log_objects`. */
  table: string;
  onRow(client: pg.ClientBase, change: AppliedChange): Promise<void>;
}
