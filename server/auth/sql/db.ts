/** Anything that runs a query: a pool, a pooled client inside a transaction, or a plain client. */
import type pg from 'pg';

export type Db = pg.Pool | pg.ClientBase;
