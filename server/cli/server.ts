import { existsSync } from 'node:fs';
import { requireKeys } from '../config/load.js';
import { migrate } from '../db/migrate.js';
import { startJobServer } from '../app/job-server.js';
import type { Command } from './command.js';

export const serverCommand: Command = {
  help: `
Usage: tandem server [--database-url URL] [--port N] [--host ADDR] [--member NAME] [--config FILE]

Migrates the database, closes executions this member left running when it
last stopped (as failed, keeping their logs), then serves the HTTP API, runs
the scheduler and executes jobs until SIGTERM or Ctrl-C. On SIGTERM it drains:
no new executions, running ones get server.drainTimeout (default 30s) to
finish, the rest are aborted and recorded as such.

Flags:
  --database-url URL   PostgreSQL URL (or TANDEM_DATABASE_URL, or database.url)
  --port N             HTTP port (default 4440; 0 picks a free one)
  --host ADDR          listen address (default 127.0.0.1)
  --member NAME        this member's name (default hostname:port); keep it stable across restarts
  --logs-dir DIR       directory of the filesystem log store (default ./var/logs)

Example:
  tandem server --database-url postgres://tandem:secret@127.0.0.1:5432/tandem --port 4440
`,
  configFlags: {
    'database-url': 'database.url',
    port: 'server.port',
    host: 'server.host',
    member: 'server.memberName',
    'logs-dir': 'logs.dir',
  },
  async run(ctx) {
    const cfg = ctx.config();
    requireKeys(cfg, ['database.url']);
    const res = await migrate(cfg.database.url!, { log: ctx.log });
    if (res.applied.length) ctx.log.info('migrations applied', { applied: res.applied });
    const configFile = typeof ctx.values.config === 'string' ? ctx.values.config : existsSync('tandem.yaml') ? 'tandem.yaml' : undefined;
    const server = await startJobServer({ config: cfg, log: ctx.log, configFile });
    ctx.out(`tandem server listening on ${server.url} (member ${server.member})`);
    if (!ctx.signal.aborted) await new Promise((r) => ctx.signal.addEventListener('abort', r, { once: true }));
    ctx.out('stopping: draining running executions ...');
    await server.stop();
    ctx.out('stopped.');
  },
};
