import { once } from 'node:events';
import pg from 'pg';
import { requireKeys } from '../config/load.js';
import { migrate } from '../db/migrate.js';
import { createApp } from '../http/app.js';
import type { Command } from './command.js';

export const serverCommand: Command = {
  name: 'server',
  summary: 'run the job server (HTTP API, scheduler, executions)',
  help: `
Usage: tandem server [--database-url URL] [--port N] [--host ADDR] [--config FILE]

Migrates the database, then serves the HTTP API until SIGTERM or Ctrl-C.

Example:
  tandem server --database-url postgres://tandem:secret@127.0.0.1:5432/tandem --port 4440
`,
  configFlags: { 'database-url': 'database.url', port: 'server.port', host: 'server.host' },
  async run(ctx) {
    const cfg = ctx.config();
    requireKeys(cfg, ['database.url']);
    await migrate(cfg.database.url!, { log: ctx.log });
    const pool = new pg.Pool({ connectionString: cfg.database.url, max: cfg.database.poolSize, application_name: 'tandem-server' });
    const app = createApp({ pool });
    const server = app.listen(cfg.server.port, cfg.server.host);
    await once(server, 'listening');
    const addr = server.address();
    const port = typeof addr === 'object' && addr ? addr.port : cfg.server.port;
    ctx.log.info('listening', { url: `http://${cfg.server.host}:${port}` });
    if (ctx.signal.aborted) return;
    await once(ctx.signal, 'abort');
    ctx.log.info('stopping');
    server.close();
    await pool.end();
  },
};
