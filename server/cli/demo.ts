import { once } from 'node:events';
import path from 'node:path';
import pg from 'pg';
import { createEmbeddedPostgres } from '../embedded/postgres.js';
import { migrate } from '../db/migrate.js';
import { createApp } from '../http/app.js';
import type { Command } from './command.js';

export const demoCommand: Command = {
  name: 'demo',
  summary: 'run Tandem on embedded defaults (embedded PostgreSQL, filesystem log store)',
  help: `
Usage: tandem demo [--dir DIR] [--port N] [--exit-after-start]

Starts an embedded PostgreSQL cluster in DIR (default .demo/, kept between
runs), migrates it and runs the job server on 127.0.0.1:PORT (default 4440).
Ctrl-C stops everything cleanly.

Flags:
  --dir DIR              where the demo keeps its data (default .demo)
  --port N               HTTP port of the job server (default 4440)
  --exit-after-start     start everything, print the summary, then stop (for scripts)

Example:
  tandem demo --port 4440
`,
  flags: {
    dir: { type: 'string' },
    port: { type: 'string' },
    'exit-after-start': { type: 'boolean' },
  },
  async run(ctx) {
    const dir = path.resolve((ctx.values.dir as string | undefined) ?? '.demo');
    const port = Number((ctx.values.port as string | undefined) ?? 4440);
    const out = ctx.out;
    out(`starting embedded PostgreSQL in ${dir}/pg ...`);
    const db = await createEmbeddedPostgres({ dir: path.join(dir, 'pg') });
    let pool: pg.Pool | undefined;
    try {
      const res = await migrate(db.url, { log: ctx.log });
      out(`PostgreSQL ${db.major} on 127.0.0.1:${db.port} (data in ${db.dataDir}); ${res.applied.length} migration(s) applied`);
      pool = new pg.Pool({ connectionString: db.url, max: 5 });
      const server = createApp({ pool }).listen(port, '127.0.0.1');
      await once(server, 'listening');
      out('');
      out(`Tandem job server: http://127.0.0.1:${port}/`);
      out(`  health:  curl http://127.0.0.1:${port}/health/ready`);
      out(`  info:    curl http://127.0.0.1:${port}/api/v1/system/info`);
      out(`  database URL: ${db.url}`);
      out('');
      out('Press Ctrl-C to stop the server and the database.');
      if (!ctx.values['exit-after-start'] && !ctx.signal.aborted) await once(ctx.signal, 'abort');
      out('stopping ...');
      await new Promise<void>((r) => server.close(() => r()));
    } finally {
      await pool?.end();
      await db.stop('fast');
    }
    out('stopped.');
  },
};
