/** Anything that runs a query: a pool, or a client (possibly inside a transaction). */
import type pg from 'pg';

export type Db = pg.Pool | pg.ClientBase;
